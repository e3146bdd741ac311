// Package sheet owns what the portal knows about spreadsheets opening its
// CSV files and handing it theirs: which cells a spreadsheet would run as
// a formula, and how an export keeps one from running.
package sheet

import "strings"

// formulaStart are the first characters that make Excel, LibreOffice and
// Google Sheets read a cell as a formula (= + - @), and the tab and
// carriage return that some of them skip before looking.
const formulaStart = "=+-@\t\r"

// IsFormula tells whether a spreadsheet would evaluate the cell rather
// than show it: a name or note typed by someone may carry
// =HYPERLINK(…) or a DDE call that runs when a colleague opens the file.
func IsFormula(s string) bool {
	return s != "" && strings.IndexByte(formulaStart, s[0]) >= 0
}

// Defuse makes an exported cell shown as text: a leading apostrophe is
// what spreadsheets themselves use to say "this is text", and it keeps
// the rest of the value as it was.
func Defuse(s string) string {
	if IsFormula(s) {
		return "'" + s
	}
	return s
}

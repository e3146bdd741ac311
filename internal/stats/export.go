package stats

import (
	"encoding/csv"
	"io"
	"strconv"

	"github.com/koto-portal/portal/internal/sheet"
)

// Small counts in exports. Figures that span more than one service point
// leave the portal as files that may travel anywhere, so a count under
// SuppressBelow is written as Suppressed instead of its value: a small
// group (three Somali-speaking visitors referred to housing advice in a
// week) can point at a person. Zero is under five too and is hidden the
// same way, so a hidden cell cannot be told apart from an empty one.
// A single service point's export is exact: its lead sees the same figures
// on the page anyway.
const (
	SuppressBelow = 5
	Suppressed    = "<5"
)

// Cell is one value of an exported table: text (a label, a period), a
// count, or a figure derived from counts (a median, a rate).
type Cell struct {
	Text    string
	N       int
	IsCount bool
	// Basis is, for a derived figure, the smallest count it rests on: a
	// median of two waits or a no-show rate of three tickets gives those
	// away as surely as the count does, so it is left empty when the
	// counts are hidden.
	Basis   int
	Derived bool
}

// Text is a cell of plain text.
func Text(s string) Cell { return Cell{Text: s} }

// Count is a cell holding a count.
func Count(n int) Cell { return Cell{N: n, IsCount: true} }

// DerivedCell is a figure (already formatted) computed from counts, the
// smallest of which is basis.
func DerivedCell(s string, basis int) Cell { return Cell{Text: s, Basis: basis, Derived: true} }

// Value is what the cell shows, with small counts suppressed when asked.
func (c Cell) Value(suppress bool) string {
	switch {
	case c.IsCount && suppress && c.N < SuppressBelow:
		return Suppressed
	case c.IsCount:
		return strconv.Itoa(c.N)
	case c.Derived && suppress && c.Basis < SuppressBelow:
		return ""
	}
	return c.Text
}

// BOM makes Excel read the file as UTF-8 (without it, Excel in Finland
// reads Windows-1252 and garbles ä, ö and every non-Latin label).
const BOM = "\uFEFF"

// Separator is the semicolon: Excel with Finnish (and Swedish) regional
// settings splits columns on it, because the comma is the decimal mark.
const Separator = ';'

// WriteCSV writes a table as a CSV file for spreadsheets: UTF-8 with a BOM,
// semicolon-separated, CRLF line ends, quoted where needed. suppress hides
// small counts (see SuppressBelow).
func WriteCSV(w io.Writer, header []string, rows [][]Cell, suppress bool) error {
	if _, err := io.WriteString(w, BOM); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Comma = Separator
	cw.UseCRLF = true
	head := make([]string, len(header))
	for i, h := range header {
		head[i] = sheet.Defuse(h)
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	line := make([]string, 0, len(header))
	for _, row := range rows {
		line = line[:0]
		for _, c := range row {
			// Topic and referral names are typed by staff: none of them
			// may run as a formula where the file is opened.
			line = append(line, sheet.Defuse(c.Value(suppress)))
		}
		if err := cw.Write(line); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

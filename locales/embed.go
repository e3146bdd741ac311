// Package locales holds the portal's message files, one per area and
// language, in go-i18n's JSON format, and each translation's review status
// (status/<language>.json) and the glossary of its domain words
// (glossary/<language>.json); they are embedded in the binary.
package locales

import "embed"

// FS holds every message file and the review status files.
//
//go:embed *.json status/*.json glossary/*.json
var FS embed.FS

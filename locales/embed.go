// Package locales holds the portal's message files, one per language, in
// go-i18n's JSON format; they are embedded in the binary.
package locales

import "embed"

// FS holds every *.json message file.
//
//go:embed *.json
var FS embed.FS

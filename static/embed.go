// Package static holds the portal's browser assets (styles, scripts, the
// service worker, icons, pictograms, fonts), embedded in the binary, and
// names each by a hash of its content so browsers may cache it for a year.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"path"
	"regexp"
	"strings"
)

// The fonts are the generated subsets and their licence; subset.py, which
// makes them, is not served.
//
//go:embed css js icons pictograms sw.js manifest.webmanifest fonts/*.woff2 fonts/OFL.txt
var FS embed.FS

// Assets maps each file to its content hash.
type Assets struct {
	hashes  map[string]string // "css/app.css" → "1a2b3c4d5e6f"
	content map[string][]byte // every file as served
}

// cssURL is a relative url("…") in a style sheet.
var cssURL = regexp.MustCompile(`url\("([^"/:][^":]*)"\)`)

// Load hashes every embedded file once at start. A style sheet's relative
// url("…") to another asset becomes that asset's cache-forever address
// first (and so part of the sheet's hash): a font that changes gets a new
// address, and so does the sheet that names it.
func Load() (*Assets, error) {
	a := &Assets{hashes: map[string]string{}, content: map[string][]byte{}}
	var sheets []string
	err := fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".go") {
			return err
		}
		b, err := fs.ReadFile(FS, p)
		if err != nil {
			return err
		}
		if path.Ext(p) == ".css" {
			sheets = append(sheets, p)
		}
		a.add(p, b)
		return nil
	})
	for _, p := range sheets {
		dir := path.Dir(p)
		a.add(p, cssURL.ReplaceAllFunc(a.content[p], func(m []byte) []byte {
			target := path.Join(dir, string(cssURL.FindSubmatch(m)[1]))
			if _, ok := a.hashes[target]; !ok {
				return m
			}
			return []byte(`url("` + a.URL(target) + `")`)
		}))
	}
	return a, err
}

func (a *Assets) add(name string, b []byte) {
	sum := sha256.Sum256(b)
	a.hashes[name] = hex.EncodeToString(sum[:6])
	a.content[name] = b
}

// Content is a file as it is served.
func (a *Assets) Content(name string) ([]byte, bool) {
	b, ok := a.content[name]
	return b, ok
}

// URL is the cache-forever address of a file: /static/<hash>/<name>.
// An unknown name panics at template execution, which tests catch.
func (a *Assets) URL(name string) string {
	h, ok := a.hashes[name]
	if !ok {
		panic("static: no such asset " + name)
	}
	return "/static/" + h + "/" + name
}

// Resolve splits a request path "<hash>/<name>" and tells whether the hash
// is the current one (only then may the answer be cached for a year).
func (a *Assets) Resolve(p string) (name string, current bool, ok bool) {
	hash, name, found := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	if !found {
		return "", false, false
	}
	name = path.Clean(name)
	h, ok := a.hashes[name]
	if !ok {
		return "", false, false
	}
	return name, h == hash, true
}

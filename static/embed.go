// Package static holds the portal's browser assets (styles, scripts, the
// service worker, icons, pictograms), embedded in the binary, and names each
// by a hash of its content so browsers may cache it for a year.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"path"
	"strings"
)

//go:embed css js icons pictograms sw.js manifest.webmanifest
var FS embed.FS

// Assets maps each file to its content hash.
type Assets struct {
	hashes map[string]string // "css/app.css" → "1a2b3c4d5e6f"
}

// Load hashes every embedded file once at start.
func Load() (*Assets, error) {
	a := &Assets{hashes: map[string]string{}}
	err := fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".go") {
			return err
		}
		b, err := fs.ReadFile(FS, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		a.hashes[p] = hex.EncodeToString(sum[:6])
		return nil
	})
	return a, err
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

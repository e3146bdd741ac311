package static

import (
	"regexp"
	"strings"
	"testing"
)

// The font sheet names each font by its cache-forever address, so a
// browser may keep both for a year and a new font still reaches it.
func TestStyleSheetsNameAssetsByHash(t *testing.T) {
	a, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	css, ok := a.Content("css/fonts.css")
	if !ok {
		t.Fatal("no css/fonts.css")
	}
	urls := regexp.MustCompile(`url\("([^"]+)"\)`).FindAllStringSubmatch(string(css), -1)
	if len(urls) < 8 {
		t.Fatalf("fonts.css names %d fonts, want a regular and a bold one for each of four scripts", len(urls))
	}
	for _, u := range urls {
		name, current, ok := a.Resolve(strings.TrimPrefix(u[1], "/static"))
		if !ok || !current || !strings.HasPrefix(name, "fonts/") || !strings.HasSuffix(name, ".woff2") {
			t.Errorf("fonts.css names %s: resolves to %q, current %v, known %v", u[1], name, current, ok)
		}
	}
	if _, ok := a.Content("fonts/OFL.txt"); !ok {
		t.Error("the fonts' licence is not served beside them")
	}
	if _, ok := a.Content("fonts/subset.py"); ok {
		t.Error("the script that makes the fonts is served")
	}
}

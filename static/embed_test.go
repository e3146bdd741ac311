package static

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/locales"
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

// The Chinese font holds only the characters the visitors' messages use:
// a message with a new one needs `make fonts`, or the kiosk falls back to
// whatever font the device has.
func TestFontsCoverTheMessages(t *testing.T) {
	kept, err := os.ReadFile("fonts/cjk.txt")
	if err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(locales.FS, "*.zh-Hans.json")
	for _, name := range names {
		b, _ := fs.ReadFile(locales.FS, name)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		area := strings.TrimSuffix(name, ".zh-Hans.json")
		for id, v := range m {
			if !i18n.ForVisitors(area, id) {
				continue
			}
			for _, r := range fmt.Sprint(v) {
				if unicode.Is(unicode.Han, r) && !strings.ContainsRune(string(kept), r) {
					t.Errorf("%s %s: %c is not in the Chinese font; run make fonts", name, id, r)
				}
			}
		}
	}
}

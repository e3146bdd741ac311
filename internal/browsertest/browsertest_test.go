package browsertest_test

import (
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/browsertest"
)

// page serves one HTML body under a policy as strict as the portal's, with
// a stylesheet at /s.css, so the checks here run in the conditions the
// portal's pages do. dir is the document's direction.
func page(t *testing.T, dir, body, css string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'")
		if r.URL.Path == "/s.css" {
			w.Header().Set("Content-Type", "text/css")
			fmt.Fprint(w, css)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!DOCTYPE html><html lang="en" dir="%s"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Test page</title><link rel="stylesheet" href="/s.css"></head>
<body><main>%s</main></body></html>`, dir, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestViewportSizes(t *testing.T) {
	url := page(t, "ltr", "<h1>Size</h1>", "")
	for _, tc := range []struct {
		name  string
		opts  []browsertest.Option
		want  string
		touch bool
	}{
		{"desktop", nil, "1280x900", false},
		{"phone", []browsertest.Option{browsertest.Phone()}, "390x844", true},
		{"kiosk", []browsertest.Option{browsertest.Kiosk()}, "1080x1920", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := browsertest.New(t, tc.opts...)
			browsertest.Open(ctx, t, url)
			if got := browsertest.Eval[string](ctx, t, `innerWidth + "x" + innerHeight`); got != tc.want {
				t.Errorf("viewport %s, want %s", got, tc.want)
			}
			if got := browsertest.Eval[bool](ctx, t, `matchMedia("(pointer: coarse)").matches`); got != tc.touch {
				t.Errorf("coarse pointer = %v, want %v", got, tc.touch)
			}
		})
	}
}

// recorder stands in for the test handed to Axe, so this test can see what
// Axe reports instead of failing itself.
type recorder struct {
	testing.TB
	errors, logs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Logf(format string, args ...any) {
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

// TestAxeFailsOnViolations proves the check can fail: an image without a
// text alternative and grey-on-white text must be reported as errors, under
// a CSP that forbids inline scripts, and a sound page must pass.
func TestAxeFailsOnViolations(t *testing.T) {
	ctx := browsertest.New(t)

	browsertest.Open(ctx, t, page(t, "ltr", `<h1>Broken</h1><img src="/none.png"><p class="faint">Hard to read</p>`, ".faint { color: #c8c8c8; }"))
	r := &recorder{TB: t}
	browsertest.Axe(ctx, r)
	got := strings.Join(r.errors, "\n")
	for _, rule := range []string{"image-alt [critical]", "color-contrast [serious]"} {
		if !strings.Contains(got, rule) {
			t.Errorf("axe did not report %s; it reported:\n%s", rule, got)
		}
	}

	browsertest.Open(ctx, t, page(t, "ltr", `<h1>Fine</h1><img src="/none.png" alt="A map of the service point"><p>Easy to read</p>`, "p { color: #1a1a1a; }"))
	r = &recorder{TB: t}
	browsertest.Axe(ctx, r)
	if len(r.errors) > 0 {
		t.Errorf("a sound page failed axe:\n%s", strings.Join(r.errors, "\n"))
	}
}

// TestScreenshotRightToLeft guards the full-page capture against the way
// Chromium's beyond-viewport capture draws a right-to-left page shifted
// sideways when something sits off-screen on its start side (a hidden skip
// link) and the page fits the screen, as the start page does: the header
// band must reach both edges of the image. A tall page must come out whole,
// not cut at the first screen.
func TestScreenshotRightToLeft(t *testing.T) {
	ctx := browsertest.New(t)
	for _, tc := range []struct {
		name  string
		lines int
		tall  bool
	}{
		{"fits", 2, false},
		{"tall", 60, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := page(t, "rtl", `<a class="skip" href="#h">Skip</a><header>Koto</header><h1 id="h">مرحبا</h1>`+
				strings.Repeat("<p>سطر</p>", tc.lines),
				"body { margin: 0; } header { background: #0b4f8a; color: #fff; block-size: 3rem; }"+
					" .skip { position: absolute; inset-inline-start: -999rem; }")
			browsertest.Open(ctx, t, url)
			name := "browsertest-rtl-" + strconv.FormatInt(time.Now().UnixNano(), 36)
			browsertest.Screenshot(ctx, t, name)
			path := filepath.Join(browsertest.ScreenshotDir(t), name+".png")
			t.Cleanup(func() { _ = os.Remove(path) })

			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			b := img.Bounds()
			wantHeight := "900 tall"
			if tc.tall {
				wantHeight = "taller than 900"
			}
			if b.Dx() != 1280 || b.Dy() < 900 || (b.Dy() > 900) != tc.tall {
				t.Errorf("image is %dx%d, want 1280 wide and %s", b.Dx(), b.Dy(), wantHeight)
			}
			// Below the header's text line, so only the band's colour is there.
			for _, x := range []int{b.Min.X + 2, b.Max.X - 3} {
				r, g, bl, _ := img.At(x, b.Min.Y+40).RGBA()
				if r>>8 != 0x0b || g>>8 != 0x4f || bl>>8 != 0x8a {
					t.Errorf("pixel (%d, 40) is #%02x%02x%02x, want the header's #0b4f8a: the page is drawn shifted", x, r>>8, g>>8, bl>>8)
				}
			}
		})
	}
}

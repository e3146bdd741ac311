// Package browsertest owns driving a real Chromium for page tests: starting
// a headless browser with a fresh profile, opening pages, reading the DOM,
// running the axe-core accessibility rules and saving screenshots.
//
// A real browser is what a resident, a kiosk and a waiting-room display
// actually use, so these tests catch what rendered HTML alone cannot: the
// language and direction the browser really applied, what is visible, colour
// contrast after the stylesheet, and that the Content-Security-Policy does
// not break the page.
//
// The browser is never downloaded. It is Debian's chromium (the Makefile
// installs it), or whatever KOTO_CHROMIUM names. Without it the tests skip,
// except under CI, where a skip would hide a broken machine, so they fail.
package browsertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// DefaultChromium is where Debian's chromium package puts the browser.
const DefaultChromium = "/usr/bin/chromium"

// StepTimeout bounds each helper below. The browser itself lives as long as
// the test; only single steps are bounded, so a page that never loads or an
// element that never appears fails the test in seconds instead of hanging
// until go test's global timeout.
const StepTimeout = 15 * time.Second

// Option changes how New starts the browser.
type Option func(*options)

type options struct {
	width, height int
	mobile, touch bool
	lang          string
	camera        string // a video file the browser's fake camera shows
}

// Phone makes the viewport a 390x844 phone screen with mobile and touch
// emulation, as a resident following their turn on their own phone would
// see the portal.
func Phone() Option {
	return func(o *options) { o.width, o.height, o.mobile, o.touch = 390, 844, true, true }
}

// Kiosk makes the viewport a 1080x1920 portrait touch screen, the size of
// the service point's ticket kiosk.
func Kiosk() Option {
	return func(o *options) { o.width, o.height, o.touch = 1080, 1920, true }
}

// Size makes the viewport width×height CSS pixels, for screens of other
// shapes: a landscape kiosk or a waiting-room display (1920×1080).
func Size(width, height int) Option {
	return func(o *options) { o.width, o.height = width, height }
}

// Lang makes the browser's own language tag (navigator.language and the
// Accept-Language header it sends), to test negotiation as a visitor whose
// device speaks that language would meet it.
func Lang(tag string) Option {
	return func(o *options) { o.lang = tag }
}

// FakeCamera gives the browser one camera, which shows the video file at
// path (Y4M or MJPEG) over and over, and lets every page use it without
// asking: for a kiosk that reads QR codes with its camera.
func FakeCamera(path string) Option {
	return func(o *options) { o.camera = path }
}

// unavailable ends a test that lacks a tool: a failure under CI, where a skip
// would quietly hide a broken machine, and a skip on a developer's machine.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (required under CI)", msg)
	}
	t.Skipf("%s; skipping browser test", msg)
}

// chromiumPath returns the browser to run, or ends the test when there is none.
func chromiumPath(t testing.TB) string {
	t.Helper()
	p := os.Getenv("KOTO_CHROMIUM")
	if p == "" {
		p = DefaultChromium
	}
	found, err := exec.LookPath(p)
	if err != nil {
		unavailable(t, "no Chromium at %s (install Debian's chromium with `make test-deps`, or set KOTO_CHROMIUM): %v", p, err)
	}
	return found
}

// New starts a headless Chromium for this test and returns the context to
// run chromedp actions in. The browser and its temporary profile go away
// when the test ends.
func New(t testing.TB, opts ...Option) context.Context {
	t.Helper()
	o := options{width: 1280, height: 900}
	for _, fn := range opts {
		fn(&o)
	}
	path := chromiumPath(t)

	// What the browser prints (crash reports, GPU and D-Bus complaints) is
	// noise when all is well, and the first clue when it is not.
	out := &lockedBuffer{}
	alloc := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		// Tests run as root in containers, where Chromium refuses to
		// start with its sandbox.
		chromedp.NoSandbox,
		// There is no GPU in CI; software rendering is enough for pages.
		chromedp.DisableGPU,
		// No traffic except to the portal under test: results must not
		// depend on the network, and tests must not phone home.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.WindowSize(o.width, o.height),
		chromedp.CombinedOutput(out),
	)
	if o.lang != "" {
		// Headless Chromium ignores --lang (navigator.language and the
		// header stay en-US, as tried on Chromium 156) and takes both from
		// --accept-lang; --lang is for the locale of a headed browser.
		alloc = append(alloc, chromedp.Flag("lang", o.lang), chromedp.Flag("accept-lang", o.lang))
	}
	if o.camera != "" {
		alloc = append(alloc, chromedp.Flag("use-fake-ui-for-media-stream", true),
			chromedp.Flag("use-fake-device-for-media-stream", true),
			chromedp.Flag("use-file-for-fake-video-capture", o.camera))
	}
	// No user-data-dir flag on purpose: chromedp then makes a new temporary
	// profile for this browser and removes it after the browser and its
	// helper processes have exited, which t.TempDir's cleanup cannot wait
	// for.
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), alloc...)
	ctx, cancel := chromedp.NewContext(actx)

	t.Cleanup(func() {
		// Close gracefully first, so the profile is released and removed;
		// then free everything left.
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		if err := chromedp.Cancel(cctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("browsertest: closing Chromium: %v", err)
		}
		ccancel()
		cancel()
		cancelAlloc()
		if t.Failed() {
			t.Logf("browsertest: Chromium output:\n%s", out.tail(8<<10))
		}
	})

	// The first Run binds the browser's life to its context, so start the
	// browser here on the long-lived one; later steps may then use short
	// timeouts without killing it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("browsertest: start %s: %v\n%s", path, err, out.tail(8<<10))
	}
	// Headless Chromium takes room for window decorations it does not
	// draw, so --window-size alone leaves the page 1280x757 instead of
	// 1280x900. Pinning the viewport makes layouts and screenshots the
	// size the test asked for.
	if err := chromedp.Do(ctx, o.viewport(o.height)); err != nil {
		t.Fatalf("browsertest: set the viewport to %dx%d: %v", o.width, o.height, err)
	}
	// Screenshot needs the screen's settings to grow and restore it.
	return context.WithValue(ctx, optionsKey{}, o)
}

type optionsKey struct{}

// viewport emulates the screen o describes, height pixels tall.
func (o options) viewport(height int) chromedp.Action[chromedp.Void] {
	var vp []chromedp.EmulateViewportOption
	if o.height > o.width {
		vp = append(vp, chromedp.EmulatePortrait)
	}
	if o.mobile {
		// A phone's pixel density, so screenshots look like one.
		vp = append(vp, chromedp.EmulateScale(3), chromedp.EmulateMobile)
	}
	if o.touch {
		vp = append(vp, chromedp.EmulateTouch)
	}
	return chromedp.EmulateViewport(int64(o.width), int64(height), vp...)
}

// step bounds one action (see StepTimeout).
func step(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, StepTimeout)
}

// Open navigates to url and waits for the page's load event.
func Open(ctx context.Context, t testing.TB, url string) {
	t.Helper()
	sctx, cancel := step(ctx)
	defer cancel()
	if err := chromedp.Do(sctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
}

// WaitVisible waits until the first element matching the CSS selector is
// rendered and visible, and fails the test if it never is.
func WaitVisible(ctx context.Context, t testing.TB, sel string) {
	t.Helper()
	sctx, cancel := step(ctx)
	defer cancel()
	if err := chromedp.Do(sctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		t.Fatalf("wait for %q to be visible: %v", sel, err)
	}
}

// Text returns the rendered text (innerText) of the first element matching
// the CSS selector: what a person sees, not hidden markup.
func Text(ctx context.Context, t testing.TB, sel string) string {
	t.Helper()
	sctx, cancel := step(ctx)
	defer cancel()
	s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %q: %v", sel, err)
	}
	return s
}

// Attr returns an attribute of the first element matching the CSS
// selector, "" when the element does not have it.
func Attr(ctx context.Context, t testing.TB, sel, name string) string {
	t.Helper()
	sctx, cancel := step(ctx)
	defer cancel()
	r, err := chromedp.Run(sctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	if err != nil {
		t.Fatalf("attribute %s of %q: %v", name, sel, err)
	}
	return r.Value
}

// Eval evaluates a JavaScript expression in the page and decodes its value.
// Promises are awaited.
func Eval[T any](ctx context.Context, t testing.TB, expr string) T {
	t.Helper()
	sctx, cancel := step(ctx)
	defer cancel()
	v, err := chromedp.Run(sctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %q: %v", expr, err)
	}
	return v
}

// RepoRoot is the folder holding go.mod, found by walking up from the
// working directory (go test runs in the package's folder).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("working directory: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// ScreenshotDir is where screenshots go: KOTO_SCREENSHOT_DIR when set (the
// Makefile sets it), else <repo root>/screenshots, which is git-ignored.
func ScreenshotDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("KOTO_SCREENSHOT_DIR"); d != "" {
		return d
	}
	return filepath.Join(RepoRoot(t), "screenshots")
}

// Screenshot saves a full-page PNG as <name>.png in ScreenshotDir so a
// person can look at what the test saw, in every language and screen size,
// without starting the portal.
func Screenshot(ctx context.Context, t testing.TB, name string) {
	t.Helper()
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		t.Fatalf("screenshot name %q: want a plain file name", name)
	}
	o, ok := ctx.Value(optionsKey{}).(options)
	if !ok {
		t.Fatalf("screenshot %s: the context does not come from browsertest.New", name)
	}
	sctx, cancel := step(ctx)
	defer cancel()
	// Chromium's own full-page capture (captureBeyondViewport) draws a
	// right-to-left page shifted sideways when anything overflows on the
	// start side, as the off-screen skip link does: the Arabic screenshots
	// came out cut off. So a tall page is captured by growing the viewport
	// to the page's height, taking an ordinary capture and shrinking it back.
	height, err := chromedp.Run(sctx, chromedp.Evaluate[int](`Math.ceil(document.documentElement.scrollHeight)`))
	if err != nil {
		t.Fatalf("screenshot %s: page height: %v", name, err)
	}
	grow := height > o.height
	if grow {
		if err := chromedp.Do(sctx, o.viewport(height)); err != nil {
			t.Fatalf("screenshot %s: grow the viewport: %v", name, err)
		}
	}
	png, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
	if grow {
		if err := chromedp.Do(sctx, o.viewport(o.height)); err != nil {
			t.Fatalf("screenshot %s: restore the viewport: %v", name, err)
		}
	}
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := ScreenshotDir(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot folder: %v", err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	t.Logf("screenshot: %s", path)
}

// lockedBuffer collects the browser's output, which chromedp writes from its
// own goroutine while the test may read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// tail is the last n bytes written: the end is where a crash explains itself.
func (b *lockedBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

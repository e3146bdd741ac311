package portal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/koto-portal/portal/internal/browsertest"
	"github.com/koto-portal/portal/internal/queue"
	"github.com/koto-portal/portal/portal/portaltest"
)

// watchOrigins makes every page the browser opens record what its
// Content-Security-Policy refused, so a request to another origin shows up
// even when the policy stopped it before it left.
func watchOrigins(ctx context.Context, t testing.TB) {
	t.Helper()
	const js = `window.__kotoRefused = [];
document.addEventListener('securitypolicyviolation', function (e) { window.__kotoRefused.push(e.blockedURI || e.violatedDirective); });`
	if err := chromedp.Do(ctx, func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: js})
		return chromedp.Void{}, err
	}); err != nil {
		t.Fatal(err)
	}
}

// foreignRequests lists what the page fetched, or tried to, from anywhere
// but its own origin.
const foreignRequests = `JSON.stringify((function () {
  var bad = [];
  performance.getEntriesByType('resource').forEach(function (e) {
    if (new URL(e.name).origin !== location.origin) { bad.push(e.name); }
  });
  return bad.concat((window.__kotoRefused || []).map(function (u) { return 'refused: ' + u; }));
})())`

// pageWeight is what a first visit transferred: the page and everything it
// loaded, fonts included, once the fonts are in. Each script's fonts must
// have arrived by then, so it waits for them.
const pageWeight = `document.fonts.ready.then(function () {
  var n = performance.getEntriesByType('navigation')[0].transferSize;
  performance.getEntriesByType('resource').forEach(function (e) { n += e.transferSize; });
  return n;
})`

// loadedFamilies lists the portal's own font families the page has loaded.
const loadedFamilies = `document.fonts.ready.then(function () {
  var out = [];
  document.fonts.forEach(function (f) { if (f.status === 'loaded' && out.indexOf(f.family) < 0) { out.push(f.family.replace(/"/g, '')); } });
  return JSON.stringify(out.sort());
})`

// missingGlyphs draws every character of the page's visible text in the
// font its element uses and compares it with a glyph no font has (tofu): a
// character as wide as tofu that also looks like it has no glyph. Extra
// text is checked too, so a test can prove the check can fail.
const missingGlyphs = `document.fonts.ready.then(function () {
  var extra = %s;
  var canvas = document.createElement('canvas'); canvas.width = 96; canvas.height = 96;
  var g = canvas.getContext('2d', { willReadFrequently: true });
  function look(font, s) {
    g.clearRect(0, 0, 96, 96); g.font = font; g.textBaseline = 'top'; g.fillText(s, 8, 8);
    var d = g.getImageData(0, 0, 96, 96).data, h = 0;
    for (var i = 3; i < d.length; i += 4) { h = (h * 31 + d[i]) %% 2147483647; }
    return h;
  }
  var byFont = {};
  function add(font, text) {
    var set = byFont[font] || (byFont[font] = {});
    Array.from(text).forEach(function (c) {
      // Spaces, joiners, direction marks and variation selectors draw nothing.
      if (/[\s\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFE00-\uFE0F]/.test(c)) { return; }
      set[c] = true;
    });
  }
  var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT), n;
  while ((n = walker.nextNode())) {
    var el = n.parentElement;
    if (!el || !el.getClientRects().length || !n.textContent.trim()) { continue; }
    var cs = getComputedStyle(el);
    add(cs.fontWeight + ' 48px ' + cs.fontFamily, n.textContent);
  }
  if (extra) { add('400 48px ' + getComputedStyle(document.body).fontFamily, extra); }
  var missing = [];
  Object.keys(byFont).forEach(function (font) {
    g.font = font;
    var tofuW = g.measureText('\u0378').width, tofu = look(font, '\u0378');
    Object.keys(byFont[font]).forEach(function (c) {
      if (g.measureText(c).width === tofuW && look(font, c) === tofu) {
        missing.push(c + ' U+' + c.codePointAt(0).toString(16).toUpperCase());
      }
    });
  });
  return JSON.stringify(missing);
})`

// clippedText lists visible text that its box, a box that hides what
// overflows, or the screen's width cuts off.
const clippedText = `JSON.stringify((function () {
  var out = [], vw = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > vw + 1) { out.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + vw); }
  var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT), n;
  while ((n = walker.nextNode())) {
    var el = n.parentElement, text = n.textContent.trim();
    if (!el || !text || !el.getClientRects().length || el.closest('.skip-link')) { continue; }
    var r = document.createRange(); r.selectNodeContents(n);
    var b = r.getBoundingClientRect();
    if (!b.width) { continue; }
    if (b.left < -1 || b.right > vw + 1) { out.push('off the screen: ' + text.slice(0, 40)); continue; }
    for (var a = el; a && a !== document.body; a = a.parentElement) {
      var cs = getComputedStyle(a);
      if (cs.overflowX === 'visible' && cs.overflowY === 'visible') { continue; }
      var ab = a.getBoundingClientRect();
      if (b.left < ab.left - 1 || b.right > ab.right + 1 || b.top < ab.top - 1 || b.bottom > ab.bottom + 1) {
        out.push('cut off by ' + a.tagName.toLowerCase() + '.' + a.className + ': ' + text.slice(0, 40));
      }
      break;
    }
  }
  return out;
})())`

func evalList(ctx context.Context, t testing.TB, expr string) []string {
	t.Helper()
	var out []string
	if err := json.Unmarshal([]byte(browsertest.Eval[string](ctx, t, expr)), &out); err != nil {
		t.Fatalf("%v", err)
	}
	return out
}

func evalAwait[T any](ctx context.Context, t testing.TB, expr string) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, browsertest.StepTimeout)
	defer cancel()
	v, err := chromedp.Run(sctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate: %v", err)
	}
	return v
}

// scriptCase is a language whose pages must show in their own script.
type scriptCase struct {
	lang, dir string
	family    string // the portal's font family the script needs; "" for Latin
}

var scriptCases = []scriptCase{
	{"fi-x-selko", "ltr", ""},
	{"fa-AF", "rtl", "Koto Arabic"},
	{"ti", "ltr", "Koto Ethiopic"},
	{"th", "ltr", "Koto Thai"},
}

// checkScriptPage checks the page open in ctx: its language and direction,
// axe, no clipped text, no missing glyphs, its script's font served by the
// portal, nothing from another origin.
func checkScriptPage(ctx context.Context, t *testing.T, where string, c scriptCase) {
	t.Helper()
	if got := browsertest.Attr(ctx, t, "html", "lang"); got != c.lang {
		t.Errorf("%s: <html lang> = %q", where, got)
	}
	if got := browsertest.Attr(ctx, t, "html", "dir"); got != c.dir {
		t.Errorf("%s: dir = %q, want %q", where, got, c.dir)
	}
	browsertest.Axe(ctx, t)
	for _, p := range evalList(ctx, t, clippedText) {
		t.Errorf("%s: %s", where, p)
	}
	var missing []string
	if err := json.Unmarshal([]byte(evalAwait[string](ctx, t, fmt.Sprintf(missingGlyphs, `""`))), &missing); err != nil {
		t.Fatal(err)
	}
	for _, m := range missing {
		t.Errorf("%s: no glyph for %s", where, m)
	}
	if c.family != "" {
		var fams []string
		if err := json.Unmarshal([]byte(evalAwait[string](ctx, t, loadedFamilies)), &fams); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(fams, ","), c.family) {
			t.Errorf("%s: the portal's %s font was not loaded (loaded: %v)", where, c.family, fams)
		}
	}
	for _, u := range evalList(ctx, t, foreignRequests) {
		t.Errorf("%s: the page reached for another origin: %s", where, u)
	}
}

// TestVisitorPagesInEveryScript: the kiosk's screens, its ticket and the
// phone's follow page in plain Finnish, Dari (right to left), Tigrinya and
// Thai, on a kiosk and on a phone, are in the right language and direction,
// pass axe, cut off no text, draw every character with a real glyph from
// the portal's own fonts, and fetch nothing from another origin. Each first
// visit's weight, fonts included, is logged and held under a budget.
func TestVisitorPagesInEveryScript(t *testing.T) {
	// Eight tickets from the one demo kiosk come faster than its flood
	// limit allows on a quick machine; the limit has tests of its own.
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword),
		portaltest.WithQueue(func(q *queue.Service) { q.FloodLimit = 0 }))
	const budget = 400 << 10 // bytes a first visit to one page may transfer
	weights := map[string]int{}
	weigh := func(ctx context.Context, name string) {
		n := evalAwait[int](ctx, t, pageWeight)
		weights[name] = n
		if n > budget {
			t.Errorf("%s transferred %d bytes, over the budget of %d", name, n, budget)
		}
	}
	screens := []struct {
		name string
		opt  browsertest.Option
	}{{"kiosk", browsertest.Kiosk()}, {"phone", browsertest.Phone()}}
	for _, sc := range screens {
		for _, c := range scriptCases {
			where := sc.name + " " + c.lang
			// A browser of its own: an empty cache, so the weights are
			// those of a first visit.
			ctx := browsertest.New(t, sc.opt)
			watchOrigins(ctx, t)
			_, follow := takeTicketAtKiosk(ctx, t, in.URL, c.lang, func(step string) {
				switch step {
				case "languages":
					if c.lang == "fi-x-selko" {
						weigh(ctx, sc.name+" kiosk, language screen (every script)")
					}
				case "topics":
					checkScriptPage(ctx, t, where+" topics", c)
					browsertest.Screenshot(ctx, t, "scripts-"+sc.name+"-"+c.lang+"-topics")
				default:
					checkScriptPage(ctx, t, where+" "+step, c)
				}
			})
			browsertest.Screenshot(ctx, t, "scripts-"+sc.name+"-"+c.lang+"-ticket")

			// The phone page, in a fresh browser, weighed on its first visit.
			phone := browsertest.New(t, sc.opt)
			watchOrigins(phone, t)
			browsertest.Open(phone, t, follow)
			browsertest.WaitVisible(phone, t, ".follow-ticket")
			weigh(phone, sc.name+" follow page, "+c.lang)
			checkScriptPage(phone, t, where+" follow page", c)
			browsertest.Screenshot(phone, t, "scripts-"+sc.name+"-"+c.lang+"-follow")
		}
	}
	for name, n := range weights {
		t.Logf("page weight: %s: %d bytes (%.1f KiB)", name, n, float64(n)/1024)
	}
}

// The checks above must be able to fail: an image from another origin, a
// character no font has, and text pushed out of its box are each reported.
func TestScriptChecksCatchFaults(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	ctx := browsertest.New(t, browsertest.Phone())
	watchOrigins(ctx, t)
	browsertest.Open(ctx, t, in.URL+"/?lang=th")
	if got := evalList(ctx, t, foreignRequests); len(got) != 0 {
		t.Fatalf("the start page reached elsewhere: %v", got)
	}
	other := strings.Replace(in.URL, "127.0.0.1", "localhost", 1) + "/icon.svg"
	browsertest.Eval[bool](ctx, t, `(function(){ var i = new Image(); i.src = '`+other+`'; document.body.appendChild(i);
	  var p = document.createElement('p'); p.style.cssText = 'width:3rem;overflow:hidden;white-space:nowrap'; p.textContent = 'ยินดีต้อนรับยินดีต้อนรับยินดีต้อนรับ'; document.querySelector('main').appendChild(p); return true; })()`)
	var got []string
	for range 50 {
		if got = evalList(ctx, t, foreignRequests); len(got) > 0 {
			break
		}
		evalAwait[bool](ctx, t, `new Promise(function (r) { setTimeout(function () { r(true); }, 100); })`)
	}
	if len(got) == 0 {
		t.Error("an image from another origin went unnoticed")
	}
	var missing []string
	if err := json.Unmarshal([]byte(evalAwait[string](ctx, t, fmt.Sprintf(missingGlyphs, `"\uE000"`))), &missing); err != nil {
		t.Fatal(err)
	}
	if len(missing) != 1 || !strings.Contains(missing[0], "U+E000") {
		t.Errorf("a character without a glyph went unnoticed: %v", missing)
	}
	if clipped := evalList(ctx, t, clippedText); len(clipped) == 0 {
		t.Error("text cut off by its box went unnoticed")
	}
}

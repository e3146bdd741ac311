package portal_test

import (
	"testing"

	"github.com/koto-portal/portal/internal/browsertest"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/portal/portaltest"
)

// startLanguages are the languages the start page is checked in in a real
// browser: both national languages, English, and Arabic as the right-to-left
// case (the layout must mirror, not just the text).
var startLanguages = []string{"fi", "sv", "en", "ar"}

// TestStartPageInBrowser opens the start page in each language and checks
// what the browser really applied: the document's language and direction,
// a visible heading, text from that language's catalog, and WCAG 2.1 AA
// (axe-core, serious and critical violations fail).
func TestStartPageInBrowser(t *testing.T) {
	in := portaltest.Start(t)
	ctx := browsertest.New(t)
	catalog, err := i18n.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range startLanguages {
		t.Run(code, func(t *testing.T) {
			lang, ok := catalog.Lookup(code)
			if !ok {
				t.Fatalf("%s is not a supported language", code)
			}
			browsertest.Open(ctx, t, in.URL+"/?lang="+code)

			if got := browsertest.Attr(ctx, t, "html", "lang"); got != code {
				t.Errorf("<html lang> = %q, want %q", got, code)
			}
			if got := browsertest.Attr(ctx, t, "html", "dir"); got != lang.Dir() {
				t.Errorf("<html dir> = %q, want %q", got, lang.Dir())
			}
			// The direction the layout engine used, not just the attribute:
			// a stylesheet forcing direction would break Arabic unseen.
			if got := browsertest.Eval[string](ctx, t, `getComputedStyle(document.body).direction`); got != lang.Dir() {
				t.Errorf("computed direction = %q, want %q", got, lang.Dir())
			}
			browsertest.WaitVisible(ctx, t, "h1")
			if h1 := browsertest.Text(ctx, t, "h1"); h1 == "" {
				t.Error("the h1 is empty")
			}
			want := catalog.For(lang).Get("lang.choose")
			if got := browsertest.Text(ctx, t, "#lang-heading"); got != want {
				t.Errorf("language heading = %q, want %q from the %s catalog", got, want, code)
			}
			if got := browsertest.Attr(ctx, t, ".lang-grid [aria-current]", "hreflang"); got != code {
				t.Errorf("the language marked current is %q, want %q", got, code)
			}

			browsertest.Axe(ctx, t)
			browsertest.Screenshot(ctx, t, "start-"+code)
		})
	}
}

// TestStartPageLanguageNegotiation checks, with a browser whose own language
// is Arabic, that Accept-Language picks the page's language when nothing
// was chosen, and that an explicit choice (?lang=sv) is remembered over it
// by the cookie on the next plain visit.
func TestStartPageLanguageNegotiation(t *testing.T) {
	in := portaltest.Start(t)
	ctx := browsertest.New(t, browsertest.Lang("ar"))

	if got := browsertest.Eval[string](ctx, t, `navigator.language`); got != "ar" {
		t.Fatalf("navigator.language = %q: the browser did not take --lang=ar", got)
	}

	browsertest.Open(ctx, t, in.URL+"/")
	if got := browsertest.Attr(ctx, t, "html", "lang"); got != "ar" {
		t.Errorf("with Accept-Language ar: <html lang> = %q, want ar", got)
	}
	if got := browsertest.Attr(ctx, t, "html", "dir"); got != "rtl" {
		t.Errorf("with Accept-Language ar: <html dir> = %q, want rtl", got)
	}

	browsertest.Open(ctx, t, in.URL+"/?lang=sv")
	if got := browsertest.Attr(ctx, t, "html", "lang"); got != "sv" {
		t.Fatalf("?lang=sv: <html lang> = %q, want sv", got)
	}

	browsertest.Open(ctx, t, in.URL+"/")
	if got := browsertest.Attr(ctx, t, "html", "lang"); got != "sv" {
		t.Errorf("after choosing Swedish, a plain visit: <html lang> = %q, want sv (the cookie should win over Accept-Language)", got)
	}
	if got := browsertest.Attr(ctx, t, "html", "dir"); got != "ltr" {
		t.Errorf("after choosing Swedish, a plain visit: <html dir> = %q, want ltr", got)
	}
}

package portal_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/portal/portaltest"
)

// htmlLang is the opening of a page's <html> element in one language.
func htmlLang(code, dir string) string { return `<html lang="` + code + `" dir="` + dir + `">` }

// TestStaffPagesStayInTheirLanguages: the languages that cover only what
// visitors see never reach a staff page, which would mix them with the
// staff's texts: plain Finnish gives a Finnish login page, Dari an English
// one, and the footer offers only the staff pages' languages; the kiosk
// speaks them all, right to left where the script is.
func TestStaffPagesStayInTheirLanguages(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	c := kioskClient(t)
	get := func(path string) string {
		t.Helper()
		resp, err := c.Get(in.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		return readAll(t, resp)
	}
	for _, tc := range []struct{ path, want string }{
		{"/login?lang=fi-x-selko", htmlLang("fi", "ltr")},
		{"/login?lang=fa-AF", htmlLang("en", "ltr")},
		{"/login?lang=sv-x-lattlast", htmlLang("sv", "ltr")},
		{"/kiosk/demo?lang=fa-AF", htmlLang("fa-AF", "rtl")},
		{"/kiosk/demo?lang=prs", htmlLang("fa-AF", "rtl")},
		{"/kiosk/demo?lang=fi-x-selko", htmlLang("fi-x-selko", "ltr")},
		{"/?lang=fa-AF", htmlLang("fa-AF", "rtl")},
	} {
		page := get(tc.path)
		if !strings.Contains(page, tc.want) {
			t.Errorf("%s does not open with %s", tc.path, tc.want)
		}
		if strings.HasPrefix(tc.path, "/login") && strings.Contains(page, `hreflang="fa-AF"`) {
			t.Errorf("%s offers Dari, which the staff pages are not written in", tc.path)
		}
	}
	if page := get("/?lang=fi"); !strings.Contains(page, `hreflang="fa-AF"`) || !strings.Contains(page, `hreflang="fi-x-selko"`) {
		t.Error("the start page does not offer Dari and plain Finnish")
	}
}

// TestInterpreterSentenceNamesASpokenLanguage: each translation places the
// language's name or leaves it out; Chinese names Mandarin, a spoken
// language, where it used to name a script.
func TestInterpreterSentenceNamesASpokenLanguage(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	c := kioskClient(t)
	topic := itoa(firstTopic(t, in.OwnerURL))
	for lang, want := range map[string]string{"zh-Hans": "普通话", "en": "Yes, I need an interpreter<", "fa-AF": "بلی، به ترجمان ضرورت دارم"} {
		resp, err := c.Get(in.URL + "/kiosk/demo?lang=" + lang + "&topic=" + topic)
		if err != nil {
			t.Fatal(err)
		}
		page := readAll(t, resp)
		if !strings.Contains(page, want) || strings.Contains(page, "简体中文口译") {
			t.Errorf("%s: the interpreter screen does not say %q", lang, want)
		}
	}
}

// TestLeadsSeeWhatIsStillDraft: the translations page shows a lead each
// translation's reviewed and draft texts in the lead's own language; an
// expert may not open it.
func TestLeadsSeeWhatIsStillDraft(t *testing.T) {
	in, _ := setupStart(t)
	lead := setupLogin(t, in, demo.LeadEmail)
	resp, body := lead.get("/staff/translations")
	wantStatus(t, "translations page", resp, body, http.StatusOK)
	for _, want := range []string{`id="drafts-th"`, `id="drafts-fa-AF"`, "kiosk.title", "ยินดีต้อนรับ", `<td lang="ti" dir="ltr">`} {
		if !strings.Contains(body, want) {
			t.Errorf("the translations page lacks %q", want)
		}
	}
	if strings.Contains(body, `id="drafts-fi"`) || strings.Contains(body, `id="drafts-en"`) {
		t.Error("the page lists the portal's own languages as translations")
	}
	expert := setupLogin(t, in, demo.ExpertEmail)
	resp, body = expert.get("/staff/translations")
	wantStatus(t, "translations page for an expert", resp, body, http.StatusForbidden)
}

package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/koto-portal/portal/internal/demo"
)

// A lead writes a template over HTTP: a wrong placeholder comes back beside
// its field in the lead's language with what was typed kept, a right one is
// saved, and an edit is the template's second version.
func TestMessageTemplatesOverHTTP(t *testing.T) {
	in := secStart(t)
	owner := secOwner(t, in)
	ctx := context.Background()
	lead := newSecBrowser(t, in)
	lead.login(demo.LeadEmail)
	lead.do(http.MethodPost, "/staff/account/language", url.Values{"_csrf": {lead.csrf}, "locale": {"sv"}}, map[string]string{"Origin": in.URL})

	form := url.Values{"_csrf": {lead.csrf}, "name": {"Välkommen"}, "text_fi": {"Hei {first_name}, aikasi on {date} klo {time}."},
		"text_so": {"Soo dhawoow {magac}"}, "text_ar": {"مرحبا {first_name"}}
	bad := lead.do(http.MethodPost, "/staff/message-templates", form, map[string]string{"Origin": in.URL})
	if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.Body, `id="template-text_so-error"`) ||
		!strings.Contains(bad.Body, "Okänt fält inom klammerparenteser") || !strings.Contains(bad.Body, "Klammerparenteserna går inte i par") ||
		!strings.Contains(bad.Body, "Soo dhawoow {magac}") || !strings.Contains(bad.Body, `lang="ar" dir="rtl"`) {
		t.Fatalf("a wrong placeholder: %d\n%s", bad.Status, bad.Body)
	}
	if n := secCount(t, owner, `SELECT count(*) FROM message_templates`); n != 0 {
		t.Errorf("%d templates saved from a wrong form", n)
	}

	form.Set("text_so", "Soo dhawoow {first_name}")
	form.Set("text_ar", "مرحبا {first_name}")
	ok := lead.do(http.MethodPost, "/staff/message-templates", form, map[string]string{"Origin": in.URL})
	if ok.Status != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", ok.Status, ok.Body)
	}
	var id string
	if err := owner.QueryRow(ctx, `SELECT id::text FROM message_templates WHERE name = 'Välkommen'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	list := lead.get("/staff/message-templates")
	if !strings.Contains(list.Body, `href="/staff/message-templates/`+id+`"`) || !strings.Contains(list.Body, "fi, ar, so") {
		t.Errorf("the list does not show the template:\n%s", list.Body)
	}
	edit := lead.get("/staff/message-templates/" + id)
	if edit.Status != http.StatusOK || !strings.Contains(edit.Body, "Soo dhawoow {first_name}") {
		t.Fatalf("edit form: %d\n%s", edit.Status, edit.Body)
	}
	form.Set("text_fi", "Hei {first_name}!")
	if r := lead.do(http.MethodPost, "/staff/message-templates/"+id, form, map[string]string{"Origin": in.URL}); r.Status != http.StatusSeeOther {
		t.Fatalf("new version: %d\n%s", r.Status, r.Body)
	}
	if n := secCount(t, owner, `SELECT max(version) FROM message_template_versions WHERE template_id = $1::bigint`, id); n != 2 {
		t.Errorf("after the edit the newest version is %d", n)
	}
	// A name, a Finnish text: the two a template cannot be without.
	form = url.Values{"_csrf": {lead.csrf}, "name": {""}, "text_fi": {""}}
	if r := lead.do(http.MethodPost, "/staff/message-templates/"+id, form, map[string]string{"Origin": in.URL}); r.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.Body, `id="template-text_fi-error"`) || !strings.Contains(r.Body, `id="template-name-error"`) {
		t.Errorf("an empty form: %d\n%s", r.Status, r.Body)
	}
	// Junk ids answer not found, not a fault.
	for _, path := range []string{"/staff/message-templates/abc", "/staff/message-templates/99999999"} {
		if r := lead.get(path); r.Status != http.StatusNotFound {
			t.Errorf("GET %s: %d", path, r.Status)
		}
	}
}

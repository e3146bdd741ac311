package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/store"
)

// passwordForm opens a password link's page and returns its form token.
func (b *secBrowser) passwordForm(path string) string {
	b.t.Helper()
	r := b.get(path)
	m := secHiddenCSRF.FindStringSubmatch(r.Body)
	if r.Status != http.StatusOK || m == nil {
		b.t.Fatalf("GET %s: %d\n%s", path, r.Status, r.Body)
	}
	if problems := checkSecurityHeaders(r.Header, true); len(problems) > 0 {
		b.t.Errorf("GET %s: %v", path, problems)
	}
	return m[1]
}

func TestPasswordLinkForm(t *testing.T) {
	in := secStart(t)
	owner := secOwner(t, in)
	ctx := context.Background()
	f, err := org.FoundMunicipality(ctx, store.Owner(in.OwnerURL), org.Founding{Slug: "vantaa", Name: "Vantaa",
		AdminEmail: "admin@vantaa.example", AdminName: "Ville", AdminLocale: "en", LinkValidity: time.Hour}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	link := "/password/" + f.LinkToken
	linkUsed := func() bool {
		return secCount(t, owner, `SELECT count(*) FROM password_links WHERE used_at IS NOT NULL`) > 0
	}

	b := newSecBrowser(t, in)
	token := b.passwordForm(link)
	for _, tc := range []struct {
		name, password, again, field, want string
		status                             int
	}{
		{"no token", "a good long password", "a good long password", "", "", http.StatusForbidden},
		{"too short", "short", "short", "password", "at least 10 characters", http.StatusUnprocessableEntity},
		{"typed differently", "a good long password", "a good long passwort", "password2", "not the same", http.StatusUnprocessableEntity},
	} {
		form := url.Values{"password": {tc.password}, "password2": {tc.again}}
		if tc.status != http.StatusForbidden {
			form.Set("_csrf", token)
		}
		r := b.do(http.MethodPost, link, form, nil)
		if r.Status != tc.status || tc.field != "" && !strings.Contains(r.Body, `id="`+tc.field+`-error">`) ||
			!strings.Contains(r.Body, tc.want) || strings.Contains(r.Body, tc.password) {
			t.Errorf("%s: %d\n%s", tc.name, r.Status, r.Body)
		}
		if r.cookie("koto_session") != nil || linkUsed() {
			t.Errorf("%s: the refused form used the link or signed in", tc.name)
		}
	}

	r := b.do(http.MethodPost, link, url.Values{"_csrf": {token}, "password": {"a good long password"}, "password2": {"a good long password"}}, nil)
	if r.Status != http.StatusSeeOther || r.Location != "/staff" || !b.loggedIn() {
		t.Fatalf("setting the password: %d to %q", r.Status, r.Location)
	}

	// A second link, opened in another browser, ends the first browser's
	// session: whoever set a password before is out.
	var second string
	err = store.OwnerTx(ctx, in.OwnerURL, func(tx sqldb.Tx) error {
		second, err = auth.IssuePasswordLink(ctx, tx, f.Tenant, f.AdminID, time.Now().Add(time.Hour))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	other := newSecBrowser(t, in)
	token = other.passwordForm("/password/" + second)
	r = other.do(http.MethodPost, "/password/"+second, url.Values{"_csrf": {token}, "password": {"another long password"}, "password2": {"another long password"}}, nil)
	if r.Status != http.StatusSeeOther || !other.loggedIn() {
		t.Fatalf("the second link: %d", r.Status)
	}
	if b.loggedIn() {
		t.Error("the session from before the new password survived it")
	}

	third := newSecBrowser(t, in)
	var expired string
	err = store.OwnerTx(ctx, in.OwnerURL, func(tx sqldb.Tx) error {
		expired, err = auth.IssuePasswordLink(ctx, tx, f.Tenant, f.AdminID, time.Now().Add(-time.Minute))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/password/" + expired + "?lang=en":         "This link has expired",
		"/password/" + f.LinkToken + "?lang=en":     "already been used",
		"/password/" + auth.NewToken() + "?lang=en": "This link is not valid",
	} {
		r := third.get(path)
		if r.Status < 400 || !strings.Contains(r.Body, want) {
			t.Errorf("%s: %d, want %q\n%s", path, r.Status, want, r.Body)
		}
		if problems := checkSecurityHeaders(r.Header, true); len(problems) > 0 {
			t.Errorf("%s: %v", path, problems)
		}
	}
}

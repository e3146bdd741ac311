package portal_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/koto-portal/portal/internal/demo"
)

// A logged-in staff member who opens /login?next=… is sent on at once: the
// destination must stay on this site however it is dressed up, since
// browsers drop tabs and newlines and read a backslash as a slash.
func TestLoginNextStaysOnSite(t *testing.T) {
	in := secStart(t)
	b := newSecBrowser(t, in)
	b.login(demo.LeadEmail)
	cases := []struct{ next, want string }{
		{"/staff/queue/demo?lang=sv", "/staff/queue/demo?lang=sv"},
		{"/staff/people/3", "/staff/people/3"},
		{"//evil.example/x", "/staff"},
		{"///evil.example/x", "/staff"},
		{`/\evil.example/x`, "/staff"},
		{`\/evil.example/x`, "/staff"},
		{"/\t/evil.example/x", "/staff"},
		{"/\n/evil.example/x", "/staff"},
		{"/\r/evil.example/x", "/staff"},
		{"/ /evil.example/x", "/staff"},
		{"/\u00a0/evil.example/x", "/staff"},
		{"/\u2028/evil.example/x", "/staff"},
		{"/%09/evil.example/x", "/staff"},
		{"/%2F%2Fevil.example/x", "/staff"},
		{"/%2f/evil.example/x", "/staff"},
		{"/%5Cevil.example/x", "/staff"},
		{"/%0a/evil.example/x", "/staff"},
		{"/%zz", "/staff"},
		{"https://evil.example/x", "/staff"},
		{"javascript:alert(1)", "/staff"},
		{"evil.example/x", "/staff"},
		{"", "/staff"},
	}
	for _, tc := range cases {
		r := b.get("/login?next=" + url.QueryEscape(tc.next))
		if r.Status != http.StatusSeeOther || r.Location != tc.want {
			t.Errorf("next=%q: %d to %q, want %q", tc.next, r.Status, r.Location, tc.want)
		}
	}
	// The raw form the probe sent, escaped by hand rather than by Go.
	if r := b.get("/login?next=/%09/evil.example/x"); r.Location != "/staff" {
		t.Errorf("/login?next=/%%09/evil.example/x redirects to %q", r.Location)
	}
}

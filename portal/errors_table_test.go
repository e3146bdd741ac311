package portal

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/sqldb"
)

// TestDomainErrorsAreTranslated: every message of the error table exists in
// every language, so a refusal never shows a message id.
func TestDomainErrorsAreTranslated(t *testing.T) {
	cat, err := i18n.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range i18n.Languages {
		tr := cat.For(l)
		for _, d := range domainErrors {
			got := tr.Get(d.key)
			if !l.Staff && got == d.key && cat.SeenByVisitors(d.key) {
				t.Errorf("%s: %q (for %v) is seen by visitors, but not translated", l.Code, d.key, d.err)
				continue
			}
			if !l.Staff {
				// A staff page asked for in this language is written in
				// another (i18n.Catalog.ForStaff).
				got = cat.For(cat.ForStaff(l)).Get(d.key)
			}
			if got == d.key || got == "" {
				t.Errorf("%s: %q (for %v) is not translated", l.Code, d.key, d.err)
			}
		}
	}
}

// TestLookupErrorSeesThroughWrapping: a domain error wrapped with context
// still finds its row, and an unknown error finds none (it is a 500).
func TestLookupErrorSeesThroughWrapping(t *testing.T) {
	d, ok := lookupError(fmt.Errorf("loading desk 3: %w", sqldb.ErrNotFound))
	if !ok || d.status != http.StatusNotFound {
		t.Errorf("wrapped not-found: %+v %v", d, ok)
	}
	if _, ok := lookupError(errors.New("disk on fire")); ok {
		t.Error("an unknown error was given a message")
	}
	errs := forms.Errors{}
	if !fieldError(errs, fmt.Errorf("save: %w", org.ErrNameTaken)) || errs["name"] != "setup.desk_name_taken" {
		t.Errorf("field error: %v", errs)
	}
	if fieldError(errs, sqldb.ErrNotFound) {
		t.Error("not-found belongs to no field")
	}
}

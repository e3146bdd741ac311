package portal_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/koto-portal/portal/internal/browsertest"
	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/portal/portaltest"
)

// browserAs starts the demo portal and a browser signed in as email.
func browserAs(t *testing.T, email string) (*portaltest.Instance, context.Context) {
	t.Helper()
	in, _ := setupStart(t)
	ctx := browsertest.New(t)
	browserLogin(ctx, t, in.URL, email, setupPassword)
	return in, ctx
}

// A lead finds the import on the client list, sends the form without a
// file and then with one, in Finnish, and reads the report; axe-core
// checks each page, the streamed report among them.
func TestClientImportInBrowser(t *testing.T) {
	in, ctx := browserAs(t, demo.LeadEmail)
	file := filepath.Join(t.TempDir(), "asiakkaat.csv")
	if err := os.WriteFile(file, []byte("\uFEFFexternal_id;first_names;last_name;birth_date;language;service_point\r\n"+
		"BR-1;Amina;Warsame;1.5.1994;so;demo\r\n"+
		"BR-2;Olena;Koval;31.2.1980;uk;demo\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	browsertest.Open(ctx, t, in.URL+"/staff/clients?lang=fi")
	submitAndWait(ctx, t, `a[href="/staff/clients/import"]`, "#file")
	browsertest.Axe(ctx, t)

	submitAndWait(ctx, t, ".setup-form button[type=submit]", "#file-error")
	if got := browsertest.Attr(ctx, t, "#file", "aria-invalid"); got != "true" {
		t.Errorf("the file field is not marked invalid: %q", got)
	}
	browsertest.Axe(ctx, t)

	sctx, cancel := context.WithTimeout(ctx, browsertest.StepTimeout)
	defer cancel()
	if err := chromedp.Do(sctx, chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{file})); err != nil {
		t.Fatal(err)
	}
	submitAndWait(ctx, t, ".setup-form button[type=submit]", "#import-report")
	if got := browsertest.Text(ctx, t, ".import-problems tbody tr:first-child"); !strings.Contains(got, "3") ||
		!strings.Contains(got, "BR-2") || !strings.Contains(got, "Kirjoita päivämäärä muodossa 2001-12-31 tai 31.12.2001.") {
		t.Errorf("the refused line reads %q", got)
	}
	if got := browsertest.Text(ctx, t, ".import-progress"); !strings.Contains(got, "Tuotu 1/1 riviä") || strings.Contains(got, "0/1") {
		t.Errorf("the progress shows %q, want only the last line", got)
	}
	browsertest.Axe(ctx, t)
	browsertest.Screenshot(ctx, t, "client-import-report-fi")
}

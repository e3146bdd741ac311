package portal_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/clients/clientgen"
	"github.com/koto-portal/portal/internal/demo"
)

// upload sends the import form with file as its CSV file; token is the
// _csrf field ("" leaves it out).
func (b *secBrowser) upload(path, token string, file []byte) *secResponse {
	b.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if token != "" {
		if err := w.WriteField("_csrf", token); err != nil {
			b.t.Fatal(err)
		}
	}
	part, err := w.CreateFormFile("file", "asiakkaat.csv")
	if err != nil {
		b.t.Fatal(err)
	}
	part.Write(file)
	if err := w.Close(); err != nil {
		b.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, b.base+path, &body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Origin", b.base)
	return b.send(req)
}

// importCount reads a count of the import report: the <dd> after label.
func importCount(t *testing.T, body, label string) string {
	t.Helper()
	m := regexp.MustCompile(`<dt>` + regexp.QuoteMeta(label) + `</dt><dd>(\d+)</dd>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no count %q in the report", label)
	}
	return m[1]
}

// A lead uploads a file on the staff screen and reads what became of each
// line in their language; the same file again changes nothing.
func TestClientImportScreen(t *testing.T) {
	in := secStart(t)
	owner := secOwner(t, in)
	lead, expert := secLogin(t, in, demo.LeadEmail), secLogin(t, in, demo.ExpertEmail)

	if r := lead.get("/staff/clients?lang=fi"); !strings.Contains(r.Body, `href="/staff/clients/import"`) {
		t.Error("the client list does not link a lead to the import")
	}
	if r := expert.get("/staff/clients?lang=fi"); strings.Contains(r.Body, `href="/staff/clients/import"`) {
		t.Error("the client list links an expert to the import")
	}
	if r := lead.get("/staff/clients/import?lang=fi"); r.Status != http.StatusOK || !strings.Contains(r.Body, "<code>service_point</code>") {
		t.Fatalf("GET the import form: %d", r.Status)
	}

	file := []byte("\uFEFFexternal_id;first_names;last_name;birth_date;language;service_point\r\n" +
		"IMP-1;Amina;Warsame;1.5.1994;so;demo\r\n" +
		"IMP-2;Olena;Koval;31.2.1980;uk;demo\r\n" +
		"IMP-3;Eve;=1+1;;en;demo\r\n")
	r := lead.upload("/staff/clients/import?lang=fi", lead.csrf, file)
	if r.Status != http.StatusOK {
		t.Fatalf("import: %d\n%s", r.Status, r.Body)
	}
	body := html.UnescapeString(r.Body)
	for label, want := range map[string]string{"Luettuja rivejä": "3", "Uusia asiakkaita": "1", "Ennallaan": "0", "Hylättyjä rivejä": "2"} {
		if got := importCount(t, body, label); got != want {
			t.Errorf("%s: %s, want %s", label, got, want)
		}
	}
	for _, want := range []string{"<p>Tuotu 0/1 riviä …</p><p>Tuotu 1/1 riviä …</p>", `<th scope="row">3</th>`, "Kirjoita päivämäärä muodossa 2001-12-31 tai 31.12.2001.",
		`<th scope="row">4</th>`, "Solu alkaa kuin taulukkolaskennan kaava (= + - @), eikä sitä tuoda."} {
		if !strings.Contains(body, want) {
			t.Errorf("the Finnish report lacks %q", want)
		}
	}

	// The import is in the access log: the client it created, by the lead.
	var logged int
	if err := owner.QueryRow(context.Background(), `SELECT count(*) FROM access_log a JOIN clients c ON c.id = a.subject_id
		WHERE a.subject_kind = 'client' AND c.external_id = 'IMP-1' AND a.action = 'create' AND a.result = 'ok'
		AND a.staff_id = (SELECT id FROM staff WHERE email = $1)`, demo.LeadEmail).Scan(&logged); err != nil || logged != 1 {
		t.Errorf("the import wrote %d access-log rows for the client it created, want 1 (%v)", logged, err)
	}

	r = lead.upload("/staff/clients/import?lang=sv", lead.csrf, file)
	body = html.UnescapeString(r.Body)
	if r.Status != http.StatusOK || !strings.Contains(body, "Resultat av importen") ||
		!strings.Contains(body, "Skriv datumet som 2001-12-31 eller 31.12.2001.") {
		t.Fatalf("the second import in Swedish: %d\n%s", r.Status, body)
	}
	for label, want := range map[string]string{"Nya klienter": "0", "Uppdaterade klienter": "0", "Oförändrade": "1", "Avvisade rader": "2"} {
		if got := importCount(t, body, label); got != want {
			t.Errorf("second import, %s: %s, want %s", label, got, want)
		}
	}
	count := func(ext string) int {
		var n int
		if err := owner.QueryRow(context.Background(), `SELECT count(*) FROM clients WHERE external_id = $1`, ext).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count("IMP-1"); n != 1 {
		t.Errorf("%d clients IMP-1 after two imports, want 1", n)
	}

	// The token travels in the multipart body like in any other form.
	if r := lead.upload("/staff/clients/import", "", []byte("external_id;language;service_point\nIMP-9;fi;demo\n")); r.Status != http.StatusForbidden {
		t.Errorf("an upload without the session's token: %d, want 403", r.Status)
	}
	if r := expert.upload("/staff/clients/import", expert.csrf, []byte("external_id;language;service_point\nIMP-9;fi;demo\n")); r.Status != http.StatusForbidden {
		t.Errorf("an expert's upload: %d, want 403", r.Status)
	}
	if n := count("IMP-9"); n != 0 {
		t.Errorf("refused uploads imported IMP-9")
	}
	r = lead.upload("/staff/clients/import?lang=fi", lead.csrf, []byte("external_id;langauge;service_point\n"))
	if body := html.UnescapeString(r.Body); r.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(body, "Tiedostossa on sarake ”langauge”, jota tuonti ei tunne.") {
		t.Errorf("a misspelt column: %d\n%s", r.Status, body)
	}
	// A file larger than a form but within the import's limit goes through.
	big := append([]byte("external_id;language;service_point;note\n"), bytes.Repeat([]byte("IMP-BIG;fi;demo;"+strings.Repeat("x", 60)+"\n"), 2000)...)
	if r := lead.upload("/staff/clients/import?lang=fi", lead.csrf, big); r.Status != http.StatusOK {
		t.Errorf("a %d KiB file: %d", len(big)>>10, r.Status)
	}
}

// A large file's page shows its progress while the import runs: the line
// after the first thousand clients arrives well before the report.
func TestClientImportStreamsProgress(t *testing.T) {
	in := secStart(t)
	lead := secLogin(t, in, demo.LeadEmail)
	var file bytes.Buffer
	file.WriteString("external_id;first_names;last_name;language;service_point\n")
	g := clientgen.New(3)
	for i := range 3000 {
		p := g.Next()
		fmt.Fprintf(&file, "STREAM-%d;%s;%s;%s;demo\n", i, p.FirstNames, p.LastName, p.Language)
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("_csrf", lead.csrf)
	part, _ := w.CreateFormFile("file", "large.csv")
	part.Write(file.Bytes())
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, in.URL+"/staff/clients/import?lang=en", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Origin", in.URL)
	for name, value := range lead.cookies {
		req.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	var page strings.Builder
	var firstChunk time.Time
	for {
		line, err := r.ReadString('>')
		page.WriteString(line)
		if firstChunk.IsZero() && strings.Contains(page.String(), "Imported 1000 of 3000 lines") {
			firstChunk = time.Now()
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	end := time.Now()
	if resp.StatusCode != http.StatusOK || !strings.Contains(page.String(), "<dt>New clients</dt><dd>3000</dd>") {
		t.Fatalf("%d\n%s", resp.StatusCode, page.String())
	}
	if firstChunk.IsZero() || end.Sub(firstChunk) < 100*time.Millisecond {
		t.Errorf("the first thousand's progress came %v before the end of the page", end.Sub(firstChunk))
	}
	t.Logf("progress after the first thousand, %v before the report", end.Sub(firstChunk).Round(time.Millisecond))
}

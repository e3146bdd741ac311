package i18n

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/koto-portal/portal/locales"
)

// localesCopy is the shipped locales folder, written out to be changed.
func localesCopy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	err := fs.WalkDir(locales.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, p), 0o755)
		}
		b, err := fs.ReadFile(locales.FS, p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, p), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func export(t *testing.T, dir, code string) xliffDoc {
	t.Helper()
	var b bytes.Buffer
	if err := Export(os.DirFS(dir), code, &b); err != nil {
		t.Fatal(err)
	}
	var doc xliffDoc
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("the export is not XLIFF: %v\n%.500s", err, b.String())
	}
	return doc
}

func importDoc(t *testing.T, dir string, doc xliffDoc, reviewer string) (ImportResult, error) {
	t.Helper()
	b, err := xml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return Import(dir, bytes.NewReader(b), reviewer, "2026-12-01")
}

// unit finds a unit of an exported document to change.
func unit(t *testing.T, doc *xliffDoc, id string) *xliffUnit {
	t.Helper()
	for i := range doc.Files {
		for j := range doc.Files[i].Units {
			if doc.Files[i].Units[j].ID == id {
				return &doc.Files[i].Units[j]
			}
		}
	}
	t.Fatalf("no unit %s", id)
	return nil
}

func readAll(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	names, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	more, _ := filepath.Glob(filepath.Join(dir, "status", "*.json"))
	for _, n := range append(names, more...) {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = string(b)
	}
	return out
}

// Exporting a language and importing the file untouched changes nothing,
// to the byte: the files a translator's tool writes back read as ours.
func TestExportImportRoundTrip(t *testing.T) {
	for _, code := range []string{"th", "ar", "fi-x-selko", "ru"} {
		dir := localesCopy(t)
		before := readAll(t, dir)
		doc := export(t, dir, code)
		if doc.TrgLang != code || len(doc.Files) == 0 {
			t.Fatalf("%s: export for %q with %d files", code, doc.TrgLang, len(doc.Files))
		}
		res, err := importDoc(t, dir, doc, "")
		if err != nil {
			t.Fatalf("%s: %v", code, err)
		}
		if res.Changed != 0 {
			t.Errorf("%s: an untouched file changed %d messages", code, res.Changed)
		}
		for name, text := range readAll(t, dir) {
			if before[name] != text {
				t.Errorf("%s: importing the untouched export rewrote %s", code, filepath.Base(name))
			}
		}
	}
}

// A Thai reviewer corrects one text and approves another: both are written,
// both are recorded as theirs, and the rest stays a draft.
func TestImportRecordsTheReview(t *testing.T) {
	dir := localesCopy(t)
	doc := export(t, dir, "th")
	for _, f := range doc.Files {
		for _, u := range f.Units {
			if strings.HasPrefix(u.ID, "queue.") {
				t.Fatalf("the staff's %s was exported for Thai", u.ID)
			}
		}
	}
	title := unit(t, &doc, "kiosk.title")
	title.Segments[0].Target, title.Segments[0].State = "รับบัตรคิวที่นี่", "reviewed"
	ahead := unit(t, &doc, "kiosk.ahead")
	if len(ahead.Segments) != 1 || ahead.Segments[0].ID != "other" {
		t.Fatalf("Thai has one plural form, the export gives %+v", ahead.Segments)
	}
	ahead.Segments[0].State = "final"
	if _, err := importDoc(t, dir, doc, ""); err == nil || !strings.Contains(err.Error(), "no reviewer") {
		t.Fatalf("a review without a reviewer was taken: %v", err)
	}
	res, err := importDoc(t, dir, doc, "Somchai Reviewer")
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed != 1 || res.Reviewed != 2 {
		t.Errorf("changed %d, reviewed %d; want 1 and 2", res.Changed, res.Reviewed)
	}
	c, err := Load(os.DirFS(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	th, _ := c.Lookup("th")
	if got := c.For(th).Get("kiosk.title"); got != "รับบัตรคิวที่นี่" {
		t.Errorf("the corrected text is %q", got)
	}
	reviewed := map[string]Status{}
	for _, s := range c.Status("th") {
		if s.Reviewed {
			reviewed[s.ID] = s
		}
	}
	if len(reviewed) != 2 || reviewed["kiosk.title"].By != "Somchai Reviewer" || reviewed["kiosk.ahead"].On != "2026-12-01" {
		t.Errorf("reviewed: %+v", reviewed)
	}
	if n := len(c.Drafts("th")); n != len(c.Status("th"))-2 {
		t.Errorf("%d drafts of %d", n, len(c.Status("th")))
	}

	// A later change to a reviewed text makes it a draft again.
	title.Segments[0].Target, title.Segments[0].State = "รับบัตรคิว", "translated"
	if _, err := importDoc(t, dir, doc, "Somchai Reviewer"); err != nil {
		t.Fatal(err)
	}
	c, _ = Load(os.DirFS(dir), nil)
	for _, s := range c.Drafts("th") {
		if s.ID == "kiosk.ahead" {
			t.Error("an untouched reviewed text became a draft")
		}
	}
	found := false
	for _, s := range c.Drafts("th") {
		found = found || s.ID == "kiosk.title"
	}
	if !found {
		t.Error("a changed text kept its review")
	}
}

// Import checks every text as the translation tests do, and one fault
// anywhere writes nothing.
func TestImportRefusesBrokenTexts(t *testing.T) {
	dir := localesCopy(t)
	before := readAll(t, dir)
	doc := export(t, dir, "ar")
	unit(t, &doc, "display.desk").Segments[0].Target = "مكتب {{.Nom}}"
	ahead := unit(t, &doc, "kiosk.ahead")
	ahead.Segments = ahead.Segments[:len(ahead.Segments)-1] // the last form, "other", gone
	// A blank target is a text not translated yet: left as it is.
	unit(t, &doc, "kiosk.done").Segments[0].Target = "   "
	unit(t, &doc, "kiosk.print").Segments[0].Target = "طباعة"
	doc.Files[0].Units = append(doc.Files[0].Units, xliffUnit{ID: "kiosk.nonsense", Segments: []xliffSegment{{Source: "x", Target: "y"}}})
	_, err := importDoc(t, dir, doc, "")
	var ie *ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("a broken file was taken: %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"placeholders of display.desk", "kiosk.ahead lacks the plural form other", "kiosk.nonsense: no such message"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the refusal does not say %q:\n%s", want, msg)
		}
	}
	for name, text := range readAll(t, dir) {
		if before[name] != text {
			t.Errorf("a refused import still wrote %s", filepath.Base(name))
		}
	}
}

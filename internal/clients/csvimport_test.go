package clients

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/clients/clientgen"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/locales"
)

// badFile has one good line and one of each kind of bad line, saved the
// way Finnish Excel saves: a byte-order mark, semicolons, CRLF, and a
// note over two lines that pushes the line numbers after it.
const badFile = "\uFEFFexternal_id;first_names;last_name;birth_date;language;phone;service_point;note\r\n" +
	"A1;Aino;Järvinen;3.2.1980;fi;+358 40 123 4567;SP;\"two\r\nlines\"\r\n" + // 2 (and 3)
	"A2;Bilal;Ahmed;31.2.1980;ar;;SP;\r\n" + // 4: no such day
	"A3;Olena;Koval;1980-02-03;xx;;SP;\r\n" + // 5: unknown language (the register's check)
	"A4;J\xe4rvi;Eero;;fi;;SP;\r\n" + // 6: Windows-1252, not UTF-8
	"A5;Eve;\"=HYPERLINK(\"\"http://x\"\")\";;fi;;SP;\r\n" + // 7: formula
	"A6;Tiina;Twice;;fi;;SP;\r\n" + // 8: duplicate id …
	"A6;Tiina;Twice;;fi;;SP;\r\n" + // 9: … both lines refused
	"A7;Too;Short\r\n" + // 10: wrong number of fields
	"A8;Note;Formula;;fi;;SP;@SUM(A1)\r\n" + // 11: formula in the note
	"A9;Ok;Too;;sv;;SP;\r\n" // 12

func TestDecodeCSVReportsEachBadLine(t *testing.T) {
	rows, err := DecodeCSV(strings.NewReader(badFile))
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]Problems{}
	for _, r := range rows {
		got[r.Line] = r.Problems
	}
	want := map[int]Problems{
		2:  {},
		4:  {"birth_date": "clients.import.error.date"},
		5:  {},
		6:  {"first_names": "clients.import.error.encoding"},
		7:  {"last_name": "clients.import.error.formula"},
		8:  {"external_id": "clients.import.error.external_id_twice"},
		9:  {"external_id": "clients.import.error.external_id_twice"},
		10: {LineProblem: "clients.import.error.field_count"},
		11: {"note": "clients.import.error.formula"},
		12: {},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("problems by line:\n got %v\nwant %v", got, want)
	}
	first := rows[0]
	if first.Input.Phone != "+358 40 123 4567" || first.Input.Note != "two\nlines" || first.Point != "SP" ||
		!first.Input.BirthDate.Equal(time.Date(1980, 2, 3, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("first line read as %+v", first)
	}
}

func TestDecodeCSVTakesCommasAndISODates(t *testing.T) {
	rows, err := DecodeCSV(strings.NewReader("Language,External_ID,Service_Point,Last_Name,Birth_Date\nfi,x1,1,Virtanen,2001-12-31\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || len(rows[0].Problems) != 0 || rows[0].Input.LastName != "Virtanen" || rows[0].Input.BirthDate.Year() != 2001 {
		t.Errorf("rows = %+v", rows)
	}
}

func TestDecodeCSVRefusesFilesWhole(t *testing.T) {
	header := "external_id;language;service_point\n"
	for name, tc := range map[string]struct {
		file   string
		want   string
		column string
	}{
		"empty":          {"", "clients.import.error.empty", ""},
		"unknown column": {"external_id;langauge;service_point\n", "clients.import.error.unknown_column", "langauge"},
		"twice":          {"external_id;language;language;service_point\n", "clients.import.error.repeated_column", "language"},
		"missing":        {"external_id;language\n", "clients.import.error.missing_column", "service_point"},
		"too large":      {header + strings.Repeat("x", MaxImportBytes), "clients.import.error.too_large", ""},
		"too many rows":  {header + strings.Repeat("x;fi;1\n", MaxImportRows+1), "clients.import.error.too_many_rows", ""},
		"not text":       {"\"a\nb", "clients.import.error.not_csv", ""},
	} {
		_, err := DecodeCSV(strings.NewReader(tc.file))
		var fe *FileError
		if !errors.As(err, &fe) || fe.Message != tc.want || fe.Column != tc.column {
			t.Errorf("%s: err = %v, want %s %s", name, err, tc.want, tc.column)
		}
	}
}

// importFile is n generated clients at service point sp, external ids
// prefix-1 … prefix-n.
func importFile(n int, prefix string, sp int64) []byte {
	var b bytes.Buffer
	b.WriteString("external_id;first_names;last_name;birth_date;language;interpreter_language;phone;service_point\r\n")
	g := clientgen.New(7)
	for i := 1; i <= n; i++ {
		p := g.Next()
		birth := ""
		if !p.BirthDate.IsZero() {
			birth = fmt.Sprintf("%d.%d.%d", p.BirthDate.Day(), p.BirthDate.Month(), p.BirthDate.Year())
		}
		fmt.Fprintf(&b, "%s-%d;%s;%s;%s;%s;%s;%s;%d\r\n", prefix, i, p.FirstNames, p.LastName, birth, p.Language,
			p.InterpreterLanguage, p.Phone, sp)
	}
	return b.Bytes()
}

func TestImportIsIdempotentAndReportsLines(t *testing.T) {
	f := newFixture(t)
	slug := fmt.Sprintf("import-%d", f.sp1)
	f.owner.Run(`UPDATE service_points SET slug = $2 WHERE id = $1`, f.sp1, slug)
	file := strings.ReplaceAll(badFile, ";SP;", ";"+slug+";")
	first, err := f.svc.Import(f.ctx, f.lead1, strings.NewReader(file), nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.Lines != 10 || first.Created != 2 || first.Updated != 0 || first.Unchanged != 0 || first.Invalid != 8 {
		t.Errorf("first import: %+v", first)
	}
	lines := map[int]string{}
	for _, p := range first.Problems {
		lines[p.Line] += p.Field + "=" + p.Message + " "
	}
	if lines[5] != "language=clients.error.language " || lines[6] != "first_names=clients.import.error.encoding " {
		t.Errorf("problems: %v", lines)
	}
	again, err := f.svc.Import(f.ctx, f.lead1, strings.NewReader(file), nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.Created != 0 || again.Updated != 0 || again.Unchanged != 2 || again.Invalid != 8 {
		t.Errorf("second import: %+v", again)
	}
	if n := f.owner.Count(`SELECT count(*) FROM clients WHERE municipality_id = $1 AND external_id IN ('A1', 'A9')`, f.tenant); n != 2 {
		t.Errorf("%d clients A1 and A9, want 2", n)
	}
	id := f.owner.ID(`SELECT id FROM clients WHERE external_id = 'A1' AND municipality_id = $1`, f.tenant)
	if n := f.logged(f.lead1, id, audit.ActionCreate, audit.ResultOK); n != 1 {
		t.Errorf("%d access-log rows of the creation, want 1", n)
	}
	changed := strings.Replace(file, "A9;Ok;Too", "A9;Ok;Changed", 1)
	third, err := f.svc.Import(f.ctx, f.lead1, strings.NewReader(changed), nil)
	if err != nil {
		t.Fatal(err)
	}
	if third.Updated != 1 || third.Unchanged != 1 || third.Created != 0 {
		t.Errorf("import with one line changed: %+v", third)
	}
}

func TestImportIsForLeadsAndAdminsAtTheirOwnPoints(t *testing.T) {
	f := newFixture(t)
	file := string(importFile(1, "P", f.sp2))
	if _, err := f.svc.Import(f.ctx, f.expert2, strings.NewReader(file), nil); !errors.Is(err, ErrForbidden) {
		t.Errorf("expert's import: %v", err)
	}
	rep, err := f.svc.Import(f.ctx, f.lead1, strings.NewReader(file), nil)
	if err != nil || rep.Invalid != 1 || rep.Problems[0].Message != "clients.import.error.service_point" {
		t.Errorf("lead of sp1 importing to sp2: %+v %v", rep, err)
	}
	if rep, err := f.svc.Import(f.ctx, f.admin, strings.NewReader(file), nil); err != nil || rep.Created != 1 {
		t.Errorf("admin's import: %+v %v", rep, err)
	}
}

// TestImportTenThousand measures the import of a large file: go test
// -count=1 -v -run '^TestImportTenThousand$' ./internal/clients/ logs the
// times of a first import and of the same file again. The times are
// logged, not held to a bound: on a shared machine they say more about
// the neighbours than about the import (the README has the figures).
func TestImportTenThousand(t *testing.T) {
	if testing.Short() {
		t.Skip("a measurement")
	}
	f := newFixture(t)
	file := importFile(10_000, "M", f.sp1)
	var chunks int
	start := time.Now()
	rep, err := f.svc.Import(f.ctx, f.admin, bytes.NewReader(file), func(done, total int) { chunks++ })
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created+rep.Invalid != 10_000 || rep.Invalid > 0 || chunks != 11 {
		t.Fatalf("report %+v (first problem %v), %d chunks", rep, rep.Problems[:min(1, len(rep.Problems))], chunks)
	}
	start = time.Now()
	again, err := f.svc.Import(f.ctx, f.admin, bytes.NewReader(file), nil)
	tookAgain := time.Since(start)
	if err != nil || again.Unchanged != 10_000 {
		t.Fatalf("second import: %+v %v", again, err)
	}
	t.Logf("10,000 rows (%d KiB): first import %v, again (all unchanged) %v", len(file)/1024, took.Round(time.Millisecond),
		tookAgain.Round(time.Millisecond))
}

// FuzzImportCSV feeds the decoder any bytes: it must not panic, every
// line it reports lies in the file, and a line it passes holds no
// formula cell and only valid UTF-8.
func FuzzImportCSV(f *testing.F) {
	f.Add([]byte(badFile))
	f.Add([]byte("external_id,language,service_point\nx,fi,1\n"))
	f.Add([]byte("external_id;language;service_point;note\n\"a\";fi;1;\"=1\"\"\n"))
	f.Add([]byte("\uFEFFexternal_id;language;service_point;phone\r\n1;fi;sp;+358 40 1\r\n2;fi;sp;-1\r\n"))
	f.Add([]byte("external_id;language;service_point\n\xff;fi;1\n;;\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := DecodeCSV(bytes.NewReader(data))
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FileError", err)
			}
			return
		}
		lines := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) + 1
		for _, r := range rows {
			if r.Line < 2 || r.Line > lines {
				t.Fatalf("line %d of a file of at most %d lines", r.Line, lines)
			}
			if len(r.Problems) > 0 {
				continue
			}
			in := r.Input
			for _, v := range []string{in.ExternalID, in.FirstNames, in.LastName, in.NativeName, in.Language,
				in.InterpreterLanguage, in.Email, in.Note, in.IdentityCode, r.Point} {
				if !utf8.ValidString(v) || isFormula("", v) {
					t.Fatalf("line %d passed with cell %q", r.Line, v)
				}
			}
		}
	})
}

// Every message the import reports exists in every staff language, so a
// report never shows a message id.
func TestImportMessagesAreWritten(t *testing.T) {
	src, err := os.ReadFile("csvimport.go")
	if err != nil {
		t.Fatal(err)
	}
	ids := regexp.MustCompile(`"(clients\.import\.error\.[a-z_]+)"`).FindAllSubmatch(src, -1)
	if len(ids) < 10 {
		t.Fatalf("found only %d message ids in csvimport.go", len(ids))
	}
	for _, l := range i18n.StaffLanguages() {
		raw, err := locales.FS.ReadFile("clients." + l.Code + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var messages map[string]string
		if err := json.Unmarshal(raw, &messages); err != nil {
			t.Fatal(err)
		}
		for _, m := range ids {
			if messages[string(m[1])] == "" {
				t.Errorf("%s: no text for %s", l.Code, m[1])
			}
		}
	}
}

package clients

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/sheet"
	"github.com/koto-portal/portal/internal/sqldb"
)

// The CSV import brings clients over from a municipality's own system as
// a spreadsheet saves them. A file is at most MaxImportBytes and
// MaxImportRows lines of data: a municipality's whole register fits, and
// a mistaken upload of something else is refused before it costs memory.
const (
	MaxImportRows  = 50_000
	MaxImportBytes = 10 << 20
)

// ImportColumns are the columns a file may have, named in its first line
// in any order; the names are the register's field names, so a problem is
// reported under the column it came from.
var ImportColumns = []string{"external_id", "first_names", "last_name", "native_name", "birth_date", "identity_code",
	"language", "interpreter_language", "phone", "email", "service_point", "note"}

// ImportRequiredColumns cannot be left out: the external id is the key
// that makes a second import an update, and every client has a language
// and a service point.
var ImportRequiredColumns = []string{"external_id", "language", "service_point"}

// ImportOptionalColumns are the columns a file may leave out.
func ImportOptionalColumns() []string {
	return slices.DeleteFunc(slices.Clone(ImportColumns), func(c string) bool { return slices.Contains(ImportRequiredColumns, c) })
}

// FileError is a file the import refuses whole, before anything is
// written: not CSV, too large, or a first line that does not name the
// columns.
type FileError struct {
	Message string // message id; it may name {{.Column}}
	Column  string
}

func (e *FileError) Error() string {
	return "clients: import file refused: " + e.Message + " " + e.Column
}

// LineProblem is the field that names a whole line's problem (the wrong
// number of fields, broken quoting) rather than one column's.
const LineProblem = "line"

// CSVRow is one line of data of an import file.
type CSVRow struct {
	Line     int // in the file, the column names being line 1
	Input    Input
	Point    string   // the service_point cell: a slug or an id, resolved by ImportRows
	Problems Problems // what the file itself shows wrong, before the register's checks
}

// finnish reads the dates of a file: ISO (2001-02-03) and the way Finnish
// Excel writes them (3.2.2001), by the same rules as the staff forms.
var finnish = i18n.Languages[slices.IndexFunc(i18n.Languages, func(l i18n.Language) bool { return l.Code == "fi" })]

// DecodeCSV reads an import file: UTF-8 with or without a byte-order mark,
// separated by semicolons (Finnish and Swedish Excel) or commas, as the
// first line shows. Each line of data becomes a row with the problems the
// file shows: bytes that are not UTF-8 (a file saved in another
// encoding), the wrong number of fields, a cell a spreadsheet would run as
// a formula (refused, never stored: the register's texts end up in other
// files), a date that is neither ISO nor d.m.yyyy, and an external id on
// more than one line (every such line is refused, since which of them is
// right only the file's owner knows). The register's own checks come
// later, in ImportRows.
func DecodeCSV(r io.Reader) ([]CSVRow, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxImportBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxImportBytes {
		return nil, &FileError{Message: "clients.import.error.too_large"}
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = separator(data)
	cr.FieldsPerRecord = -1 // a short line is that line's problem, not the file's
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &FileError{Message: "clients.import.error.empty"}
	}
	if err != nil {
		return nil, &FileError{Message: "clients.import.error.not_csv"}
	}
	columns, err := readHeader(header)
	if err != nil {
		return nil, err
	}
	var rows []CSVRow
	byID := map[string][]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if len(rows) == MaxImportRows {
			return nil, &FileError{Message: "clients.import.error.too_many_rows"}
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			rows = append(rows, CSVRow{Line: pe.StartLine, Problems: Problems{LineProblem: "clients.import.error.quotes"}})
			continue
		} else if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		row := decodeLine(line, rec, columns)
		if id := strings.TrimSpace(row.Input.ExternalID); id != "" {
			byID[id] = append(byID[id], len(rows))
		}
		rows = append(rows, row)
	}
	for _, lines := range byID {
		if len(lines) < 2 {
			continue
		}
		for _, i := range lines {
			rows[i].Problems["external_id"] = "clients.import.error.external_id_twice"
		}
	}
	return rows, nil
}

// separator is the semicolon when the first line has more of them than
// commas: column names hold neither.
func separator(data []byte) rune {
	first, _, _ := bytes.Cut(data, []byte("\n"))
	if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		return ';'
	}
	return ','
}

// readHeader maps the first line's columns to their places; a column not
// known, named twice or missing refuses the file, so that a misspelt
// "langauge" does not leave every client without a language unnoticed.
func readHeader(header []string) ([]string, error) {
	columns := make([]string, len(header))
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		switch {
		case !utf8.ValidString(name):
			return nil, &FileError{Message: "clients.import.error.encoding_header"}
		case !slices.Contains(ImportColumns, name):
			return nil, &FileError{Message: "clients.import.error.unknown_column", Column: name}
		case slices.Contains(columns[:i], name):
			return nil, &FileError{Message: "clients.import.error.repeated_column", Column: name}
		}
		columns[i] = name
	}
	for _, name := range ImportRequiredColumns {
		if !slices.Contains(columns, name) {
			return nil, &FileError{Message: "clients.import.error.missing_column", Column: name}
		}
	}
	return columns, nil
}

// decodeLine reads one line of data into a row.
func decodeLine(line int, rec, columns []string) CSVRow {
	row := CSVRow{Line: line, Problems: Problems{}}
	if len(rec) != len(columns) {
		row.Problems[LineProblem] = "clients.import.error.field_count"
		return row
	}
	in := &row.Input
	// The text columns go to their fields as they are: Check cleans them.
	texts := map[string]*string{"external_id": &in.ExternalID, "first_names": &in.FirstNames, "last_name": &in.LastName,
		"native_name": &in.NativeName, "identity_code": &in.IdentityCode, "language": &in.Language,
		"interpreter_language": &in.InterpreterLanguage, "phone": &in.Phone, "email": &in.Email, "note": &in.Note,
		"service_point": &row.Point}
	for i, v := range rec {
		col := columns[i]
		switch {
		case !utf8.ValidString(v):
			row.Problems[col] = "clients.import.error.encoding"
		case isFormula(col, v):
			row.Problems[col] = "clients.import.error.formula"
		case col == "birth_date" && strings.TrimSpace(v) != "":
			d, ok := finnish.ParseDate(v, time.UTC)
			if !ok {
				row.Problems[col] = "clients.import.error.date"
			}
			in.BirthDate = d
		case texts[col] != nil:
			*texts[col] = v
		}
	}
	row.Point = strings.TrimSpace(row.Point)
	return row
}

// isFormula tells a cell a spreadsheet would run. A phone number in the
// international form (+358 …) starts like a formula but holds nothing a
// spreadsheet could run, and registers write them that way.
func isFormula(col, v string) bool {
	if col == "phone" && phoneChars.MatchString(strings.TrimSpace(v)) {
		return false
	}
	return sheet.IsFormula(v) || sheet.IsFormula(strings.TrimSpace(v))
}

// ImportReport is what became of an import file.
type ImportReport struct {
	Lines                                int // lines of data read
	Created, Updated, Unchanged, Invalid int
	Problems                             []ImportProblem // in the order of the file
}

// ImportProblem is one problem of a refused line.
type ImportProblem struct {
	Line       int
	ExternalID string
	Field      string // a column, or LineProblem
	Message    string // message id
}

// Import reads a CSV file (see DecodeCSV) and imports its lines (see
// ImportRows).
func (s *Service) Import(ctx context.Context, actor auth.Principal, r io.Reader, progress func(done, total int)) (ImportReport, error) {
	rows, err := DecodeCSV(r)
	if err != nil {
		return ImportReport{}, err
	}
	return s.ImportRows(ctx, actor, rows, progress)
}

// ImportRows brings the good lines of a decoded file into the register
// through Upsert, MaxUpsert lines a transaction, keyed by the external id:
// a second import of the same file changes nothing, and one with changed
// lines updates those clients only. A bad line is reported with its line
// number and skipped; it never stops the rest. The service_point column
// holds a service point's slug or id, one the actor works at. Leads and
// admins import (the API's keys have the transfer); each client created
// or changed is in the access log. progress, when not nil, hears after
// each transaction how many of the good lines are done. A failure of the
// database stops the import with the transactions before it kept: the
// same file again finishes it.
func (s *Service) ImportRows(ctx context.Context, actor auth.Principal, rows []CSVRow, progress func(done, total int)) (ImportReport, error) {
	var points []org.ServicePoint
	err := s.inTenant(ctx, actor, func(tx sqldb.Tx) error {
		if err := auth.Authorize(ctx, tx, actor, actor.IsLeadAnywhere() || actor.IsAdmin()); err != nil {
			return err
		}
		var err error
		points, err = workPlaces(ctx, tx, actor)
		return err
	})
	if err != nil {
		return ImportReport{}, err
	}
	now := s.now()
	var good []int
	for i := range rows {
		row := &rows[i]
		if row.Problems[LineProblem] != "" {
			continue // the line could not be read into fields at all
		}
		if row.Point != "" {
			if row.Input.ServicePointID = pointOf(points, row.Point); row.Input.ServicePointID == 0 {
				row.Problems["service_point"] = "clients.import.error.service_point"
			}
		}
		if len(row.Problems) == 0 {
			good = append(good, i)
			continue
		}
		// Everything else wrong with the line too, so that it is mended
		// in one go; the file's own finding on a field comes first.
		checked := row.Input
		for field, msg := range checked.Check(now) {
			if _, found := row.Problems[field]; !found && !(field == "service_point" && row.Point != "") {
				row.Problems[field] = msg
			}
		}
	}
	results := make(map[int]UpsertResult, len(good))
	if progress != nil {
		progress(0, len(good))
	}
	for start := 0; start < len(good); start += MaxUpsert {
		chunk := good[start:min(start+MaxUpsert, len(good))]
		in := make([]Input, len(chunk))
		for j, i := range chunk {
			in[j] = rows[i].Input
		}
		res, err := s.Upsert(ctx, actor, in)
		if err != nil {
			return ImportReport{}, err
		}
		for j, i := range chunk {
			results[i] = res[j]
		}
		if progress != nil {
			progress(start+len(chunk), len(good))
		}
	}
	rep := ImportReport{Lines: len(rows)}
	for i, row := range rows {
		res, done := results[i]
		if done && res.Outcome != Invalid {
			switch res.Outcome {
			case Created:
				rep.Created++
			case Updated:
				rep.Updated++
			case Unchanged:
				rep.Unchanged++
			}
			continue
		}
		problems := row.Problems
		if done {
			problems = res.Problems
		}
		rep.Invalid++
		fields := make([]string, 0, len(problems))
		for f := range problems {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		for _, f := range fields {
			rep.Problems = append(rep.Problems, ImportProblem{Line: row.Line, ExternalID: strings.TrimSpace(row.Input.ExternalID),
				Field: f, Message: problems[f]})
		}
	}
	return rep, nil
}

// pointOf finds the service point a cell names by slug or id among
// points (0: none of them).
func pointOf(points []org.ServicePoint, cell string) int64 {
	id, _ := strconv.ParseInt(cell, 10, 64)
	for _, sp := range points {
		if sp.ID == id || strings.EqualFold(sp.Slug, cell) {
			return sp.ID
		}
	}
	return 0
}

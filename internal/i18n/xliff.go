package i18n

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// A translator works in XLIFF 2.0, the OASIS exchange format translation
// tools read: one <file> per message area, one <unit> per message, its
// English <source> and the language's <target>. A plural message is one unit
// with a segment per plural form the language has (its id names the form),
// so a translator writes exactly the forms CLDR gives the language. A
// segment's state says how far it got: "initial" (no text yet),
// "translated" (a draft) or "reviewed"/"final" (read by someone who knows
// the language); importing a reviewed segment records who read it and when.

type xliffDoc struct {
	XMLName xml.Name    `xml:"urn:oasis:names:tc:xliff:document:2.0 xliff"`
	Version string      `xml:"version,attr"`
	SrcLang string      `xml:"srcLang,attr"`
	TrgLang string      `xml:"trgLang,attr"`
	Files   []xliffFile `xml:"file"`
}

type xliffFile struct {
	ID    string      `xml:"id,attr"`
	Units []xliffUnit `xml:"unit"`
}

type xliffUnit struct {
	ID       string         `xml:"id,attr"`
	Notes    *xliffNotes    `xml:"notes,omitempty"` // XLIFF allows no empty <notes>
	Segments []xliffSegment `xml:"segment"`
}

type xliffNotes struct {
	Notes []xliffNote `xml:"note"`
}

type xliffNote struct {
	Category string `xml:"category,attr,omitempty"`
	Text     string `xml:",chardata"`
}

type xliffSegment struct {
	ID     string `xml:"id,attr,omitempty"`
	State  string `xml:"state,attr,omitempty"`
	Source string `xml:"source"`
	Target string `xml:"target"`
}

// exported lists the English messages a language's file carries: all of
// them for a language the staff pages are written in, else the visitors'.
func exported(l Language, en map[string]Message) []string {
	var ids []string
	for id, m := range en {
		if l.Staff || ForVisitors(m.Area, id) {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool {
		if en[ids[i]].Area != en[ids[j]].Area {
			return en[ids[i]].Area < en[ids[j]].Area
		}
		return ids[i] < ids[j]
	})
	return ids
}

// Export writes an XLIFF 2.0 file of language code's messages from the
// message files in fsys, for a translator.
func Export(fsys fs.FS, code string, w io.Writer) error {
	l, ok := lookup(code)
	if !ok || IsSource(l.Code) {
		return fmt.Errorf("no translated language %q", code)
	}
	en, err := readMessages(fsys, "en")
	if err != nil {
		return err
	}
	have, err := readMessages(fsys, l.Code)
	if err != nil {
		return err
	}
	sf, err := readStatus(fsys, l.Code)
	if err != nil {
		return err
	}
	doc := xliffDoc{Version: "2.0", SrcLang: "en", TrgLang: l.Code}
	plurals := PluralForms(l.Code)
	files := map[string]int{}
	for _, id := range exported(l, en) {
		area := en[id].Area
		i, ok := files[area]
		if !ok {
			i = len(doc.Files)
			files[area] = i
			doc.Files = append(doc.Files, xliffFile{ID: area})
		}
		state := "initial"
		if m, ok := have[id]; ok {
			state = "translated"
			if r, ok := sf.Reviewed[id]; ok && sameText(r.Text, m.Value) {
				state = "reviewed"
			}
		}
		u := xliffUnit{ID: id}
		var notes []xliffNote
		if ph := placeholdersOf(id, en[id].Value); len(ph) > 0 || len(OptionalPlaceholders[id]) > 0 {
			note := "Keep the placeholders as they are: {{." + strings.Join(ph, "}}, {{.") + "}}."
			if len(ph) == 0 {
				note = ""
			}
			for _, o := range OptionalPlaceholders[id] {
				note = strings.TrimSpace(note + " {{." + o + "}} may be placed where the language wants it, or left out.")
			}
			notes = append(notes, xliffNote{Category: "placeholders", Text: note})
		}
		var enText string
		if json.Unmarshal(en[id].Value, &enText) == nil {
			var target string
			if m, ok := have[id]; ok {
				_ = json.Unmarshal(m.Value, &target)
			}
			u.Segments = []xliffSegment{{State: state, Source: enText, Target: target}}
		} else {
			var enForms, forms map[string]string
			_ = json.Unmarshal(en[id].Value, &enForms)
			if m, ok := have[id]; ok {
				_ = json.Unmarshal(m.Value, &forms)
			}
			notes = append(notes, xliffNote{Category: "plural", Text: "One segment per plural form of " + l.Code + " (CLDR): " +
				strings.Join(plurals, ", ") + ". {{.Count}} is the number."})
			for _, f := range plurals {
				src := enForms[f]
				if src == "" {
					src = enForms["other"]
				}
				u.Segments = append(u.Segments, xliffSegment{ID: f, State: state, Source: src, Target: forms[f]})
			}
		}
		if len(notes) > 0 {
			u.Notes = &xliffNotes{Notes: notes}
		}
		doc.Files[i].Units = append(doc.Files[i].Units, u)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

// ImportResult tells what an import changed.
type ImportResult struct {
	Lang               string
	Changed, Reviewed  int
	Files              []string // written, relative to the locales folder
	UnchangedMessages  int
	SkippedWithoutText int
}

// ImportError lists every problem of an imported file; nothing was written.
type ImportError struct{ Problems []string }

func (e *ImportError) Error() string {
	return "the file was not imported:\n  " + strings.Join(e.Problems, "\n  ")
}

// Import reads a translator's XLIFF 2.0 file back into the message files
// and the review status in dir (the locales folder). Every text is checked
// first, as the translation tests check them (placeholders as English has
// them, every plural form of the language, no empty text), and one problem
// anywhere writes nothing. Segments marked reviewed or final are recorded
// as read by reviewer on day (yyyy-mm-dd).
func Import(dir string, r io.Reader, reviewer, day string) (ImportResult, error) {
	var doc xliffDoc
	if err := xml.NewDecoder(r).Decode(&doc); err != nil {
		return ImportResult{}, fmt.Errorf("not an XLIFF 2.0 file: %w", err)
	}
	if doc.Version != "2.0" || doc.SrcLang != "en" {
		return ImportResult{}, fmt.Errorf("want XLIFF version 2.0 from English, got version %q from %q", doc.Version, doc.SrcLang)
	}
	l, ok := lookup(doc.TrgLang)
	if !ok || IsSource(l.Code) {
		return ImportResult{}, fmt.Errorf("the file translates into %q, which is not a translated language of the portal", doc.TrgLang)
	}
	fsys := os.DirFS(dir)
	en, err := readMessages(fsys, "en")
	if err != nil {
		return ImportResult{}, err
	}
	have, err := readMessages(fsys, l.Code)
	if err != nil {
		return ImportResult{}, err
	}
	sf, err := readStatus(fsys, l.Code)
	if err != nil {
		return ImportResult{}, err
	}
	if sf.Reviewed == nil {
		sf.Reviewed = map[string]Review{}
	}
	res := ImportResult{Lang: l.Code}
	var problems []string
	updates := map[string]json.RawMessage{}
	reviewed := map[string]bool{}
	for _, f := range doc.Files {
		for _, u := range f.Units {
			m, ok := en[u.ID]
			switch {
			case !ok:
				problems = append(problems, u.ID+": no such message")
				continue
			case !l.Staff && !ForVisitors(m.Area, u.ID):
				problems = append(problems, u.ID+": a staff message, and the staff pages are not written in "+l.Code)
				continue
			}
			value, empty, isReviewed, err := unitValue(u, m.Value)
			if err != nil {
				problems = append(problems, u.ID+": "+err.Error())
				continue
			}
			if empty {
				res.SkippedWithoutText++
				continue
			}
			if isReviewed && strings.TrimSpace(reviewer) == "" {
				problems = append(problems, u.ID+": marked reviewed, but no reviewer was named")
			}
			problems = append(problems, checkValue(l.Code, u.ID, m.Value, value)...)
			if old, ok := have[u.ID]; ok && sameText(old.Value, value) {
				res.UnchangedMessages++
			} else {
				updates[u.ID] = value
			}
			reviewed[u.ID] = isReviewed
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return res, &ImportError{Problems: problems}
	}

	byArea := map[string][]string{}
	for id := range updates {
		byArea[en[id].Area] = append(byArea[en[id].Area], id)
	}
	for area, ids := range byArea {
		name := area + "." + l.Code + ".json"
		if err := updateMessageFile(filepath.Join(dir, name), area, ids, updates); err != nil {
			return res, err
		}
		res.Files = append(res.Files, name)
		res.Changed += len(ids)
	}
	for id, isReviewed := range reviewed {
		value := updates[id]
		if value == nil {
			value = have[id].Value
		}
		switch {
		case isReviewed:
			sf.Reviewed[id] = Review{By: reviewer, On: day, Text: value}
			res.Reviewed++
		case updates[id] != nil:
			// A new wording nobody has read yet.
			delete(sf.Reviewed, id)
		}
	}
	if err := writeStatus(filepath.Join(dir, statusPath(l.Code)), sf); err != nil {
		return res, err
	}
	res.Files = append(res.Files, statusPath(l.Code))
	sort.Strings(res.Files)
	return res, nil
}

// unitValue is a unit's translation as a message value: a text, or the
// plural forms by segment id.
func unitValue(u xliffUnit, en json.RawMessage) (value json.RawMessage, empty, reviewed bool, err error) {
	if len(u.Segments) == 0 {
		return nil, false, false, errors.New("no segment")
	}
	reviewed, empty = true, true
	for _, s := range u.Segments {
		if s.State != "reviewed" && s.State != "final" {
			reviewed = false
		}
		if strings.TrimSpace(s.Target) != "" {
			empty = false
		}
	}
	if en[0] == '"' {
		if len(u.Segments) != 1 {
			return nil, false, false, errors.New("a text, not plural forms, was expected")
		}
		value, err = marshalText(u.Segments[0].Target)
		return value, empty, reviewed, err
	}
	forms := map[string]string{}
	for _, s := range u.Segments {
		if !slices.Contains(pluralOrder, s.ID) {
			return nil, false, false, fmt.Errorf("segment %q names no plural form", s.ID)
		}
		forms[s.ID] = s.Target
	}
	value, err = marshalText(forms)
	return value, empty, reviewed, err
}

// marshalText writes JSON as the message files have it: characters as
// they are, not escaped.
func marshalText(v any) (json.RawMessage, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSpace(b.Bytes()), nil
}

// updateMessageFile sets ids to their new values in one message file,
// keeping the order of what is there and adding new messages in English's
// order.
func updateMessageFile(path, area string, ids []string, updates map[string]json.RawMessage) error {
	order, values, err := readOrdered(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	enOrder, _, err := readOrdered(filepath.Join(filepath.Dir(path), area+".en.json"))
	if err != nil {
		return err
	}
	if values == nil {
		values = map[string]json.RawMessage{}
	}
	for _, id := range enOrder {
		if _, ok := updates[id]; ok && values[id] == nil {
			order = append(order, id)
		}
	}
	for _, id := range ids {
		values[id] = updates[id]
	}
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, id := range order {
		key, _ := marshalText(id)
		fmt.Fprintf(&b, "  %s: %s", key, indentForms(values[id]))
		if i < len(order)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// indentForms lays plural forms out one a line, in CLDR's order, as the
// message files have them.
func indentForms(v json.RawMessage) string {
	var forms map[string]string
	if json.Unmarshal(v, &forms) != nil {
		var s string
		_ = json.Unmarshal(v, &s)
		out, _ := marshalText(s)
		return string(out)
	}
	var lines []string
	for _, f := range pluralOrder {
		if t, ok := forms[f]; ok {
			k, _ := marshalText(f)
			val, _ := marshalText(t)
			lines = append(lines, "    "+string(k)+": "+string(val))
		}
	}
	return "{\n" + strings.Join(lines, ",\n") + "\n  }"
}

// readOrdered reads a message file's ids in the order the file has them,
// and their values.
func readOrdered(path string) ([]string, map[string]json.RawMessage, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	var order []string
	values := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		order = append(order, tok.(string))
		values[tok.(string)] = v
	}
	return order, values, nil
}

func writeStatus(path string, sf StatusFile) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if sf.Reviewed == nil {
		sf.Reviewed = map[string]Review{}
	}
	if err := enc.Encode(sf); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

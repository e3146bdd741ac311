package i18n

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
)

// The texts of Finnish, Swedish and English are the portal's own: every
// other language is a translation of them, and a translation is a draft
// until a person who knows the language has read it. Who read which message,
// and when, is kept beside the messages in locales/status/<code>.json, a
// file a translator can edit by hand or that `portal translations import`
// fills in:
//
//	{
//	  "reviewed": {
//	    "kiosk.title": {"by": "Name Surname", "on": "2026-12-01", "text": "…the text as read…"}
//	  }
//	}
//
// The text is kept as it was read: when the message changes afterwards, it
// is a draft again until someone reads the new text.

// sourceLanguages are written by the portal's own people, not translated.
var sourceLanguages = []string{"fi", "sv", "en"}

// IsSource tells a language whose texts are originals, not translations.
func IsSource(code string) bool { return slices.Contains(sourceLanguages, code) }

// staffAreas are the message files only staff pages use; staffPrefixes are
// the staff's messages inside other files (the staff pages' navigation
// among them, except the skip link every page has). Every other message is
// seen by visitors or clients and must be in every language: a new area is
// for visitors until it is named here.
var (
	staffAreas    = []string{"setup", "staff", "account", "visits", "tasks", "api", "clients", "signin", "translations", "messages"}
	staffPrefixes = []string{"queue.", "appt.", "nav.", "enrol.create", "enrol.revoke", "enrol.heading"}
	visitorIDs    = []string{"nav.skip"}
)

// ForVisitors tells whether the message id of area is seen by visitors or
// clients (and so must exist in every language), not by staff alone.
func ForVisitors(area, id string) bool {
	if slices.Contains(visitorIDs, id) {
		return true
	}
	if slices.Contains(staffAreas, area) {
		return false
	}
	for _, p := range staffPrefixes {
		if strings.HasPrefix(id, p) {
			return false
		}
	}
	return true
}

// Review is one message's reading by a person who knows the language.
type Review struct {
	By   string          `json:"by"`
	On   string          `json:"on"`   // yyyy-mm-dd
	Text json.RawMessage `json:"text"` // the message as it was read
}

// StatusFile is the content of locales/status/<code>.json.
type StatusFile struct {
	Reviewed map[string]Review `json:"reviewed"`
}

// Status is the state of one message of one language.
type Status struct {
	ID, Area string
	Text     string // as the page shows it; plural forms joined by " | "
	Reviewed bool
	By, On   string // who read it and when, for a reviewed message
}

// Message is one message as written in its file.
type Message struct {
	Area  string
	Value json.RawMessage // a string, or the plural forms
}

// readMessages reads every message file of one language, keyed by id; an
// id in two files is an error (go-i18n would take one of them silently).
func readMessages(fsys fs.FS, code string) (map[string]Message, error) {
	names, err := fs.Glob(fsys, "*."+code+".json")
	if err != nil {
		return nil, err
	}
	out := map[string]Message{}
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("locales: %s: %w", name, err)
		}
		area := strings.TrimSuffix(name, "."+code+".json")
		for id, v := range m {
			if prev, dup := out[id]; dup {
				return nil, fmt.Errorf("locales: %s is in both %s and %s", id, prev.Area, area)
			}
			out[id] = Message{Area: area, Value: v}
		}
	}
	return out, nil
}

func statusPath(code string) string { return path.Join("status", code+".json") }

func readStatus(fsys fs.FS, code string) (StatusFile, error) {
	var sf StatusFile
	b, err := fs.ReadFile(fsys, statusPath(code))
	if err != nil {
		if IsSource(code) {
			return sf, nil
		}
		return sf, fmt.Errorf("locales: %s: %w", statusPath(code), err)
	}
	if err := json.Unmarshal(b, &sf); err != nil {
		return sf, fmt.Errorf("locales: %s: %w", statusPath(code), err)
	}
	return sf, nil
}

// sameText compares two message values whatever their spacing and the
// order of their plural forms.
func sameText(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}

// display writes a message value as one line of text.
func display(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var forms map[string]string
	_ = json.Unmarshal(v, &forms)
	var out []string
	for _, f := range pluralOrder {
		if t, ok := forms[f]; ok {
			out = append(out, f+": "+t)
		}
	}
	return strings.Join(out, " | ")
}

var pluralOrder = []string{"zero", "one", "two", "few", "many", "other"}

// loadStatus reads every translation's review status against its messages.
func loadStatus(fsys fs.FS) (map[string][]Status, error) {
	out := map[string][]Status{}
	for _, l := range Languages {
		if IsSource(l.Code) {
			continue
		}
		msgs, err := readMessages(fsys, l.Code)
		if err != nil {
			return nil, err
		}
		sf, err := readStatus(fsys, l.Code)
		if err != nil {
			return nil, err
		}
		for id := range sf.Reviewed {
			if _, ok := msgs[id]; !ok {
				return nil, fmt.Errorf("locales: %s marks %s reviewed, but there is no such message", statusPath(l.Code), id)
			}
		}
		list := make([]Status, 0, len(msgs))
		for id, m := range msgs {
			st := Status{ID: id, Area: m.Area, Text: display(m.Value)}
			if r, ok := sf.Reviewed[id]; ok && sameText(r.Text, m.Value) {
				st.Reviewed, st.By, st.On = true, r.By, r.On
			}
			list = append(list, st)
		}
		sort.Slice(list, func(i, j int) bool {
			if list[i].Area != list[j].Area {
				return list[i].Area < list[j].Area
			}
			return list[i].ID < list[j].ID
		})
		out[l.Code] = list
	}
	return out, nil
}

// Status lists the messages of a translated language with their review
// state, by area and id; a source language gives nothing.
func (c *Catalog) Status(code string) []Status { return c.status[code] }

// Drafts lists the messages of a translated language nobody has reviewed
// in their present wording.
func (c *Catalog) Drafts(code string) []Status {
	var out []Status
	for _, s := range c.status[code] {
		if !s.Reviewed {
			out = append(out, s)
		}
	}
	return out
}

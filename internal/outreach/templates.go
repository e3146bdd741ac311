package outreach

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Limits of templates and messages: a push notification shows a few lines,
// and a longer text would be cut on the lock screen.
const (
	MaxTemplateName = 100
	MaxMessage      = 500
)

// Placeholders are the words a template or a written message may put in
// braces; each is filled in for the client the message goes to, the last
// three from their next appointment.
var Placeholders = []string{"first_name", "date", "time", "place"}

// Invalid is a template or a message that cannot be saved: the field (name,
// text_<language>, text, template, at) and the message id of its problem,
// shown beside the field in the reader's language.
type Invalid map[string]string

func (e Invalid) Error() string {
	fields := make([]string, 0, len(e))
	for f := range e {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	return "outreach: invalid " + strings.Join(fields, ", ")
}

// Problems of a text's placeholders, as message ids.
const (
	ProblemUnknownPlaceholder   = "messages.placeholder_unknown"
	ProblemMalformedPlaceholder = "messages.placeholder_malformed"
	ProblemNameTaken            = "messages.name_taken"
	ProblemNeedsAppointment     = "messages.needs_appointment"
)

// CheckText finds the first problem of a text's placeholders: a brace
// without its pair, braces inside braces or nothing between them
// (malformed), or a word in braces that is not a placeholder (unknown). It
// returns "" when every placeholder is one of Placeholders.
func CheckText(text string) string {
	for rest := text; rest != ""; {
		open, closing := strings.IndexByte(rest, '{'), strings.IndexByte(rest, '}')
		switch {
		case open < 0 && closing < 0:
			return ""
		case open < 0 || closing >= 0 && closing < open:
			return ProblemMalformedPlaceholder
		}
		end := strings.IndexByte(rest[open+1:], '}')
		if end < 0 {
			return ProblemMalformedPlaceholder
		}
		word := rest[open+1 : open+1+end]
		if word == "" || strings.ContainsRune(word, '{') {
			return ProblemMalformedPlaceholder
		}
		if !isPlaceholder(word) {
			return ProblemUnknownPlaceholder
		}
		rest = rest[open+1+end+1:]
	}
	return ""
}

func isPlaceholder(word string) bool {
	for _, p := range Placeholders {
		if word == p {
			return true
		}
	}
	return false
}

// usesAppointment tells a text that speaks of the next appointment.
func usesAppointment(text string) bool {
	return strings.Contains(text, "{date}") || strings.Contains(text, "{time}") || strings.Contains(text, "{place}")
}

// Fill is what a message's placeholders are filled with for one client.
type Fill struct {
	FirstName string
	At        time.Time // the next appointment, in its service point's zone; zero when none
	Place     string    // its place in the message's language
}

// Render fills a checked text's placeholders for one client in lang: the
// date and time as lang writes them. Without an appointment (cancelled
// after the message was written) they are left empty rather than shown
// in braces.
func Render(text string, lang i18n.Language, f Fill) string {
	date, clock := "", ""
	if !f.At.IsZero() {
		date, clock = lang.FormatDate(f.At), lang.FormatTime(f.At)
	}
	return strings.NewReplacer("{first_name}", f.FirstName, "{date}", date, "{time}", clock, "{place}", f.Place).Replace(text)
}

// PickText is the text of texts for lang: its own, its plain language's
// base, or Finnish, which every template has. It returns the language of
// the text chosen too.
func PickText(texts map[string]string, lang i18n.Language) (string, string) {
	for _, code := range []string{lang.Code, lang.Base, i18n.Default} {
		if t := texts[code]; code != "" && t != "" {
			return t, code
		}
	}
	return "", i18n.Default
}

// Template is a municipality's message template at its newest version.
type Template struct {
	ID        int64
	Name      string
	Version   int
	VersionID int64
	Texts     map[string]string // language code → text; "fi" always
	UpdatedAt time.Time         // when the newest version was made
	UpdatedBy string
}

// TemplateInput is a template as a form sends it.
type TemplateInput struct {
	Name  string
	Texts map[string]string // language code → text; empty ones are left out
}

// checkTemplate checks a template before it is saved: a name, a Finnish
// text, every text a known client language's and its placeholders right.
func checkTemplate(in TemplateInput) (TemplateInput, Invalid) {
	bad := Invalid{}
	in.Name = strings.TrimSpace(in.Name)
	if _, problem := forms.Clean(in.Name, true, MaxTemplateName); problem != "" {
		bad["name"] = problem
	}
	texts := map[string]string{}
	for code, text := range in.Texts {
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		field := "text_" + code
		if _, ok := clientLanguage(code); !ok {
			bad[field] = "form.invalid_choice"
			continue
		}
		if _, problem := forms.CleanLines(text, true, MaxMessage); problem != "" {
			bad[field] = problem
		} else if problem := CheckText(text); problem != "" {
			bad[field] = problem
		}
		texts[code] = text
	}
	if texts[i18n.Default] == "" && bad["text_"+i18n.Default] == "" {
		bad["text_"+i18n.Default] = "form.required"
	}
	in.Texts = texts
	if len(bad) > 0 {
		return in, bad
	}
	return in, nil
}

// asManager runs fn in the actor's tenant once the actor is a lead
// somewhere or an admin: templates are the municipality's, and those who
// set up its service points write them.
func (s *Service) asManager(ctx context.Context, actor auth.Principal, fn func(tx sqldb.Tx) error) error {
	return org.InTenant(ctx, s.db, actor, func(tx sqldb.Tx) error {
		if err := auth.Authorize(ctx, tx, actor, actor.IsLeadAnywhere() && !actor.IsAPIKey()); err != nil {
			return err
		}
		return fn(tx)
	})
}

// Templates lists the municipality's templates by name, for those who
// manage them.
func (s *Service) Templates(ctx context.Context, actor auth.Principal) ([]Template, error) {
	var out []Template
	err := s.asManager(ctx, actor, func(tx sqldb.Tx) error {
		var err error
		out, err = templates(ctx, tx, 0)
		return err
	})
	return out, err
}

// Template reads one template at its newest version, for editing.
func (s *Service) Template(ctx context.Context, actor auth.Principal, id int64) (Template, error) {
	var out Template
	err := s.asManager(ctx, actor, func(tx sqldb.Tx) error {
		list, err := templates(ctx, tx, id)
		if err == nil && len(list) == 0 {
			err = ErrNotFound
		}
		if err == nil {
			out = list[0]
		}
		return err
	})
	return out, err
}

// SaveTemplate makes a new template (id 0) or a new version of one: a
// message sent earlier keeps the version it was sent with. Problems come
// back as Invalid, field by field.
func (s *Service) SaveTemplate(ctx context.Context, actor auth.Principal, id int64, in TemplateInput) (Template, error) {
	in, bad := checkTemplate(in)
	if bad != nil {
		return Template{}, bad
	}
	texts, err := json.Marshal(in.Texts)
	if err != nil {
		return Template{}, err
	}
	var out Template
	err = s.asManager(ctx, actor, func(tx sqldb.Tx) error {
		var taken bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM message_templates WHERE lower(name) = lower($1) AND id <> $2)`,
			in.Name, id).Scan(&taken); err != nil {
			return err
		}
		if taken {
			return Invalid{"name": ProblemNameTaken}
		}
		now := s.clock()
		if id == 0 {
			if err := tx.QueryRow(ctx, `INSERT INTO message_templates (municipality_id, name, created_at) VALUES (koto_tenant(), $1, $2)
				RETURNING id`, in.Name, now).Scan(&id); err != nil {
				return err
			}
		} else {
			tag, err := tx.Exec(ctx, `UPDATE message_templates SET name = $2 WHERE id = $1`, id, in.Name)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return ErrNotFound
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO message_template_versions (municipality_id, template_id, version, texts, created_by, created_at)
			SELECT koto_tenant(), $1, coalesce(max(version), 0) + 1, $2, $3, $4 FROM message_template_versions WHERE template_id = $1`,
			id, texts, actor.StaffID, now); err != nil {
			return err
		}
		list, err := templates(ctx, tx, id)
		if err == nil {
			out = list[0]
		}
		return err
	})
	return out, err
}

// templates reads the templates at their newest versions (only id's, when
// not 0), by name.
func templates(ctx context.Context, tx sqldb.Tx, id int64) ([]Template, error) {
	rows, err := tx.Query(ctx, `SELECT t.id, t.name, v.version, v.id, v.texts, v.created_at, coalesce(s.name, '')
		FROM message_templates t
		JOIN LATERAL (SELECT * FROM message_template_versions v WHERE v.template_id = t.id ORDER BY version DESC LIMIT 1) v ON true
		LEFT JOIN staff s ON s.id = v.created_by
		WHERE $1 = 0 OR t.id = $1 ORDER BY lower(t.name), t.id`, id)
	if err != nil {
		return nil, err
	}
	return sqldb.CollectRows(rows, func(r sqldb.Row) (Template, error) {
		var t Template
		var texts []byte
		if err := r.Scan(&t.ID, &t.Name, &t.Version, &t.VersionID, &texts, &t.UpdatedAt, &t.UpdatedBy); err != nil {
			return t, err
		}
		return t, json.Unmarshal(texts, &t.Texts)
	})
}

// validText checks a written message: at most MaxMessage characters, valid
// text, its placeholders right.
func validText(text string) string {
	if !utf8.ValidString(text) {
		return "form.invalid_text"
	}
	if _, problem := forms.CleanLines(text, true, MaxMessage); problem != "" {
		return problem
	}
	return CheckText(text)
}

// clientLanguage is the supported language with exactly this code: a
// template's texts are keyed by the codes clients' languages are stored in.
func clientLanguage(code string) (i18n.Language, bool) {
	for _, l := range i18n.Languages {
		if l.Code == code {
			return l, true
		}
	}
	return i18n.Language{}, false
}

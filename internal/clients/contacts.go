package clients

import (
	"context"
	"errors"
	"slices"
	"sort"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Contact is one line of a client's contact log as it now reads, with the
// versions it replaced.
type Contact struct {
	ID                  int64 // the line's id: the same through corrections
	Version             int
	OccurredAt          time.Time
	Channel             string
	InterpreterUsed     bool
	InterpreterLanguage string
	Summary             string
	StaffName           string // who met or contacted the client
	RecordedByName      string
	RecordedAt          time.Time
	Earlier             []Contact // the versions before this one, newest first
}

// ContactInput is a new line or a correction.
type ContactInput struct {
	OccurredAt          time.Time
	Channel             string
	InterpreterUsed     bool
	InterpreterLanguage string
	Summary             string
}

// Check cleans the input and reports its problems (fields occurred_at,
// channel, interpreter_language, summary). A contact has happened: it may
// not lie more than a day ahead of now (clocks and time zones differ).
func (in *ContactInput) Check(now time.Time) Problems {
	p := Problems{}
	switch {
	case in.OccurredAt.IsZero():
		p["occurred_at"] = "form.required"
	case in.OccurredAt.After(now.Add(24 * time.Hour)):
		p["occurred_at"] = "clients.error.future_date"
	case in.OccurredAt.Year() < 2000:
		p["occurred_at"] = "form.invalid_date"
	}
	if !slices.Contains(Channels, in.Channel) {
		p["channel"] = "form.invalid_choice"
	}
	if !in.InterpreterUsed {
		in.InterpreterLanguage = ""
	} else if in.InterpreterLanguage != "" && !isInterpreterLanguage(in.InterpreterLanguage) {
		p["interpreter_language"] = "clients.error.language"
	}
	var problem string
	if in.Summary, problem = forms.CleanLines(in.Summary, true, maxSummaryLen); problem != "" {
		p["summary"] = problem
	}
	if len(p) == 0 {
		return nil
	}
	return p
}

// AddContact appends a line to the client's contact log, by the actor.
func (s *Service) AddContact(ctx context.Context, actor auth.Principal, clientID int64, in ContactInput) error {
	if p := in.Check(s.now()); p != nil {
		return invalid(p)
	}
	return s.change(ctx, actor, clientID, func(tx sqldb.Tx, _ Client) error {
		_, err := tx.Exec(ctx, `WITH n AS (SELECT nextval(pg_get_serial_sequence('client_contacts', 'id')) AS id)
			INSERT INTO client_contacts (id, entry_id, municipality_id, client_id, occurred_at, channel, interpreter_used,
				interpreter_language, summary, staff_id, recorded_by)
			SELECT n.id, n.id, koto_tenant(), $1, $2, $3, $4, $5, $6, $7, $7 FROM n`,
			clientID, in.OccurredAt, in.Channel, in.InterpreterUsed, in.InterpreterLanguage, in.Summary, nullID(actor.StaffID))
		return err
	})
}

// CorrectContact replaces a line of the log with a corrected version; the
// version it replaces stays, no longer current. Who met the client stays
// as it was; who corrected it is recorded.
func (s *Service) CorrectContact(ctx context.Context, actor auth.Principal, clientID, entryID int64, in ContactInput) error {
	if p := in.Check(s.now()); p != nil {
		return invalid(p)
	}
	return s.change(ctx, actor, clientID, func(tx sqldb.Tx, _ Client) error {
		var version int
		var staff *int64
		err := tx.QueryRow(ctx, `UPDATE client_contacts SET current = false
			WHERE entry_id = $1 AND client_id = $2 AND current RETURNING version, staff_id`, entryID, clientID).Scan(&version, &staff)
		if errors.Is(err, sqldb.ErrNoRows) {
			return ErrUnknownContact
		} else if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO client_contacts (entry_id, version, municipality_id, client_id, occurred_at, channel,
				interpreter_used, interpreter_language, summary, staff_id, recorded_by)
			VALUES ($1, $2, koto_tenant(), $3, $4, $5, $6, $7, $8, $9, $10)`,
			entryID, version+1, clientID, in.OccurredAt, in.Channel, in.InterpreterUsed, in.InterpreterLanguage, in.Summary,
			staff, nullID(actor.StaffID))
		return err
	})
}

// contacts reads a client's log, newest contact first, each line with its
// earlier versions.
func contacts(ctx context.Context, tx sqldb.Tx, clientID int64) ([]Contact, error) {
	rows, err := tx.Query(ctx, `SELECT k.entry_id, k.version, k.current, k.occurred_at, k.channel, k.interpreter_used,
			k.interpreter_language, k.summary, coalesce(s.name, ''), coalesce(rb.name, ''), k.recorded_at
		FROM client_contacts k LEFT JOIN staff s ON s.id = k.staff_id LEFT JOIN staff rb ON rb.id = k.recorded_by
		WHERE k.client_id = $1 ORDER BY k.entry_id, k.version DESC`, clientID)
	if err != nil {
		return nil, err
	}
	type version struct {
		Contact
		current bool
	}
	all, err := sqldb.CollectRows(rows, func(r sqldb.Row) (version, error) {
		var v version
		err := r.Scan(&v.ID, &v.Version, &v.current, &v.OccurredAt, &v.Channel, &v.InterpreterUsed, &v.InterpreterLanguage,
			&v.Summary, &v.StaffName, &v.RecordedByName, &v.RecordedAt)
		return v, err
	})
	if err != nil {
		return nil, err
	}
	var out []Contact
	for _, v := range all {
		// Versions of a line come together, the current one first.
		if v.current || len(out) == 0 || out[len(out)-1].ID != v.ID {
			out = append(out, v.Contact)
			continue
		}
		last := &out[len(out)-1]
		last.Earlier = append(last.Earlier, v.Contact)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].OccurredAt.After(out[j].OccurredAt) })
	return out, nil
}

// LatestContacts reads the newest n lines of a client's contact log
// inside the caller's transaction: the client's summary, which has checked
// the reader and logs the read itself.
func LatestContacts(ctx context.Context, tx sqldb.Tx, clientID int64, n int) ([]Contact, error) {
	all, err := contacts(ctx, tx, clientID)
	if len(all) > n {
		all = all[:n]
	}
	return all, err
}

package clients

import (
	"context"
	"time"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Export is everything the portal keeps about one client, for the data
// subject's right of access: the record with its identity code, the
// clientship's history, every version of every contact, who has read or
// changed the record, and what other parts of the portal keep.
type Export struct {
	ExportedAt time.Time       `json:"exported_at"`
	Client     exportedClient  `json:"client"`
	History    []exportedEvent `json:"clientship"`
	Contacts   []exportedLine  `json:"contacts"`
	AccessLog  []exportedEntry `json:"access_log"`
	Parts      map[string]any  `json:"other,omitempty"`
}

type exportedClient struct {
	ID                  int64  `json:"id"`
	ExternalID          string `json:"external_id,omitempty"`
	FirstNames          string `json:"first_names"`
	LastName            string `json:"last_name"`
	NativeName          string `json:"native_name,omitempty"`
	BirthDate           string `json:"birth_date,omitempty"`
	IdentityCode        string `json:"identity_code,omitempty"`
	Language            string `json:"language"`
	InterpreterLanguage string `json:"interpreter_language,omitempty"`
	Phone               string `json:"phone,omitempty"`
	Email               string `json:"email,omitempty"`
	ServicePointID      int64  `json:"service_point_id"`
	ResponsibleExpert   string `json:"responsible_expert,omitempty"`
	Status              string `json:"status"`
	Note                string `json:"note,omitempty"`
	CreatedAt           string `json:"created_at"`
	UpdatedAt           string `json:"updated_at"`
	Erased              bool   `json:"erased,omitempty"`
}

type exportedEvent struct {
	Kind   string `json:"kind"`
	On     string `json:"on"`
	Reason string `json:"reason,omitempty"`
	By     string `json:"by,omitempty"`
}

type exportedLine struct {
	Line                int64  `json:"line"`
	Version             int    `json:"version"`
	Current             bool   `json:"current"`
	OccurredAt          string `json:"occurred_at"`
	Channel             string `json:"channel"`
	InterpreterUsed     bool   `json:"interpreter_used"`
	InterpreterLanguage string `json:"interpreter_language,omitempty"`
	Summary             string `json:"summary"`
	By                  string `json:"by,omitempty"`
	RecordedBy          string `json:"recorded_by,omitempty"`
	RecordedAt          string `json:"recorded_at"`
}

type exportedEntry struct {
	At      string `json:"at"`
	Staff   string `json:"staff,omitempty"`
	Action  string `json:"action"`
	Purpose string `json:"purpose,omitempty"`
	Result  string `json:"result"`
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Export gathers everything about a client for an admin answering the
// client's request; the export itself is logged.
func (s *Service) Export(ctx context.Context, actor auth.Principal, id int64) (Export, error) {
	var out Export
	err := s.withClient(ctx, actor, id, audit.ActionExport, PurposeDataSubject, false, mayAdminister, func(tx sqldb.Tx, c Client) error {
		out.ExportedAt = s.now().UTC().Truncate(time.Second)
		out.Client = exportedClient{ID: c.ID, ExternalID: c.ExternalID, FirstNames: c.FirstNames, LastName: c.LastName,
			NativeName: c.NativeName, IdentityCode: c.IdentityCode, Language: c.Language, InterpreterLanguage: c.InterpreterLanguage,
			Phone: c.Phone, Email: c.Email, ServicePointID: c.ServicePointID, ResponsibleExpert: c.ResponsibleName, Status: c.Status,
			Note: c.Note, CreatedAt: stamp(c.CreatedAt), UpdatedAt: stamp(c.UpdatedAt), Erased: c.Erased}
		if !c.BirthDate.IsZero() {
			out.Client.BirthDate = c.BirthDate.Format(time.DateOnly)
		}
		events, err := history(ctx, tx, id)
		if err != nil {
			return err
		}
		out.History = []exportedEvent{}
		for _, e := range events {
			out.History = append(out.History, exportedEvent{Kind: e.Kind, On: e.On.Format(time.DateOnly), Reason: e.Reason, By: e.StaffName})
		}
		lines, err := contacts(ctx, tx, id)
		if err != nil {
			return err
		}
		out.Contacts = []exportedLine{}
		for _, l := range lines {
			out.Contacts = append(out.Contacts, exportLine(l, true))
			for _, e := range l.Earlier {
				out.Contacts = append(out.Contacts, exportLine(e, false))
			}
		}
		entries, err := audit.List(ctx, tx, audit.Filter{SubjectKind: SubjectClient, SubjectID: id, Limit: 1000})
		if err != nil {
			return err
		}
		out.AccessLog = []exportedEntry{}
		for _, e := range entries {
			out.AccessLog = append(out.AccessLog, exportedEntry{At: stamp(e.At), Staff: e.StaffName, Action: e.Action, Purpose: e.Purpose, Result: e.Result})
		}
		for _, p := range s.parts {
			if p.Export == nil {
				continue
			}
			v, err := p.Export(ctx, tx, id)
			if err != nil {
				return err
			}
			if out.Parts == nil {
				out.Parts = map[string]any{}
			}
			out.Parts[p.Name] = v
		}
		return logAccess(ctx, tx, actor, id, audit.ActionExport, PurposeDataSubject)
	})
	return out, err
}

func exportLine(l Contact, current bool) exportedLine {
	return exportedLine{Line: l.ID, Version: l.Version, Current: current, OccurredAt: stamp(l.OccurredAt), Channel: l.Channel,
		InterpreterUsed: l.InterpreterUsed, InterpreterLanguage: l.InterpreterLanguage, Summary: l.Summary, By: l.StaffName,
		RecordedBy: l.RecordedByName, RecordedAt: stamp(l.RecordedAt)}
}

// AccessLog is the extract of the access log about one client, newest
// first, for an admin answering the client's request; reading it is
// logged too.
func (s *Service) AccessLog(ctx context.Context, actor auth.Principal, id int64) (Client, []audit.Entry, error) {
	var client Client
	var out []audit.Entry
	err := s.withClient(ctx, actor, id, audit.ActionRead, PurposeDataSubject, false, mayAdminister, func(tx sqldb.Tx, c Client) error {
		client = c
		var err error
		if out, err = audit.List(ctx, tx, audit.Filter{SubjectKind: SubjectClient, SubjectID: id, Limit: 1000}); err != nil {
			return err
		}
		return logAccess(ctx, tx, actor, id, audit.ActionRead, PurposeDataSubject)
	})
	return client, out, err
}

// Erase removes a client's personal data for the client's request, once
// confirmed: the names, date of birth, identity code, contact details,
// note and external key, the texts of the contact log, and whatever the
// registered parts keep, all in one transaction. The row stays with its
// service point, language, status and clientship dates, so anonymous
// counts and other tables' references keep working.
func (s *Service) Erase(ctx context.Context, actor auth.Principal, id int64, confirmed bool) error {
	if !confirmed {
		return ErrNotConfirmed
	}
	return s.withClient(ctx, actor, id, audit.ActionDelete, PurposeDataSubject, true, mayAdminister, func(tx sqldb.Tx, c Client) error {
		for _, p := range s.parts {
			if p.Erase == nil {
				continue
			}
			if err := p.Erase(ctx, tx, id); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE client_contacts SET summary = '' WHERE client_id = $1`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE clients SET first_names = '', last_name = '', native_name = '', birth_date = NULL,
				identity_code = '', phone = '', email = '', note = '', external_id = NULL, erased_at = now(),
				updated_by = $2, updated_at = now()
			WHERE id = $1`, id, nullID(actor.StaffID)); err != nil {
			return err
		}
		return logAccess(ctx, tx, actor, id, audit.ActionDelete, PurposeDataSubject)
	})
}

// ForErasure reads the client an admin is asked to confirm the erasure
// of; the read is logged.
func (s *Service) ForErasure(ctx context.Context, actor auth.Principal, id int64) (Client, error) {
	var out Client
	err := s.withClient(ctx, actor, id, audit.ActionRead, PurposeDataSubject, false, mayAdminister, func(tx sqldb.Tx, c Client) error {
		if c.Erased {
			return ErrErased
		}
		out = c
		return logAccess(ctx, tx, actor, id, audit.ActionRead, PurposeDataSubject)
	})
	return out, err
}

package clients

import (
	"context"
	"time"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/events"
	"github.com/koto-portal/portal/internal/sqldb"
)

// MaxUpsert bounds the rows of one Upsert: one call of the API's transfer,
// one chunk of a CSV import.
const MaxUpsert = 1000

// PurposeTransfer is the access-log purpose of clients brought over from
// a municipality's own system (the API's transfer, the CSV import).
const PurposeTransfer = "client_transfer"

// Outcomes of one row of an Upsert.
const (
	Created   = "created"
	Updated   = "updated"
	Unchanged = "unchanged"
	Invalid   = "invalid"
)

// UpsertResult is what became of one row.
type UpsertResult struct {
	ExternalID string
	ID         int64 // 0 when Invalid
	Outcome    string
	Problems   Problems // Invalid: field → message id
}

// Upsert brings clients over from the municipality's own system, keyed by
// its external id: a new id is a new client, a known one is updated (only
// when something differs), and a row that fails the register's checks is
// reported and skipped, never stopping the rest. The API's transfer and
// the CSV import both come here, so a second run of the same data changes
// nothing. Rows run in one transaction, so a call is all or nothing
// against failures of the database; more than MaxUpsert rows is the
// caller's mistake.
func (s *Service) Upsert(ctx context.Context, actor auth.Principal, rows []Input) ([]UpsertResult, error) {
	if len(rows) > MaxUpsert {
		return nil, errTooMany
	}
	out := make([]UpsertResult, len(rows))
	seen := map[string]bool{}
	ids := make([]string, 0, len(rows))
	now := s.now()
	for i := range rows {
		in := &rows[i]
		p := in.Check(now)
		if p == nil {
			p = Problems{}
		}
		switch {
		case in.ExternalID == "" && p["external_id"] == "":
			p["external_id"] = "form.required"
		case seen[in.ExternalID]:
			p["external_id"] = "clients.error.external_id_twice"
		}
		seen[in.ExternalID] = true
		out[i] = UpsertResult{ExternalID: in.ExternalID, Outcome: Invalid, Problems: p}
		if len(p) == 0 {
			out[i].Problems, out[i].Outcome = nil, ""
			ids = append(ids, in.ExternalID)
		}
	}
	err := s.inTenant(ctx, actor, func(tx sqldb.Tx) error {
		if err := auth.Authorize(ctx, tx, actor, actor.IsAPIKey() || actor.IsLeadAnywhere() || actor.IsAdmin()); err != nil {
			return err
		}
		known, err := knownExternal(ctx, tx, ids)
		if err != nil {
			return err
		}
		points := map[int64]error{}
		for i := range rows {
			if out[i].Outcome == Invalid {
				continue
			}
			if err := s.upsertRow(ctx, tx, actor, &rows[i], known, points, &out[i]); err != nil {
				return err
			}
		}
		// The rows' events in one call each: who hears of them is looked
		// up once, not a thousand times.
		changed := map[string][]events.Data{}
		for _, r := range out {
			switch r.Outcome {
			case Created:
				changed[events.ClientCreated] = append(changed[events.ClientCreated], events.Data{"client_id": r.ID})
			case Updated:
				changed[events.ClientUpdated] = append(changed[events.ClientUpdated], events.Data{"client_id": r.ID})
			}
		}
		for _, event := range []string{events.ClientCreated, events.ClientUpdated} {
			if err := s.events.Emit(ctx, tx, event, changed[event]...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// errTooMany is a call of more than MaxUpsert rows.
var errTooMany = &InvalidError{Problems: Problems{"clients": "clients.error.too_many"}}

type knownClient struct {
	id, servicePointID int64
	erased             bool
	stored             Input // as the register holds it, to tell an unchanged row without writing
}

// same tells whether a checked row would change nothing of the stored
// client (an empty identity code keeps the stored one).
func (k knownClient) same(in *Input) bool {
	s := k.stored
	return s.ServicePointID == in.ServicePointID && s.FirstNames == in.FirstNames && s.LastName == in.LastName &&
		s.NativeName == in.NativeName && s.BirthDate.Equal(in.BirthDate) && s.Language == in.Language &&
		s.InterpreterLanguage == in.InterpreterLanguage && s.Phone == in.Phone && s.Email == in.Email &&
		s.ResponsibleStaffID == in.ResponsibleStaffID && s.Note == in.Note &&
		(in.IdentityCode == "" || in.IdentityCode == s.IdentityCode)
}

// knownExternal finds the clients the external ids already name, with
// what they hold.
func knownExternal(ctx context.Context, tx sqldb.Tx, ids []string) (map[string]knownClient, error) {
	rows, err := tx.Query(ctx, `SELECT external_id, id, service_point_id, erased_at IS NOT NULL, first_names, last_name,
			native_name, birth_date, identity_code, language, interpreter_language, phone, email,
			coalesce(responsible_staff_id, 0), note
		FROM clients WHERE external_id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	out := map[string]knownClient{}
	var ext string
	var k knownClient
	var birth *time.Time
	st := &k.stored
	_, err = sqldb.ForEachRow(rows, []any{&ext, &k.id, &k.servicePointID, &k.erased, &st.FirstNames, &st.LastName,
		&st.NativeName, &birth, &st.IdentityCode, &st.Language, &st.InterpreterLanguage, &st.Phone, &st.Email,
		&st.ResponsibleStaffID, &st.Note}, func() error {
		st.ServicePointID, st.BirthDate = k.servicePointID, time.Time{}
		if birth != nil {
			st.BirthDate = *birth
		}
		out[ext] = k
		return nil
	})
	return out, err
}

// upsertRow writes one checked row and says what became of it in res.
func (s *Service) upsertRow(ctx context.Context, tx sqldb.Tx, actor auth.Principal, in *Input, known map[string]knownClient,
	points map[int64]error, res *UpsertResult) error {
	fail := func(field, msg string) error {
		res.Outcome, res.Problems = Invalid, Problems{field: msg}
		return nil
	}
	spErr, checked := points[in.ServicePointID]
	if !checked {
		spErr = checkServicePoint(ctx, tx, in.ServicePointID)
		points[in.ServicePointID] = spErr
	}
	k, exists := known[in.ExternalID]
	switch {
	case spErr == ErrUnknownServicePoint:
		return fail("service_point", "form.invalid_choice")
	case spErr != nil:
		return spErr
	case !actor.CanWork(in.ServicePointID) || exists && !actor.CanWork(k.servicePointID):
		return fail("service_point", "error.forbidden")
	case exists && k.erased:
		return fail("external_id", "clients.error.erased")
	case exists && k.same(in):
		// A second run of the same data writes nothing at all.
		res.ID, res.Outcome = k.id, Unchanged
		return nil
	}
	if err := checkExpert(ctx, tx, in.ServicePointID, in.ResponsibleStaffID); err == ErrUnknownExpert {
		return fail("responsible", "form.invalid_choice")
	} else if err != nil {
		return err
	}
	var inserted bool
	err := tx.QueryRow(ctx, `INSERT INTO clients AS c (municipality_id, service_point_id, external_id, first_names, last_name,
			native_name, birth_date, identity_code, language, interpreter_language, phone, email, responsible_staff_id, note,
			created_by, updated_by)
		VALUES (koto_tenant(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
		ON CONFLICT (municipality_id, external_id) WHERE external_id IS NOT NULL DO UPDATE SET
		  service_point_id = EXCLUDED.service_point_id, first_names = EXCLUDED.first_names, last_name = EXCLUDED.last_name,
		  native_name = EXCLUDED.native_name, birth_date = EXCLUDED.birth_date,
		  identity_code = coalesce(nullif(EXCLUDED.identity_code, ''), c.identity_code),
		  language = EXCLUDED.language, interpreter_language = EXCLUDED.interpreter_language, phone = EXCLUDED.phone,
		  email = EXCLUDED.email, responsible_staff_id = EXCLUDED.responsible_staff_id, note = EXCLUDED.note,
		  updated_by = EXCLUDED.updated_by, updated_at = now()
		WHERE (c.service_point_id, c.first_names, c.last_name, c.native_name, c.birth_date, c.identity_code, c.language,
		       c.interpreter_language, c.phone, c.email, c.responsible_staff_id, c.note)
		   IS DISTINCT FROM
		      (EXCLUDED.service_point_id, EXCLUDED.first_names, EXCLUDED.last_name, EXCLUDED.native_name, EXCLUDED.birth_date,
		       coalesce(nullif(EXCLUDED.identity_code, ''), c.identity_code), EXCLUDED.language, EXCLUDED.interpreter_language,
		       EXCLUDED.phone, EXCLUDED.email, EXCLUDED.responsible_staff_id, EXCLUDED.note)
		RETURNING c.id, xmax = 0`,
		in.ServicePointID, in.ExternalID, in.FirstNames, in.LastName, in.NativeName, nullDate(in.BirthDate),
		in.IdentityCode, in.Language, in.InterpreterLanguage, in.Phone, in.Email, nullID(in.ResponsibleStaffID), in.Note,
		nullID(actor.StaffID)).Scan(&res.ID, &inserted)
	switch {
	case err == sqldb.ErrNoRows:
		// Known, and nothing differs.
		res.ID, res.Outcome = k.id, Unchanged
		return nil
	case err != nil:
		return err
	case inserted:
		res.Outcome = Created
		if err := addEvent(ctx, tx, actor, res.ID, "started", s.today(), ""); err != nil {
			return err
		}
		return logAccess(ctx, tx, actor, res.ID, audit.ActionCreate, PurposeTransfer)
	}
	res.Outcome = Updated
	return logAccess(ctx, tx, actor, res.ID, audit.ActionUpdate, PurposeTransfer)
}

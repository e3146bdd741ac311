package clients

import (
	"context"
	"slices"
	"time"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/events"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/sqldb"
)

// clientCols reads a client aliased c with the names of the staff it names.
const clientCols = `c.id, c.service_point_id, coalesce(c.external_id, ''), c.first_names, c.last_name, c.native_name,
	c.birth_date, c.identity_code, c.language, c.interpreter_language, c.phone, c.email,
	coalesce(c.responsible_staff_id, 0), coalesce(r.name, ''), c.status, c.note,
	c.created_at, coalesce(cb.name, ''), c.updated_at, coalesce(ub.name, ''), c.erased_at IS NOT NULL, c.version
	FROM clients c LEFT JOIN staff r ON r.id = c.responsible_staff_id
	LEFT JOIN staff cb ON cb.id = c.created_by LEFT JOIN staff ub ON ub.id = c.updated_by`

// loadClient reads one client (for change: locked) and shows its identity
// code as the actor may see it.
func loadClient(ctx context.Context, tx sqldb.Tx, actor auth.Principal, id int64, lock bool) (Client, error) {
	q := `SELECT ` + clientCols + ` WHERE c.id = $1`
	if lock {
		q += ` FOR UPDATE OF c`
	}
	var c Client
	var birth *time.Time
	err := tx.QueryRow(ctx, q, id).Scan(&c.ID, &c.ServicePointID, &c.ExternalID, &c.FirstNames, &c.LastName, &c.NativeName,
		&birth, &c.IdentityCode, &c.Language, &c.InterpreterLanguage, &c.Phone, &c.Email,
		&c.ResponsibleStaffID, &c.ResponsibleName, &c.Status, &c.Note,
		&c.CreatedAt, &c.CreatedByName, &c.UpdatedAt, &c.UpdatedByName, &c.Erased, &c.Version)
	if err != nil {
		return Client{}, sqldb.NotFound(err)
	}
	if birth != nil {
		c.BirthDate = *birth
	}
	showIdentityCode(actor, &c)
	return c, nil
}

// showIdentityCode keeps the full identity code only for those whose work
// needs it: the service point's lead and the municipality's admins.
// Everyone else sees the date-of-birth part.
func showIdentityCode(actor auth.Principal, c *Client) {
	if c.IdentityCode == "" {
		return
	}
	c.HasIdentityCode = true
	c.IdentityCodeMasked = MaskIdentityCode(c.IdentityCode)
	if !actor.CanManage(c.ServicePointID) {
		c.IdentityCode = ""
	}
}

func nullDate(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func nullID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// checkServicePoint confirms the service point is the municipality's.
func checkServicePoint(ctx context.Context, tx sqldb.Tx, id int64) error {
	var ok bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM service_points WHERE id = $1)`, id).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return ErrUnknownServicePoint
	}
	return nil
}

// expertsWhere is the condition on staff s of being a possible
// responsible expert at the service points $2 (all of the municipality's
// when $1): an active account with an expert or lead role at one of them
// or in the whole municipality.
const expertsWhere = `s.active AND EXISTS (SELECT 1 FROM staff_roles sr WHERE sr.staff_id = s.id
	AND sr.role IN ('expert', 'lead') AND ($1 OR sr.service_point_id IS NULL OR sr.service_point_id = ANY($2)))`

func checkExpert(ctx context.Context, tx sqldb.Tx, spID, staffID int64) error {
	if staffID == 0 {
		return nil
	}
	var ok bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM staff s WHERE s.id = $3 AND `+expertsWhere+`)`,
		false, []int64{spID}, staffID).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return ErrUnknownExpert
	}
	return nil
}

// listExperts lists who may be responsible for clients of the service
// points (all of them when all).
func listExperts(ctx context.Context, tx sqldb.Tx, all bool, points ...int64) ([]Expert, error) {
	if points == nil {
		points = []int64{}
	}
	rows, err := tx.Query(ctx, `SELECT s.id, s.name FROM staff s WHERE `+expertsWhere+` ORDER BY s.name, s.id`, all, points)
	if err != nil {
		return nil, err
	}
	return sqldb.CollectRows(rows, scanExpert)
}

func scanExpert(r sqldb.Row) (Expert, error) {
	var e Expert
	err := r.Scan(&e.ID, &e.Name)
	return e, err
}

// invalid wraps problems as the error Create and Update return.
func invalid(p Problems) error { return &InvalidError{Problems: p} }

// Create registers a client at a service point where the actor works. The
// clientship starts today.
func (s *Service) Create(ctx context.Context, actor auth.Principal, in Input) (Client, error) {
	if p := in.Check(s.now()); p != nil {
		return Client{}, invalid(p)
	}
	var out Client
	err := s.inTenant(ctx, actor, func(tx sqldb.Tx) error {
		if err := checkServicePoint(ctx, tx, in.ServicePointID); err != nil {
			return err
		}
		if err := authorize(ctx, tx, actor, actor.CanWork(in.ServicePointID), 0, audit.ActionCreate, PurposeClientWork); err != nil {
			return err
		}
		if err := checkExpert(ctx, tx, in.ServicePointID, in.ResponsibleStaffID); err != nil {
			return err
		}
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO clients (municipality_id, service_point_id, external_id, first_names, last_name,
				native_name, birth_date, identity_code, language, interpreter_language, phone, email, responsible_staff_id, note,
				created_by, updated_by)
			VALUES (koto_tenant(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id`,
			in.ServicePointID, nullText(in.ExternalID), in.FirstNames, in.LastName, in.NativeName, nullDate(in.BirthDate),
			in.IdentityCode, in.Language, in.InterpreterLanguage, in.Phone, in.Email, nullID(in.ResponsibleStaffID), in.Note,
			nullID(actor.StaffID)).Scan(&id)
		if err == nil {
			err = addEvent(ctx, tx, actor, id, "started", s.today(), "")
		}
		if err == nil {
			err = s.emit(ctx, tx, events.ClientCreated, id)
		}
		out, err = saved(ctx, tx, actor, id, audit.ActionCreate, err)
		return err
	})
	return out, err
}

// saved ends a create or an update whose statement returned err: a
// duplicate external key is the person's to fix; otherwise the change is
// logged and the client read back as stored.
func saved(ctx context.Context, tx sqldb.Tx, actor auth.Principal, id int64, action string, err error) (Client, error) {
	switch {
	case sqldb.IsUniqueViolation(err):
		return Client{}, ErrExternalIDTaken
	case err != nil:
		return Client{}, err
	}
	if err := logAccess(ctx, tx, actor, id, action, PurposeClientWork); err != nil {
		return Client{}, err
	}
	return loadClient(ctx, tx, actor, id, false)
}

func addEvent(ctx context.Context, tx sqldb.Tx, actor auth.Principal, id int64, kind string, on time.Time, reason string) error {
	_, err := tx.Exec(ctx, `INSERT INTO clientship_events (municipality_id, client_id, kind, on_date, reason, staff_id)
		VALUES (koto_tenant(), $1, $2, $3, $4, $5)`, id, kind, on, reason, nullID(actor.StaffID))
	return err
}

// Update changes a client's information. Moving a client to another service
// point needs the right to work at both. An empty identity code keeps the
// stored one unless in.RemoveIdentityCode, and an empty external id the
// stored key (the import and the API own it).
func (s *Service) Update(ctx context.Context, actor auth.Principal, id int64, in Input) (Client, error) {
	if p := in.Check(s.now()); p != nil {
		return Client{}, invalid(p)
	}
	return s.update(ctx, actor, id, in.IfVersion, func(Client) Input { return in })
}

// Change applies edit to the client's information as stored and saves the
// result, as Update would: the API's partial update. ifVersion as in
// Input.IfVersion.
func (s *Service) Change(ctx context.Context, actor auth.Principal, id int64, ifVersion int, edit func(*Input)) (Client, error) {
	return s.update(ctx, actor, id, ifVersion, func(c Client) Input {
		in := c.Input()
		edit(&in)
		return in
	})
}

// update saves what input makes of the client as stored.
func (s *Service) update(ctx context.Context, actor auth.Principal, id int64, ifVersion int, input func(Client) Input) (Client, error) {
	var out Client
	may := func(a auth.Principal, c Client) bool { return mayWork(a, c) && a.CanWork(input(c).ServicePointID) }
	err := s.withClient(ctx, actor, id, audit.ActionUpdate, PurposeClientWork, true, may, func(tx sqldb.Tx, c Client) error {
		if ifVersion != 0 && ifVersion != c.Version {
			return sqldb.ErrStale
		}
		in := input(c)
		if p := in.Check(s.now()); p != nil {
			return invalid(p)
		}
		if err := checkServicePoint(ctx, tx, in.ServicePointID); err != nil {
			return err
		}
		if err := checkExpert(ctx, tx, in.ServicePointID, in.ResponsibleStaffID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE clients SET service_point_id = $2, external_id = coalesce($3, external_id), first_names = $4, last_name = $5,
				native_name = $6, birth_date = $7,
				identity_code = CASE WHEN $8 THEN '' WHEN $9 <> '' THEN $9 ELSE identity_code END,
				language = $10, interpreter_language = $11, phone = $12, email = $13, responsible_staff_id = $14, note = $15,
				updated_by = $16, updated_at = now()
			WHERE id = $1`,
			id, in.ServicePointID, nullText(in.ExternalID), in.FirstNames, in.LastName, in.NativeName, nullDate(in.BirthDate),
			in.RemoveIdentityCode, in.IdentityCode, in.Language, in.InterpreterLanguage, in.Phone, in.Email,
			nullID(in.ResponsibleStaffID), in.Note, nullID(actor.StaffID))
		if err == nil {
			err = s.emit(ctx, tx, events.ClientUpdated, id)
		}
		out, err = saved(ctx, tx, actor, id, audit.ActionUpdate, err)
		return err
	})
	return out, err
}

// AssignExpert names the client's responsible expert (0: nobody).
func (s *Service) AssignExpert(ctx context.Context, actor auth.Principal, id, staffID int64) error {
	return s.change(ctx, actor, id, func(tx sqldb.Tx, c Client) error {
		if err := checkExpert(ctx, tx, c.ServicePointID, staffID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE clients SET responsible_staff_id = $2, updated_by = $3, updated_at = now() WHERE id = $1`,
			id, nullID(staffID), nullID(actor.StaffID))
		return err
	})
}

// change runs fn on a client the actor works with, locked, logs the
// change and tells of it.
func (s *Service) change(ctx context.Context, actor auth.Principal, id int64, fn func(tx sqldb.Tx, c Client) error) error {
	return s.withClient(ctx, actor, id, audit.ActionUpdate, PurposeClientWork, true, mayWork, func(tx sqldb.Tx, c Client) error {
		if err := fn(tx, c); err != nil {
			return err
		}
		if err := s.emit(ctx, tx, events.ClientUpdated, id); err != nil {
			return err
		}
		return logAccess(ctx, tx, actor, id, audit.ActionUpdate, PurposeClientWork)
	})
}

// clientship records a clientship step with fn and returns the client as
// it now is.
func (s *Service) clientship(ctx context.Context, actor auth.Principal, id int64, fn func(tx sqldb.Tx, c Client) error) (Client, error) {
	var out Client
	err := s.change(ctx, actor, id, func(tx sqldb.Tx, c Client) error {
		if err := fn(tx, c); err != nil {
			return err
		}
		var err error
		out, err = loadClient(ctx, tx, actor, id, false)
		return err
	})
	return out, err
}

// checkDay adds to p what is wrong with the day a clientship step is
// dated: it must be known, and not after today.
func (s *Service) checkDay(p Problems, on time.Time) {
	switch {
	case on.IsZero():
		p["on"] = "form.required"
	case on.After(s.today()):
		p["on"] = "clients.error.future_date"
	}
}

// End ends an active clientship on a day, for one of EndReasons, and
// returns the client as it now is.
func (s *Service) End(ctx context.Context, actor auth.Principal, id int64, on time.Time, reason string) (Client, error) {
	p := Problems{}
	s.checkDay(p, on)
	if !slices.Contains(EndReasons, reason) {
		p["reason"] = "form.invalid_choice"
	}
	if len(p) > 0 {
		return Client{}, invalid(p)
	}
	return s.clientship(ctx, actor, id, func(tx sqldb.Tx, c Client) error {
		if c.Status != StatusActive {
			return ErrAlreadyEnded
		}
		if _, err := tx.Exec(ctx, `UPDATE clients SET status = 'ended', updated_by = $2, updated_at = now() WHERE id = $1`, id, nullID(actor.StaffID)); err != nil {
			return err
		}
		return addEvent(ctx, tx, actor, id, "ended", on, reason)
	})
}

// Continue continues an ended clientship from a day, and returns the
// client as it now is.
func (s *Service) Continue(ctx context.Context, actor auth.Principal, id int64, on time.Time) (Client, error) {
	p := Problems{}
	s.checkDay(p, on)
	if len(p) > 0 {
		return Client{}, invalid(p)
	}
	return s.clientship(ctx, actor, id, func(tx sqldb.Tx, c Client) error {
		if c.Status != StatusEnded {
			return ErrNotEnded
		}
		if _, err := tx.Exec(ctx, `UPDATE clients SET status = 'active', updated_by = $2, updated_at = now() WHERE id = $1`, id, nullID(actor.StaffID)); err != nil {
			return err
		}
		return addEvent(ctx, tx, actor, id, "continued", on, "")
	})
}

// Record is a client with everything the client's page shows.
type Record struct {
	Client       Client
	ServicePoint org.ServicePoint
	History      []Event
	Contacts     []Contact
	Experts      []Expert // who may be named responsible
	// Points are the service points the actor works at, for moving the
	// client in the edit form.
	Points []org.ServicePoint
	// MayAdminister: the actor may export, extract and erase.
	MayAdminister bool
	// Parts holds what other packages show on the client's page, by
	// their Part's name (appointments, …).
	Parts map[string]any
}

// Get reads a client's page. logRead says the page shows the client as
// stored, a read written to the access log; without it the record comes
// back under a change that failed its checks, and the change is what gets
// logged when it is saved.
func (s *Service) Get(ctx context.Context, actor auth.Principal, id int64, logRead bool) (Record, error) {
	var out Record
	err := s.withClient(ctx, actor, id, audit.ActionRead, PurposeClientWork, false, mayWork, func(tx sqldb.Tx, c Client) error {
		out.Client = c
		out.MayAdminister = mayAdminister(actor, c)
		var err error
		if out.ServicePoint, err = org.GetServicePoint(ctx, tx, c.ServicePointID); err != nil {
			return err
		}
		if out.History, err = history(ctx, tx, id); err != nil {
			return err
		}
		if out.Contacts, err = contacts(ctx, tx, id); err != nil {
			return err
		}
		if out.Experts, err = listExperts(ctx, tx, false, c.ServicePointID); err != nil {
			return err
		}
		if out.Points, err = workPlaces(ctx, tx, actor); err != nil {
			return err
		}
		out.Parts = map[string]any{}
		for _, p := range s.parts {
			if p.Page == nil {
				continue
			}
			if out.Parts[p.Name], err = p.Page(ctx, tx, id); err != nil {
				return err
			}
		}
		if logRead {
			return logAccess(ctx, tx, actor, id, audit.ActionRead, PurposeClientWork)
		}
		return nil
	})
	return out, err
}

func history(ctx context.Context, tx sqldb.Tx, id int64) ([]Event, error) {
	rows, err := tx.Query(ctx, `SELECT e.kind, e.on_date, e.reason, coalesce(s.name, ''), e.at
		FROM clientship_events e LEFT JOIN staff s ON s.id = e.staff_id WHERE e.client_id = $1 ORDER BY e.at, e.id`, id)
	if err != nil {
		return nil, err
	}
	return sqldb.CollectRows(rows, func(r sqldb.Row) (Event, error) {
		var e Event
		err := r.Scan(&e.Kind, &e.On, &e.Reason, &e.StaffName, &e.At)
		return e, err
	})
}

// workPlaces lists the service points where the actor works.
func workPlaces(ctx context.Context, tx sqldb.Tx, actor auth.Principal) ([]org.ServicePoint, error) {
	all, err := org.ListServicePoints(ctx, tx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, sp := range all {
		if actor.CanWork(sp.ID) {
			out = append(out, sp)
		}
	}
	return out, nil
}

// atWork runs fn with the service points where the actor works, once
// they are known to work at one at least.
func (s *Service) atWork(ctx context.Context, actor auth.Principal, fn func(tx sqldb.Tx, points []org.ServicePoint) error) error {
	return s.inTenant(ctx, actor, func(tx sqldb.Tx) error {
		points, err := workPlaces(ctx, tx, actor)
		if err != nil {
			return err
		}
		if err := auth.Authorize(ctx, tx, actor, len(points) > 0); err != nil {
			return err
		}
		return fn(tx, points)
	})
}

// NewClientForm is what the form for a new client offers.
type NewClientForm struct {
	Points  []org.ServicePoint // where the actor works
	Experts map[int64][]Expert // by service point
}

// NewForm reads what the new-client form offers; anyone who works at a
// service point may register clients there.
func (s *Service) NewForm(ctx context.Context, actor auth.Principal) (NewClientForm, error) {
	var out NewClientForm
	err := s.atWork(ctx, actor, func(tx sqldb.Tx, points []org.ServicePoint) error {
		out.Points = points
		var err error
		out.Experts = map[int64][]Expert{}
		for _, sp := range out.Points {
			if out.Experts[sp.ID], err = listExperts(ctx, tx, false, sp.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

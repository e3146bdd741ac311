package portal

import (
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/koto-portal/portal/internal/clients"
	"github.com/koto-portal/portal/portal/apiv1"
)

// ListClients answers GET /clients: the staff screens' search, a page at
// a time. The cursor is opaque to the caller.
func (h *apiHandlers) ListClients(c *fiber.Ctx, p apiv1.ListClientsParams) error {
	q := clients.Query{Limit: clients.DefaultPageSize}
	if p.Q != nil {
		q.Text = *p.Q
	}
	if p.Status != nil {
		q.Status = string(*p.Status)
	}
	if p.ServicePointId != nil {
		q.ServicePointID = *p.ServicePointId
	}
	if p.Limit != nil {
		q.Limit = *p.Limit
	}
	if p.Cursor != nil {
		off, err := readCursor(*p.Cursor)
		if err != nil {
			return err
		}
		q.Offset = off
	}
	res, err := h.s.clients.Search(c.UserContext(), apiPrincipal(c), q)
	if err != nil {
		return err
	}
	out := apiv1.ClientList{Data: make([]apiv1.ClientSummary, 0, len(res.Clients))}
	for _, cl := range res.Clients {
		out.Data = append(out.Data, apiv1.ClientSummary{Id: cl.ID, ServicePointId: cl.ServicePointID, FirstNames: cl.FirstNames,
			LastName: cl.LastName, NativeName: cl.NativeName, BirthDate: apiDate(cl.BirthDate), Phone: cl.Phone,
			Status: apiv1.ClientSummaryStatus(cl.Status), ResponsibleStaffId: optionalID(cl.ResponsibleStaffID)})
	}
	if res.More {
		out.NextCursor = ptr(writeCursor(q.Offset + len(res.Clients)))
	}
	return c.JSON(out)
}

// A cursor is the offset of the next page, written so that callers treat
// it as a token rather than arithmetic.
func writeCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(offset)))
}

var errBadCursor = problemOf(http.StatusBadRequest, "bad_request", "The cursor is not one this API gave.")

func readCursor(s string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	n, ok := strings.CutPrefix(string(b), "o:")
	off, aerr := strconv.Atoi(n)
	if err != nil || !ok || aerr != nil || off < 0 || off > 1_000_000 {
		return 0, errBadCursor
	}
	return off, nil
}

func apiDate(t time.Time) *openapi_types.Date {
	if t.IsZero() {
		return nil
	}
	return &openapi_types.Date{Time: t}
}

func optionalID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

// clientOut is a client as the API shows it.
func clientOut(cl clients.Client) apiv1.Client {
	out := apiv1.Client{Id: cl.ID, ServicePointId: cl.ServicePointID, FirstNames: cl.FirstNames, LastName: cl.LastName,
		NativeName: cl.NativeName, BirthDate: apiDate(cl.BirthDate), Language: cl.Language,
		InterpreterLanguage: cl.InterpreterLanguage, Phone: cl.Phone, Email: cl.Email,
		ResponsibleStaffId: optionalID(cl.ResponsibleStaffID), Status: apiv1.ClientStatus(cl.Status),
		CreatedAt: cl.CreatedAt.UTC(), UpdatedAt: cl.UpdatedAt.UTC()}
	if cl.ExternalID != "" {
		out.ExternalId = &cl.ExternalID
	}
	return out
}

// sendClient answers with a client and its ETag.
func sendClient(c *fiber.Ctx, status int, cl clients.Client) error {
	c.Set(fiber.HeaderETag, etag(cl.Version))
	return c.Status(status).JSON(clientOut(cl))
}

// GetClient answers GET /clients/{id}; the read is in the access log with
// the key as its actor.
func (h *apiHandlers) GetClient(c *fiber.Ctx, id apiv1.ClientId) error {
	rec, err := h.s.clients.Get(c.UserContext(), apiPrincipal(c), id, true)
	if err != nil {
		return err
	}
	return sendClient(c, http.StatusOK, rec.Client)
}

// CreateClient answers POST /clients.
func (h *apiHandlers) CreateClient(c *fiber.Ctx, _ apiv1.CreateClientParams) error {
	in, err := decodeJSON[apiv1.ClientCreate](c.Get(fiber.HeaderContentType), c.Body())
	if err != nil {
		return err
	}
	cl, err := h.s.clients.Create(c.UserContext(), apiPrincipal(c), clients.Input{ExternalID: deref(in.ExternalId),
		ServicePointID: in.ServicePointId, FirstNames: in.FirstNames, LastName: in.LastName, NativeName: deref(in.NativeName),
		BirthDate: birthDate(in.BirthDate), Language: in.Language, InterpreterLanguage: deref(in.InterpreterLanguage),
		Phone: deref(in.Phone), Email: deref(in.Email), ResponsibleStaffID: derefID(in.ResponsibleStaffId), Note: deref(in.Note)})
	if err != nil {
		return h.clientProblem(err)
	}
	c.Set(fiber.HeaderLocation, apiBase+"/clients/"+strconv.FormatInt(cl.ID, 10))
	return sendClient(c, http.StatusCreated, cl)
}

// UpdateClient answers PATCH /clients/{id}: the fields sent change, the
// others stay, and only with the ETag of the version it changes.
func (h *apiHandlers) UpdateClient(c *fiber.Ctx, id apiv1.ClientId, p apiv1.UpdateClientParams) error {
	in, err := decodeJSON[apiv1.ClientUpdate](c.Get(fiber.HeaderContentType), c.Body())
	if err != nil {
		return err
	}
	version, err := ifMatch(p.IfMatch)
	if err != nil {
		return err
	}
	cl, err := h.s.clients.Change(c.UserContext(), apiPrincipal(c), id, version, func(cur *clients.Input) {
		set(&cur.ServicePointID, in.ServicePointId)
		set(&cur.FirstNames, in.FirstNames)
		set(&cur.LastName, in.LastName)
		set(&cur.NativeName, in.NativeName)
		set(&cur.Language, in.Language)
		set(&cur.InterpreterLanguage, in.InterpreterLanguage)
		set(&cur.Phone, in.Phone)
		set(&cur.Email, in.Email)
		set(&cur.ResponsibleStaffID, in.ResponsibleStaffId)
		set(&cur.Note, in.Note)
		if in.BirthDate != nil {
			cur.BirthDate = birthDate(in.BirthDate)
		}
	})
	if err != nil {
		return h.clientProblem(err)
	}
	return sendClient(c, http.StatusOK, cl)
}

// set overwrites *dst with *v when the caller sent v.
func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// EndClientship answers POST /clients/{id}/end.
func (h *apiHandlers) EndClientship(c *fiber.Ctx, id apiv1.ClientId, _ apiv1.EndClientshipParams) error {
	in, err := decodeJSON[apiv1.ClientshipEnd](c.Get(fiber.HeaderContentType), c.Body())
	if err != nil {
		return err
	}
	cl, err := h.s.clients.End(c.UserContext(), apiPrincipal(c), id, in.Date.Time, string(in.Reason))
	if err != nil {
		return h.clientProblem(err)
	}
	return sendClient(c, http.StatusOK, cl)
}

// ContinueClientship answers POST /clients/{id}/continue.
func (h *apiHandlers) ContinueClientship(c *fiber.Ctx, id apiv1.ClientId, _ apiv1.ContinueClientshipParams) error {
	in, err := decodeJSON[apiv1.ClientshipContinue](c.Get(fiber.HeaderContentType), c.Body())
	if err != nil {
		return err
	}
	cl, err := h.s.clients.Continue(c.UserContext(), apiPrincipal(c), id, in.Date.Time)
	if err != nil {
		return h.clientProblem(err)
	}
	return sendClient(c, http.StatusOK, cl)
}

// clientProblem writes the register's refusal of its input as the fields
// at fault; other errors go to the shared table.
func (h *apiHandlers) clientProblem(err error) error {
	var ie *clients.InvalidError
	if errors.As(err, &ie) {
		return invalid(h.rowErrors(ie.Problems)...)
	}
	return err
}

// birthDate reads a birth date as the API takes it: YYYY-MM-DD, or
// empty for not known.
func birthDate(s *string) time.Time {
	if s == nil || *s == "" {
		return time.Time{}
	}
	d, err := time.Parse(time.DateOnly, *s)
	if err != nil {
		return clients.UnreadableDate // the register's check names the field
	}
	return d
}

func derefID(id *int64) int64 {
	if id == nil {
		return 0
	}
	return *id
}

// TransferClients answers POST /clients/transfer: one upsert by external
// id, shared with the CSV import, and a result for every row.
func (h *apiHandlers) TransferClients(c *fiber.Ctx, _ apiv1.TransferClientsParams) error {
	in, err := decodeJSON[apiv1.ClientTransfer](c.Get(fiber.HeaderContentType), c.Body())
	if err != nil {
		return err
	}
	if len(in.Clients) == 0 || len(in.Clients) > clients.MaxUpsert {
		return invalid(fieldErr("clients", "invalid", "Send from 1 to 1000 clients."))
	}
	rows := make([]clients.Input, len(in.Clients))
	for i, r := range in.Clients {
		rows[i] = clients.Input{ExternalID: r.ExternalId, ServicePointID: r.ServicePointId, Language: r.Language,
			FirstNames: deref(r.FirstNames), LastName: deref(r.LastName), NativeName: deref(r.NativeName),
			InterpreterLanguage: deref(r.InterpreterLanguage), Phone: deref(r.Phone), Email: deref(r.Email), Note: deref(r.Note),
			ResponsibleStaffID: derefID(r.ResponsibleStaffId), BirthDate: birthDate(r.BirthDate)}
	}
	results, err := h.s.clients.Upsert(c.UserContext(), apiPrincipal(c), rows)
	if err != nil {
		return err
	}
	out := apiv1.TransferResult{Results: make([]apiv1.TransferRow, len(results))}
	for i, r := range results {
		row := apiv1.TransferRow{Index: i, ExternalId: r.ExternalID, Outcome: apiv1.TransferRowOutcome(r.Outcome), Id: optionalID(r.ID)}
		if len(r.Problems) > 0 {
			errs := h.rowErrors(r.Problems)
			row.Errors = &errs
		}
		switch row.Outcome {
		case apiv1.Created:
			out.Created++
		case apiv1.Updated:
			out.Updated++
		case apiv1.Unchanged:
			out.Unchanged++
		default:
			out.Invalid++
		}
		out.Results[i] = row
	}
	return c.JSON(out)
}

// rowErrors writes a row's problems as field errors: the last part of the
// register's message id is the code, its English text the message.
func (h *apiHandlers) rowErrors(p clients.Problems) []apiv1.FieldError {
	en := h.s.catalog.For(h.s.catalog.Negotiate("en", "", ""))
	fields := make([]string, 0, len(p))
	for f := range p {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	out := make([]apiv1.FieldError, 0, len(p))
	for _, field := range fields {
		key := p[field]
		out = append(out, apiv1.FieldError{Field: field, Code: key[strings.LastIndex(key, ".")+1:], Message: en.Get(key)})
	}
	return out
}

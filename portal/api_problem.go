package portal

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/api"
	"github.com/koto-portal/portal/internal/appointments"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/clients"
	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/stats"
	"github.com/koto-portal/portal/internal/tasks"
	"github.com/koto-portal/portal/portal/apiv1"
)

// apiProblem is an error of the API as RFC 9457 writes it: a status, a
// stable code programs act on, and for a request that does not validate,
// the fields at fault. Texts are English: the reader is a program's
// developer, whatever the municipality speaks.
type apiProblem struct {
	Status int
	Code   string
	Detail string
	Fields []apiv1.FieldError
}

func (p *apiProblem) Error() string { return p.Code + ": " + p.Detail }

func problemOf(status int, code, detail string) *apiProblem {
	return &apiProblem{Status: status, Code: code, Detail: detail}
}

// invalid is a 422 naming the fields at fault.
func invalid(fields ...apiv1.FieldError) *apiProblem {
	return &apiProblem{Status: http.StatusUnprocessableEntity, Code: "validation_failed",
		Detail: "Some fields are not valid; see errors.", Fields: fields}
}

func fieldErr(field, code, message string) apiv1.FieldError {
	return apiv1.FieldError{Field: field, Code: code, Message: message}
}

// apiDomainProblems is the one place where the domain's errors become what
// a program reads; the first entry errors.Is matches wins.
var apiDomainProblems = []struct {
	err     error
	problem *apiProblem
}{
	{sqldb.ErrNotFound, problemOf(http.StatusNotFound, "not_found", "Nothing with that id here.")},
	{api.ErrUnauthorized, problemOf(http.StatusUnauthorized, "unauthorized", "The key is unknown, revoked or expired.")},
	{auth.ErrForbidden, problemOf(http.StatusForbidden, "forbidden", "This key may not do that here.")},
	{api.ErrIdempotencyMismatch, problemOf(http.StatusUnprocessableEntity, "idempotency_key_reused",
		"This Idempotency-Key was used with a different request.")},
	{api.ErrIdempotencyBusy, problemOf(http.StatusConflict, "idempotency_in_progress",
		"A request with this Idempotency-Key is still in progress; try again shortly.")},
	{sqldb.ErrStale, errBadIfMatch},
	{api.ErrVersionNeeded, errNoIfMatch},
	{api.ErrWebhookURL, invalid(fieldErr("url", "invalid", "An https address is needed."))},
	{api.ErrNoEvents, invalid(fieldErr("events", "required", "Choose at least one event."))},
	{api.ErrUnknownEvent, invalid(fieldErr("events", "unknown_value", "Unknown event."))},
	{api.ErrDescription, invalid(fieldErr("description", "too_long", "At most 200 characters."))},
	{clients.ErrExternalIDTaken, invalid(fieldErr("external_id", "taken", "Another client has this external id."))},
	{clients.ErrUnknownServicePoint, invalid(fieldErr("service_point_id", "unknown_value", "No such service point here."))},
	{clients.ErrUnknownExpert, invalid(fieldErr("responsible_staff_id", "unknown_value", "No such expert at the service point."))},
	{clients.ErrAlreadyEnded, wrongState("The clientship has already ended.")},
	{clients.ErrNotEnded, wrongState("The clientship is active.")},
	{clients.ErrErased, wrongState("The client has been erased.")},
	{appointments.ErrWrongState, wrongState("The appointment's status does not allow that.")},
	{appointments.ErrClientErased, wrongState("The client has been erased.")},
	{appointments.ErrBadBooking, invalid(fieldErr("duration_minutes", "invalid", "Send a channel of the list and 5–480 minutes."))},
	{appointments.ErrInPast, invalid(fieldErr("starts_at", "invalid", "The time is in the past."))},
	{appointments.ErrUnknownExpert, invalid(fieldErr("staff_id", "unknown_value", "No such expert at the service point."))},
	{appointments.ErrUnknownDesk, invalid(fieldErr("desk_id", "unknown_value", "No such desk at the service point."))},
	{appointments.ErrUnknownTopic, invalid(fieldErr("topic_id", "unknown_value", "No such topic at the service point."))},
	{tasks.ErrNotFound, problemOf(http.StatusNotFound, "not_found", "Nothing with that id here.")},
	{tasks.ErrClosed, wrongState("The task is closed already.")},
	{tasks.ErrNoTitle, invalid(fieldErr("title", "required", "A task needs a title."))},
	{tasks.ErrTooLong, invalid(fieldErr("title", "too_long", "The title, details or comment is too long."))},
	{tasks.ErrBadAssignee, invalid(fieldErr("assignee_id", "unknown_value", "The assignee does not work at the service point."))},
	{tasks.ErrInvalid, invalid(fieldErr("service_point_id", "invalid", "Check the service point, client, priority and status."))},
	{stats.ErrBadRange, invalid(fieldErr("to", "invalid", "The last day is before the first."))},
	{stats.ErrRangeTooLong, invalid(fieldErr("to", "invalid", "At most two years at a time."))},
	{stats.ErrUnknownServicePoint, invalid(fieldErr("service_point_id", "unknown_value", "No such service point here."))},
	{sqldb.ErrUnavailable, problemOf(http.StatusServiceUnavailable, "unavailable", "The database cannot be reached for a moment; try again shortly.")},
}

// wrongState is a 409 for a change the resource's state does not allow.
func wrongState(detail string) *apiProblem {
	return problemOf(http.StatusConflict, "wrong_state", detail)
}

// fiberProblems are the errors Fiber and the generated glue raise.
var fiberProblems = map[int]string{
	http.StatusBadRequest:            "bad_request",
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusRequestEntityTooLarge: "too_large",
	http.StatusUnsupportedMediaType:  "unsupported_media_type",
}

// toProblem finds the problem document for any error of an API call.
func toProblem(err error) *apiProblem {
	var p *apiProblem
	if errors.As(err, &p) {
		return p
	}
	var pe *Error // the web layer's own, e.g. the 404 of a path no route took
	if errors.As(err, &pe) {
		code, ok := fiberProblems[pe.Status]
		if !ok {
			code = "bad_request"
		}
		return problemOf(pe.Status, code, "")
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		if code, ok := fiberProblems[fe.Code]; ok {
			return problemOf(fe.Code, code, fe.Message)
		}
	}
	for _, d := range apiDomainProblems {
		if errors.Is(err, d.err) {
			return d.problem
		}
	}
	return problemOf(http.StatusInternalServerError, "internal", "Something went wrong on our side; the request id identifies it.")
}

// renderProblem answers an API call's error.
func (s *Server) renderProblem(c *fiber.Ctx, err error) error {
	p := toProblem(err)
	if p.Status >= 500 {
		s.logger.Error("api call failed", "request_id", requestID(c), "route", s.routeOf(c), "err", err)
	}
	switch p.Status {
	case http.StatusUnauthorized:
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="koto-portal"`)
	case http.StatusServiceUnavailable:
		c.Set(fiber.HeaderRetryAfter, "5")
	case http.StatusConflict:
		if p.Code == "idempotency_in_progress" { // a wrong state stays wrong
			c.Set(fiber.HeaderRetryAfter, "1")
		}
	}
	doc := apiv1.Problem{Type: "/api/v1/docs#problem-" + p.Code, Title: http.StatusText(p.Status), Status: p.Status,
		Code: p.Code, RequestId: ptr(requestID(c)), Instance: ptr(c.Path())}
	if p.Detail != "" {
		doc.Detail = &p.Detail
	}
	if len(p.Fields) > 0 {
		doc.Errors = &p.Fields
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/problem+json")
	return c.Status(p.Status).Send(b)
}

func ptr[T any](v T) *T { return &v }

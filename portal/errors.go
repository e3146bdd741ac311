package portal

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/api"
	"github.com/koto-portal/portal/internal/appointments"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/clients"
	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/outreach"
	"github.com/koto-portal/portal/internal/queue"
	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/stats"
	"github.com/koto-portal/portal/internal/tasks"
)

// Error is an error a person should see: an HTTP status and a message id
// that is translated into the visitor's language where it is shown.
type Error struct {
	Status int
	Key    string // message id in locales
	Args   []any  // placeholder name/value pairs
	Err    error  // the cause, for the log only; never shown
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Status, e.Key, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Key)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error.
func newError(status int, key string, args ...any) *Error {
	return &Error{Status: status, Key: key, Args: args}
}

// Common errors.
var (
	errNotFound   = newError(http.StatusNotFound, "error.not_found")
	errForbidden  = newError(http.StatusForbidden, "error.forbidden")
	errBadRequest = newError(http.StatusBadRequest, "error.bad_request")
)

// domainError says how a person is told about an error of a domain
// package: the answer's status, the message, and the form field it belongs
// beside when it comes back with a form.
type domainError struct {
	err    error
	status int
	key    string
	field  string
}

// domainErrors is the one place where the domain's errors become what a
// person reads; the first entry that errors.Is matches wins. A handler
// returns the domain's error as it came and the error handler looks it up
// here, or, for a form, fieldError puts the message beside the field.
var domainErrors = []domainError{
	{err: sqldb.ErrNotFound, status: http.StatusNotFound, key: "error.not_found"},
	{err: auth.ErrForbidden, status: http.StatusForbidden, key: "error.forbidden"},
	{err: auth.ErrNoSession, status: http.StatusUnauthorized, key: "error.unauthorized"},
	{err: auth.ErrThrottled, status: http.StatusTooManyRequests, key: "error.too_many"},
	{err: auth.ErrLinkUnknown, status: http.StatusNotFound, key: "password.link_unknown"},
	{err: auth.ErrLinkExpired, status: http.StatusGone, key: "password.link_expired"},
	{err: auth.ErrLinkUsed, status: http.StatusGone, key: "password.link_used"},
	{err: auth.ErrBadCode, status: http.StatusUnauthorized, key: "verify.code_wrong", field: "code"},
	{err: auth.ErrPasskeysUnavailable, status: http.StatusConflict, key: "passkey.unavailable"},
	{err: auth.ErrBadPasskey, status: http.StatusUnauthorized, key: "passkey.failed", field: "credential"},
	{err: auth.ErrPasswordSigninOff, status: http.StatusForbidden, key: "login.password_off"},
	{err: auth.ErrFactorExists, status: http.StatusConflict, key: "totp.exists"},
	{err: auth.ErrNoFactor, status: http.StatusConflict, key: "account.no_factor"},
	{err: auth.ErrLastFactor, status: http.StatusConflict, key: "account.last_factor"},
	{err: auth.ErrNoPassword, status: http.StatusConflict, key: "account.no_password"},
	{err: auth.ErrUnknownServicePoint, status: http.StatusUnprocessableEntity, key: "signin.mapping_unknown_point", field: "mappings"},
	{err: auth.ErrPasswordSigninNeedsProvider, status: http.StatusUnprocessableEntity, key: "signin.password_needs_provider", field: "password_signin"},
	{err: auth.ErrSecretMissing, status: http.StatusUnprocessableEntity, key: "signin.secret_missing", field: "oidc_client_secret"},
	{err: org.ErrProviderAccount, status: http.StatusConflict, key: "reset.provider_account"},

	{err: org.ErrSlugTaken, status: http.StatusUnprocessableEntity, key: "setup.slug_taken", field: "slug"},
	{err: org.ErrSlugReserved, status: http.StatusUnprocessableEntity, key: "setup.slug_reserved", field: "slug"},
	{err: org.ErrNameTaken, status: http.StatusUnprocessableEntity, key: "setup.desk_name_taken", field: "name"},
	{err: org.ErrBadKind, status: http.StatusUnprocessableEntity, key: "form.invalid_choice", field: "kind"},
	{err: org.ErrEmailInUse, status: http.StatusUnprocessableEntity, key: "people.email_taken", field: "email"},
	{err: org.ErrOwnAdmin, status: http.StatusUnprocessableEntity, key: "people.own_admin", field: "role"},
	{err: org.ErrOwnAccount, status: http.StatusUnprocessableEntity, key: "people.own_account", field: "active"},
	{err: org.ErrBadGrant, status: http.StatusUnprocessableEntity, key: "form.invalid_choice", field: "role"},

	{err: api.ErrName, status: http.StatusUnprocessableEntity, key: "form.required", field: "name"},
	{err: api.ErrNoScope, status: http.StatusUnprocessableEntity, key: "form.required", field: "scopes"},
	{err: api.ErrUnknownScope, status: http.StatusUnprocessableEntity, key: "form.invalid_choice", field: "scopes"},
	{err: api.ErrExpiryPast, status: http.StatusUnprocessableEntity, key: "api_keys.expiry_past", field: "expires"},
	{err: api.ErrUnknownServicePoint, status: http.StatusUnprocessableEntity, key: "form.invalid_choice", field: "service_point"},
	{err: api.ErrWebhookURL, status: http.StatusUnprocessableEntity, key: "webhooks.url_invalid", field: "url"},
	{err: api.ErrNoEvents, status: http.StatusUnprocessableEntity, key: "form.required", field: "events"},
	{err: api.ErrUnknownEvent, status: http.StatusUnprocessableEntity, key: "form.invalid_choice", field: "events"},
	{err: api.ErrDescription, status: http.StatusUnprocessableEntity, key: "form.too_long", field: "description"},
	{err: sqldb.ErrStale, status: http.StatusConflict, key: "webhooks.changed"},
	{err: api.ErrVersionNeeded, status: http.StatusBadRequest, key: "error.bad_request"},

	{err: queue.ErrWrongState, status: http.StatusConflict, key: "queue.wrong_state"},
	{err: queue.ErrTooEarlyForNoShow, status: http.StatusConflict, key: "queue.too_early"},
	{err: queue.ErrOtherDesk, status: http.StatusConflict, key: "queue.other_desk"},
	{err: queue.ErrRateLimited, status: http.StatusTooManyRequests, key: "kiosk.too_many"},
	{err: queue.ErrInvalidSubscription, status: http.StatusUnprocessableEntity, key: "follow.push_invalid"},

	{err: appointments.ErrWrongState, status: http.StatusConflict, key: "appt.error.state"},
	{err: appointments.ErrClientErased, status: http.StatusConflict, key: "appt.error.erased"},
	{err: appointments.ErrPrefixTaken, status: http.StatusUnprocessableEntity, key: "appt.error.prefix", field: "prefix"},
	{err: appointments.ErrBadBooking, status: http.StatusUnprocessableEntity, key: "form.out_of_range"},
	{err: tasks.ErrNotFound, status: http.StatusNotFound, key: "error.not_found"},
	{err: tasks.ErrInvalidSubscription, status: http.StatusUnprocessableEntity, key: "follow.push_invalid"},
	{err: tasks.ErrTooManyDevices, status: http.StatusUnprocessableEntity, key: "settings.too_many"},

	{err: outreach.ErrMessageSent, status: http.StatusConflict, key: "messages.already_sent"},
	{err: outreach.ErrCampaignOver, status: http.StatusConflict, key: "campaigns.over"},

	{err: clients.ErrErased, status: http.StatusGone, key: "clients.error.erased"},
	{err: clients.ErrUnknownExpert, status: http.StatusUnprocessableEntity, key: "clients.error.unknown_expert", field: "responsible"},
	{err: clients.ErrUnknownServicePoint, status: http.StatusUnprocessableEntity, key: "clients.error.unknown_point", field: "service_point"},
	{err: clients.ErrAlreadyEnded, status: http.StatusConflict, key: "clients.error.already_ended"},
	{err: clients.ErrNotEnded, status: http.StatusConflict, key: "clients.error.not_ended"},
	{err: clients.ErrExternalIDTaken, status: http.StatusUnprocessableEntity, key: "clients.error.external_id_taken"},
	{err: clients.ErrNotConfirmed, status: http.StatusUnprocessableEntity, key: "clients.error.not_confirmed", field: "confirm"},
	{err: clients.ErrUnknownContact, status: http.StatusNotFound, key: "error.not_found"},

	{err: stats.ErrBadRange, status: http.StatusUnprocessableEntity, key: "stats.error.range"},
	{err: stats.ErrRangeTooLong, status: http.StatusUnprocessableEntity, key: "stats.error.too_long"},
	{err: stats.ErrUnknownServicePoint, status: http.StatusUnprocessableEntity, key: "visit.error.unknown_point"},
	{err: stats.ErrNoTopic, status: http.StatusUnprocessableEntity, key: "visit.error.topics_required"},
	{err: stats.ErrUnknownTopic, status: http.StatusUnprocessableEntity, key: "visit.error.unknown_topic"},
	{err: stats.ErrReferralRequired, status: http.StatusUnprocessableEntity, key: "visit.error.referral_required"},
	{err: stats.ErrReferralNotReferred, status: http.StatusUnprocessableEntity, key: "visit.error.referral_not_referred"},
	{err: stats.ErrUnknownReferral, status: http.StatusUnprocessableEntity, key: "visit.error.unknown_referral"},
	{err: stats.ErrUnknownTicket, status: http.StatusUnprocessableEntity, key: "visit.error.unknown_ticket"},
	{err: stats.ErrTicketNotDone, status: http.StatusUnprocessableEntity, key: "visit.error.ticket_not_done"},
	{err: stats.ErrTicketAlreadyCounted, status: http.StatusUnprocessableEntity, key: "visit.error.already_recorded"},
}

// lookupError finds err in domainErrors.
func lookupError(err error) (domainError, bool) {
	if err == nil {
		return domainError{}, false
	}
	for _, d := range domainErrors {
		if errors.Is(err, d.err) {
			return d, true
		}
	}
	return domainError{}, false
}

// fieldError puts the message of a domain error that belongs beside a
// form field into errs, and tells whether it did; any other error is the
// caller's to return.
func fieldError(errs forms.Errors, err error) bool {
	d, ok := lookupError(err)
	if !ok || d.field == "" {
		return false
	}
	errs[d.field] = d.key
	return true
}

// isNotFound tells whether the domain found nothing to read or change.
func isNotFound(err error) bool { return errors.Is(err, sqldb.ErrNotFound) }

// keyForStatus names the message for errors Fiber raises itself.
func keyForStatus(status int) string {
	switch status {
	case http.StatusNotFound:
		return "error.not_found"
	case http.StatusMethodNotAllowed:
		return "error.method_not_allowed"
	case http.StatusRequestEntityTooLarge:
		return "error.too_large"
	case http.StatusForbidden:
		return "error.forbidden"
	case http.StatusUnauthorized:
		return "error.unauthorized"
	case http.StatusTooManyRequests:
		return "error.too_many"
	case http.StatusServiceUnavailable:
		return "error.unavailable"
	}
	if status >= 400 && status < 500 {
		return "error.bad_request"
	}
	return "error.internal"
}

// handleError renders every error in one place: a localized page, or JSON
// under /api/. The cause of a server fault goes to the log with the request
// id; the person sees the id, never the cause.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	if isKeyAPI(c.Path()) {
		return s.renderProblem(c, err)
	}
	status := http.StatusInternalServerError
	key := "error.internal"
	var args []any
	var pe *Error
	var fe *fiber.Error
	switch {
	case errors.As(err, &pe):
		status, key, args = pe.Status, pe.Key, pe.Args
	case errors.As(err, &fe):
		status, key = fe.Code, keyForStatus(fe.Code)
	case errors.Is(err, sqldb.ErrUnavailable):
		status, key = http.StatusServiceUnavailable, "error.unavailable"
		c.Set(fiber.HeaderRetryAfter, "5")
	default:
		if d, ok := lookupError(err); ok {
			status, key = d.status, d.key
		}
	}
	if status >= 500 {
		s.logger.Error("request failed", "request_id", requestID(c), "route", s.routeOf(c), "err", err)
	}
	t := s.translator(c)
	msg := t.Get(key, args...)
	c.Status(status)
	if wantsJSON(c) {
		return c.JSON(fiber.Map{"error": fiber.Map{"code": key, "message": msg, "request_id": requestID(c)}})
	}
	page := s.page(c, t.Get("error.title"))
	return s.render(c, "error", struct {
		Page
		Status    int
		Message   string
		RequestID string
	}{page, status, msg, requestID(c)})
}

func wantsJSON(c *fiber.Ctx) bool {
	return strings.HasPrefix(c.Path(), "/api/") || strings.Contains(c.Get(fiber.HeaderAccept), "application/json") && !strings.Contains(c.Get(fiber.HeaderAccept), "text/html")
}

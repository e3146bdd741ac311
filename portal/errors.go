package portal

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
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
	}
	if status >= 500 {
		s.logger.Error("request failed", "request_id", requestID(c), "route", routeOf(c), "err", err)
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

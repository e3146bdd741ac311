package portal

import (
	"errors"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/i18n"
)

// ctxKey names what middleware leaves in a request for the handlers; one
// list, so two keys can never share a value.
type ctxKey int

const (
	keyRequestID ctxKey = iota // string: the id shown on error pages and in the log
	keyLang                    // i18n.Language: the page's language
	keyNonce                   // string: the page's script nonce
	keySession                 // auth.Session: the logged-in staff member's
	keyCSRF                    // string: a visitor's double-submit CSRF token
	keyChannels                // liveGrant: what a websocket may follow, and its place in the caps
	keyPending                 // auth.Session: a sign-in half-way, waiting for its second factor
)

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(keyRequestID).(string)
	return id
}

// session returns the logged-in staff member's session, if any.
func session(c *fiber.Ctx) (auth.Session, bool) {
	s, ok := c.Locals(keySession).(auth.Session)
	return s, ok
}

// pendingSession returns the session of a sign-in that still waits for
// its second factor (to be given, or set up), if any.
func pendingSession(c *fiber.Ctx) (auth.Session, bool) {
	s, ok := c.Locals(keyPending).(auth.Session)
	return s, ok
}

// anySession returns the browser's session, full or half-way: what the
// CSRF check and logging out work on.
func anySession(c *fiber.Ctx) (auth.Session, bool) {
	if s, ok := session(c); ok {
		return s, true
	}
	return pendingSession(c)
}

// principal is the logged-in staff member; routes under /staff always have one.
func principal(c *fiber.Ctx) auth.Principal {
	sess, _ := session(c)
	return sess.Principal
}

// idParam reads a positive numeric id from the path; anything else is a
// page that does not exist.
func idParam(c *fiber.Ctx, name string) (int64, error) {
	n, err := c.ParamsInt(name)
	if err != nil || n <= 0 {
		return 0, errNotFound
	}
	return int64(n), nil
}

// rowParam reads the optional :id of a row form and names the form for
// the page: "desk-new" or "desk-12".
func rowParam(c *fiber.Ctx, kind string) (id int64, key string, err error) {
	if c.Params("id") == "" {
		return 0, kind + "-new", nil
	}
	id, err = idParam(c, "id")
	return id, kind + "-" + strconv.FormatInt(id, 10), err
}

var slugInPath = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// slugParam reads :sp, a service point's address name; one that cannot be
// a name is a page that does not exist, without asking the database.
func slugParam(c *fiber.Ctx) (string, error) {
	slug := c.Params("sp")
	if !slugInPath.MatchString(slug) {
		return "", errNotFound
	}
	return slug, nil
}

// formValues copies the submitted form into url.Values; invalid bodies
// give an empty set, which the form checks then report field by field.
func formValues(c *fiber.Ctx) url.Values {
	v, err := url.ParseQuery(string(c.Body()))
	if err != nil || !strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationForm) {
		v = url.Values{}
		if mf, err := c.MultipartForm(); err == nil {
			for k, vs := range mf.Value {
				v[k] = vs
			}
		}
	}
	return v
}

var (
	errNotPaired    = newError(fiber.StatusForbidden, "device.not_paired")
	errDeviceLookup = newError(fiber.StatusServiceUnavailable, "error.unavailable")
)

// deviceAt is the paired device of kind at the service point named in the
// address. In demo mode the demo's own kiosk and display, found once at
// start, need no pairing, but only in a browser whose own credential is
// sound: one that names no device (revoked, say) is sent to pairing, and a
// lookup that failed is an error, never a reason to take tickets as the
// demo kiosk.
func (s *Server) deviceAt(c *fiber.Ctx, kind, slug string) (auth.Device, error) {
	d, err := s.deviceFromCookie(c)
	switch {
	case err == nil && d.Kind == kind && d.ServicePoint == slug:
		return d, nil
	case errors.Is(err, auth.ErrNoSession):
		return auth.Device{}, errNotPaired
	case err != nil && !errors.Is(err, errNoDeviceCookie):
		s.logger.Error("device lookup failed", "request_id", requestID(c), "err", err)
		return auth.Device{}, errDeviceLookup
	}
	for _, d := range s.demoDevices {
		if d.Kind == kind && d.ServicePoint == slug {
			return d, nil
		}
	}
	return auth.Device{}, errNotPaired
}

// errNoDeviceCookie: the browser carries no device credential at all.
var errNoDeviceCookie = errors.New("portal: no device cookie")

// deviceFromCookie is the paired, unrevoked device whose credential the
// request carries: errNoDeviceCookie when it carries none, auth.ErrNoSession
// when the credential names no such device (revoked, or re-paired since),
// another error when the lookup itself failed.
func (s *Server) deviceFromCookie(c *fiber.Ctx) (auth.Device, error) {
	token := c.Cookies(deviceCookie)
	if token == "" || s.auth == nil {
		return auth.Device{}, errNoDeviceCookie
	}
	return s.auth.DeviceByToken(c.UserContext(), token)
}

// parseDay reads a date field of a staff page as the page's language
// writes it (ISO always works too), at midnight in loc. The portal's
// records start in this millennium: a year outside it is a typo.
func parseDay(lang i18n.Language, s string, loc *time.Location) (time.Time, bool) {
	d, ok := lang.ParseDate(s, loc)
	return d, ok && d.Year() >= 2000 && d.Year() <= 2999
}

package portal

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/api"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/portal/apiv1"
)

// The JSON API for municipal systems lives under apiBase. Its routes and
// types are generated from the contract (package apiv1); this file is the
// glue around them: the key, its scopes, its rate limit, Idempotency-Key,
// and errors as problem documents.
const apiBase = "/api/v1"

// apiContract is the contract as the web layer uses it: the document,
// served as JSON and as a reference page, and the scope each operation
// needs, by method and route pattern.
type apiContract struct {
	doc    *openapi3.T
	json   []byte
	scopes map[string]string // "GET /api/v1/webhooks/:webhookId" → "webhooks:manage"
}

func loadContract() (*apiContract, error) {
	doc, err := openapi3.NewLoader().LoadFromData(api.Contract)
	if err != nil {
		return nil, fmt.Errorf("api contract: %w", err)
	}
	js, err := doc.MarshalJSON()
	if err != nil {
		return nil, err
	}
	c := &apiContract{doc: doc, json: js, scopes: map[string]string{}}
	for path, item := range doc.Paths.Map() {
		route := apiBase + pathToRoute(path)
		for method, op := range item.Operations() {
			c.scopes[method+" "+route] = operationScope(doc, op)
		}
	}
	return c, nil
}

// has tells whether the contract has an operation at method and path.
func (c *apiContract) has(method, path string) bool {
	cfg := fiber.Config{}
	for r := range c.scopes {
		m, pattern, _ := strings.Cut(r, " ")
		if (m == method || method == fiber.MethodHead && m == fiber.MethodGet) && fiber.RoutePatternMatch(path, pattern, cfg) {
			return true
		}
	}
	return false
}

// pathToRoute writes an OpenAPI path as Fiber's route pattern, as the
// generated glue registers it: {id} becomes :id.
func pathToRoute(p string) string {
	return strings.NewReplacer("{", ":", "}", "").Replace(p)
}

// operationScope is the one scope an operation's security names, or ""
// when any valid key may call it.
func operationScope(doc *openapi3.T, op *openapi3.Operation) string {
	sec := doc.Security
	if op.Security != nil {
		sec = *op.Security
	}
	for _, req := range sec {
		for _, scopes := range req {
			if len(scopes) > 0 {
				return scopes[0]
			}
		}
	}
	return ""
}

// isKeyAPI tells the API's paths from the live screens' JSON that shares
// the prefix: those follow a session or a capability link, never a key.
func isKeyAPI(path string) bool {
	return strings.HasPrefix(path, apiBase+"/") && !strings.HasPrefix(path, apiBase+"/tickets/") &&
		!strings.HasPrefix(path, apiBase+"/queue/")
}

// ctxKey values of the API, after the web layer's own.
const keyAPIPrincipal = keyChannels + 100 // auth.Principal: the key a call came with

// apiPrincipal is the key a call came with; every generated route runs
// after authenticateKey, so it is there.
func apiPrincipal(c *fiber.Ctx) auth.Principal {
	p, _ := c.Locals(keyAPIPrincipal).(auth.Principal)
	return p
}

// authenticateKey finds the call's key and counts it against the key's
// rate limit; an unknown, revoked or expired key is 401, one over its limit
// 429. Every answer says where the key stands (RateLimit headers).
func (s *Server) authenticateKey(c *fiber.Ctx) error {
	if !s.contract.has(c.Method(), c.Path()) {
		return c.Next() // no such call: a 404 (or 405) problem, key or not
	}
	h := c.Get(fiber.HeaderAuthorization)
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return problemOf(http.StatusUnauthorized, "unauthorized", "Send the API key as Authorization: Bearer koto_….")
	}
	p, limit, err := s.api.Authenticate(c.UserContext(), strings.TrimSpace(token))
	if err != nil {
		return err
	}
	reset := int(limit.Reset.Seconds() + 0.999)
	c.Set("RateLimit-Policy", fmt.Sprintf(`"per-key";q=%d;w=%d`, limit.Limit, int(api.Window.Seconds())))
	c.Set("RateLimit", fmt.Sprintf(`"per-key";r=%d;t=%d`, max(limit.Remaining, 0), reset))
	if limit.Exceeded() {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(reset, 1)))
		return problemOf(http.StatusTooManyRequests, "rate_limited",
			fmt.Sprintf("This key may make %d calls a minute; try again in %d s.", limit.Limit, max(reset, 1)))
	}
	c.Locals(keyAPIPrincipal, p)
	return c.Next()
}

// checkScope refuses a key without the scope the contract names for the
// operation (route patterns are the generated glue's, so a new operation
// is covered as soon as the contract names its scope).
func (s *Server) checkScope(c *fiber.Ctx, next fiber.Handler) error {
	scope, known := s.contract.scopes[c.Method()+" "+c.Route().Path]
	if !known {
		return fmt.Errorf("api: no scope known for %s %s", c.Method(), c.Route().Path)
	}
	if scope != "" && !apiPrincipal(c).HasScope(scope) {
		return problemOf(http.StatusForbidden, "insufficient_scope", "This key lacks the scope "+scope+".")
	}
	return next(c)
}

// maxIdempotencyKey is the longest Idempotency-Key taken.
const maxIdempotencyKey = 255

// idempotent makes a POST with an Idempotency-Key happen once: the first
// request runs and its answer is kept; a repeat, or one sent at the same
// time, gets that answer again. A first request that failed for the
// server's reasons (5xx) leaves nothing kept, so its retry runs again.
func (s *Server) idempotent(c *fiber.Ctx, next fiber.Handler) error {
	key := c.Get("Idempotency-Key")
	if c.Method() != fiber.MethodPost || key == "" {
		return next(c)
	}
	if len(key) > maxIdempotencyKey {
		return problemOf(http.StatusBadRequest, "bad_request", "The Idempotency-Key is longer than 255 characters.")
	}
	actor := apiPrincipal(c)
	sum := sha256.New()
	fmt.Fprintf(sum, "%s\n%s\n", c.Method(), c.Path())
	sum.Write(c.Body())
	first, answer, err := s.api.Claim(c.UserContext(), actor, key, sum.Sum(nil))
	if err != nil {
		return err
	}
	if !first {
		for k, v := range answer.Headers {
			c.Set(k, v)
		}
		c.Set("Idempotent-Replayed", "true")
		c.Set(fiber.HeaderContentType, answer.ContentType)
		return c.Status(answer.Status).Send(answer.Body)
	}
	if err := next(c); err != nil {
		// Rendered here, so that the answer kept is the one sent.
		if herr := s.handleError(c, err); herr != nil {
			return herr
		}
	}
	res := c.Response()
	if res.StatusCode() >= 500 {
		return s.api.Release(c.UserContext(), actor, key)
	}
	kept := api.Answer{Status: res.StatusCode(), ContentType: string(res.Header.ContentType()),
		Body: bytes.Clone(res.Body()), Headers: map[string]string{}}
	for _, h := range []string{fiber.HeaderLocation, fiber.HeaderETag} {
		if v := res.Header.Peek(h); len(v) > 0 {
			kept.Headers[h] = string(v)
		}
	}
	return s.api.Keep(c.UserContext(), actor, key, kept)
}

// registerAPI adds the contract's routes, behind the key check.
func (s *Server) registerAPI(r fiber.Router) {
	apiv1.RegisterHandlersWithOptions(r, &apiHandlers{s: s}, apiv1.FiberServerOptions{
		// r is the group under apiBase already.
		HandlerMiddlewares: []apiv1.HandlerMiddlewareFunc{s.checkScope, s.idempotent},
	})
}

// apiHandlers implements the generated apiv1.ServerInterface: each method
// reads its request, makes one call on a domain service, and answers.
type apiHandlers struct{ s *Server }

// errPrecondition are the ETag answers.
var (
	errNoIfMatch  = problemOf(http.StatusPreconditionRequired, "precondition_required", "Send the resource's ETag in If-Match.")
	errBadIfMatch = problemOf(http.StatusPreconditionFailed, "precondition_failed", "The resource changed since that ETag.")
)

// etag writes a version as an ETag.
func etag(version int) string { return `"v` + strconv.Itoa(version) + `"` }

// ifMatch reads the version an If-Match names: 0 when there is none, an
// error when it names none of ours.
func ifMatch(h *string) (int, error) {
	if h == nil || *h == "" {
		return 0, errNoIfMatch
	}
	v := strings.TrimPrefix(strings.TrimSpace(*h), "W/")
	v, ok := strings.CutPrefix(strings.Trim(v, `"`), "v")
	n, err := strconv.Atoi(v)
	if !ok || err != nil || n <= 0 {
		return 0, errBadIfMatch
	}
	return n, nil
}

package portal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/api"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/portal/portaltest"
)

// The contract test: every answer of every API call these tests make is
// validated against the OpenAPI document, status and headers and body, with
// undocumented fields refused, so the document cannot drift from the code.

// strictContract loads the contract with every object schema closed to
// fields it does not name.
func strictContract(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.Contract)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the contract is not valid OpenAPI: %v", err)
	}
	seen := map[*openapi3.Schema]bool{}
	var closeSchema func(s *openapi3.SchemaRef)
	closeSchema = func(s *openapi3.SchemaRef) {
		if s == nil || s.Value == nil || seen[s.Value] {
			return
		}
		v := s.Value
		seen[v] = true
		if v.Type != nil && v.Type.Is("object") && len(v.Properties) > 0 && v.AdditionalProperties.Has == nil && v.AdditionalProperties.Schema == nil {
			no := false
			v.AdditionalProperties.Has = &no
		}
		for _, p := range v.Properties {
			closeSchema(p)
		}
		closeSchema(v.Items)
	}
	for _, s := range doc.Components.Schemas {
		closeSchema(s)
	}
	// Served under /api/v1 on any host.
	doc.Servers = openapi3.Servers{{URL: "http://127.0.0.1/api/v1"}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc, router
}

// apiClient calls the API of one portal and validates every answer.
type apiClient struct {
	t      testing.TB
	base   string
	router routers.Router
	http   *http.Client
}

func newAPIClient(t testing.TB, in *portaltest.Instance) *apiClient {
	_, router := strictContract(t)
	return &apiClient{t: t, base: in.URL, router: router, http: &http.Client{Timeout: 30 * time.Second}}
}

// apiAnswer is an answer read whole.
type apiAnswer struct {
	Status int
	Header http.Header
	Body   []byte
}

func (a apiAnswer) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(a.Body, v); err != nil {
		t.Fatalf("decode %s: %v", a.Body, err)
	}
}

// problemCode is the code of a problem answer.
func (a apiAnswer) problemCode(t testing.TB) string {
	t.Helper()
	if ct := a.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("a problem comes as application/problem+json, got %q (%d %s)", ct, a.Status, a.Body)
	}
	var p struct{ Code string }
	a.decode(t, &p)
	return p.Code
}

// do sends a request with key (none when empty) and extra headers, and
// checks the answer against the contract.
func (c *apiClient) do(method, path, key string, body any, header ...string) apiAnswer {
	c.t.Helper()
	var rd io.Reader
	var raw []byte
	if body != nil {
		if b, ok := body.([]byte); ok {
			raw = b
		} else {
			var err error
			if raw, err = json.Marshal(body); err != nil {
				c.t.Fatal(err)
			}
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+"/api/v1"+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	c.validate(req, raw, res, got)
	return apiAnswer{Status: res.StatusCode, Header: res.Header, Body: got}
}

// validate checks one answer against the contract's operation for the
// request: an undocumented status, header value or field fails the test.
func (c *apiClient) validate(req *http.Request, reqBody []byte, res *http.Response, body []byte) {
	c.t.Helper()
	u := *req.URL
	u.Host = "127.0.0.1"
	vreq := req.Clone(context.Background())
	vreq.URL = &u
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := c.router.FindRoute(vreq)
	if err != nil {
		c.t.Fatalf("%s %s is not in the contract: %v", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route},
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		c.t.Errorf("%s %s answered %d against the contract: %v\n%s", req.Method, req.URL.Path, res.StatusCode, err, body)
	}
}

// apiFixture is a portal with the demo municipality, a second one, and
// the ids the tests name.
type apiFixture struct {
	in          *portaltest.Instance
	c           *apiClient
	owner       *pgx.Conn
	admin       auth.Principal // demo's admin
	otherAdmin  auth.Principal
	demoSP      int64
	otherSP     int64
	demoTenant  int64
	otherTenant int64
}

func startAPI(t testing.TB, opts ...portaltest.Option) *apiFixture {
	t.Helper()
	in := portaltest.Start(t, append([]portaltest.Option{portaltest.WithDemo(secPassword)}, opts...)...)
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, in.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { owner.Close(context.Background()) })
	f := &apiFixture{in: in, c: newAPIClient(t, in), owner: owner}
	q := func(dst *int64, sql string, args ...any) {
		t.Helper()
		if err := owner.QueryRow(ctx, sql, args...).Scan(dst); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	q(&f.demoTenant, `SELECT id FROM municipalities WHERE slug = $1`, demo.Municipality)
	q(&f.demoSP, `SELECT id FROM service_points WHERE slug = $1`, demo.ServicePoint)
	f.admin = auth.Principal{Tenant: f.demoTenant, Name: "Admin", Grants: []auth.Grant{{Role: auth.RoleAdmin}}}
	q(&f.admin.StaffID, `SELECT id FROM staff WHERE email = $1`, demo.AdminEmail)
	q(&f.otherTenant, `INSERT INTO municipalities (slug, name) VALUES ('other', 'Other') RETURNING id`)
	q(&f.otherSP, `INSERT INTO service_points (municipality_id, slug, names) VALUES ($1, 'other-sp', '{"fi": "Toinen"}') RETURNING id`, f.otherTenant)
	f.otherAdmin = auth.Principal{Tenant: f.otherTenant, Name: "Other", Grants: []auth.Grant{{Role: auth.RoleAdmin}}}
	q(&f.otherAdmin.StaffID, `INSERT INTO staff (municipality_id, email, name, password_hash) VALUES ($1, 'other-admin@example.org', 'Other', 'x') RETURNING id`, f.otherTenant)
	return f
}

// key makes a key of the actor's municipality with scopes.
func (f *apiFixture) key(t testing.TB, actor auth.Principal, sp int64, scopes ...string) (api.Key, string) {
	t.Helper()
	k, secret, err := f.in.API.CreateKey(context.Background(), actor, api.NewKey{Name: "Test key", Scopes: scopes, ServicePointID: sp})
	if err != nil {
		t.Fatal(err)
	}
	return k, secret
}

func (f *apiFixture) exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	if _, err := f.owner.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestAPIKeysAreCheckedOnEveryCall(t *testing.T) {
	f := startAPI(t)
	_, all := f.key(t, f.admin, 0, api.Scopes...)
	_, noStats := f.key(t, f.admin, 0, api.ScopeVisitsRead)
	revokedKey, revoked := f.key(t, f.admin, 0, api.Scopes...)
	expiredKey, expired := f.key(t, f.admin, 0, api.Scopes...)
	if err := f.in.API.RevokeKey(context.Background(), f.admin, revokedKey.ID); err != nil {
		t.Fatal(err)
	}
	f.exec(t, `UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, expiredKey.ID)

	stats := "/statistics/visits?from=2026-01-01&to=2026-01-31"
	for name, key := range map[string]string{"none": "", "unknown": api.TokenPrefix + "nonsense", "revoked": revoked, "expired": expired} {
		a := f.c.do("GET", stats, key, nil)
		if a.Status != http.StatusUnauthorized || a.problemCode(t) != "unauthorized" {
			t.Errorf("%s key: %d %s, want 401 unauthorized", name, a.Status, a.Body)
		}
		if a.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s key: 401 without WWW-Authenticate", name)
		}
	}
	if a := f.c.do("GET", stats, noStats, nil); a.Status != http.StatusForbidden || a.problemCode(t) != "insufficient_scope" {
		t.Errorf("key without stats:read: %d %s, want 403 insufficient_scope", a.Status, a.Body)
	}
	if a := f.c.do("GET", "/webhooks", noStats, nil); a.Status != http.StatusForbidden {
		t.Errorf("key without webhooks:manage: %d %s, want 403", a.Status, a.Body)
	}
	a := f.c.do("GET", stats, all, nil)
	if a.Status != http.StatusOK {
		t.Fatalf("key with the scope: %d %s", a.Status, a.Body)
	}
	if a.Header.Get("RateLimit") == "" || a.Header.Get("RateLimit-Policy") == "" {
		t.Errorf("no RateLimit headers: %v", a.Header)
	}
	// The admin screen shows when a key was last used.
	kp, err := f.in.API.Keys(context.Background(), f.admin)
	if err != nil {
		t.Fatal(err)
	}
	used := 0
	for _, k := range kp.Keys {
		if k.LastUsedAt != nil {
			used++
		}
	}
	if used != 2 { // all and noStats; revoked and expired never got in
		t.Errorf("%d keys show a last use, want 2", used)
	}
}

func TestAPIKeyOfAnotherMunicipalitySeesNothing(t *testing.T) {
	f := startAPI(t)
	_, demoKey := f.key(t, f.admin, 0, api.Scopes...)
	_, otherKey := f.key(t, f.otherAdmin, 0, api.Scopes...)
	var hook struct{ ID int64 }
	a := f.c.do("POST", "/webhooks", demoKey, map[string]any{"url": "https://example.org/hook", "events": []string{"client.created"}})
	if a.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", a.Status, a.Body)
	}
	a.decode(t, &hook)

	var points struct{ Data []struct{ ID int64 } }
	f.c.do("GET", "/service-points", otherKey, nil).decode(t, &points)
	if len(points.Data) != 1 || points.Data[0].ID != f.otherSP {
		t.Errorf("the other municipality's key lists %+v, want only its own service point %d", points.Data, f.otherSP)
	}
	hookPath := "/webhooks/" + strconv.FormatInt(hook.ID, 10)
	for _, r := range []struct{ method, path string }{
		{"GET", "/service-points/" + strconv.FormatInt(f.demoSP, 10) + "/queue"},
		{"GET", hookPath},
		{"GET", hookPath + "/deliveries"},
		{"DELETE", hookPath},
		{"POST", hookPath + "/test"},
	} {
		if a := f.c.do(r.method, r.path, otherKey, nil); a.Status != http.StatusNotFound || a.problemCode(t) != "not_found" {
			t.Errorf("%s %s with the other municipality's key: %d %s, want 404", r.method, r.path, a.Status, a.Body)
		}
	}
	var list struct{ Data []any }
	f.c.do("GET", "/webhooks", otherKey, nil).decode(t, &list)
	if len(list.Data) != 0 {
		t.Errorf("the other municipality's key lists %d webhooks", len(list.Data))
	}
	a = f.c.do("GET", "/statistics/visits?from=2026-01-01&to=2026-01-02&service_point_id="+strconv.FormatInt(f.demoSP, 10), otherKey, nil)
	if a.Status != http.StatusUnprocessableEntity {
		t.Errorf("statistics of demo's service point with the other key: %d %s, want 422", a.Status, a.Body)
	}
	// Still there for its own municipality.
	if a := f.c.do("GET", hookPath, demoKey, nil); a.Status != http.StatusOK {
		t.Errorf("own webhook: %d", a.Status)
	}
}

func TestAPIKeyNarrowedToAServicePoint(t *testing.T) {
	f := startAPI(t)
	var second int64
	if err := f.owner.QueryRow(context.Background(), `INSERT INTO service_points (municipality_id, slug) VALUES ($1, 'second') RETURNING id`, f.demoTenant).Scan(&second); err != nil {
		t.Fatal(err)
	}
	_, key := f.key(t, f.admin, f.demoSP, api.Scopes...)
	if a := f.c.do("GET", "/service-points/"+strconv.FormatInt(f.demoSP, 10)+"/queue", key, nil); a.Status != http.StatusOK {
		t.Errorf("own service point's queue: %d %s", a.Status, a.Body)
	}
	if a := f.c.do("GET", "/service-points/"+strconv.FormatInt(second, 10)+"/queue", key, nil); a.Status != http.StatusForbidden {
		t.Errorf("another service point's queue: %d %s, want 403", a.Status, a.Body)
	}
	if a := f.c.do("GET", "/webhooks", key, nil); a.Status != http.StatusForbidden {
		t.Errorf("webhooks are municipality-wide, a narrowed key got %d", a.Status)
	}
	var points struct{ Data []struct{ ID int64 } }
	f.c.do("GET", "/service-points", key, nil).decode(t, &points)
	if len(points.Data) != 1 || points.Data[0].ID != f.demoSP {
		t.Errorf("narrowed key lists %+v", points.Data)
	}
}

func TestAPIIdempotencyKey(t *testing.T) {
	f := startAPI(t)
	_, key := f.key(t, f.admin, 0, api.ScopeWebhooksManage)
	body := map[string]any{"url": "https://example.org/once", "events": []string{"task.created"}}
	first := f.c.do("POST", "/webhooks", key, body, "Idempotency-Key", "create-once")
	again := f.c.do("POST", "/webhooks", key, body, "Idempotency-Key", "create-once")
	if first.Status != http.StatusCreated || again.Status != http.StatusCreated {
		t.Fatalf("statuses %d, %d", first.Status, again.Status)
	}
	if !bytes.Equal(first.Body, again.Body) || again.Header.Get("Location") != first.Header.Get("Location") {
		t.Errorf("the repeat answered differently:\n%s\n%s", first.Body, again.Body)
	}
	if again.Header.Get("Idempotent-Replayed") != "true" {
		t.Error("the repeat does not say it was replayed")
	}
	other := f.c.do("POST", "/webhooks", key, map[string]any{"url": "https://example.org/other", "events": []string{"task.created"}},
		"Idempotency-Key", "create-once")
	if other.Status != http.StatusUnprocessableEntity || other.problemCode(t) != "idempotency_key_reused" {
		t.Errorf("the key with another body: %d %s", other.Status, other.Body)
	}

	// Two at once with one key create one endpoint and get one answer.
	const n = 4
	answers := make([]apiAnswer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = f.c.do("POST", "/webhooks", key, map[string]any{"url": "https://example.org/race", "events": []string{"task.done"}},
				"Idempotency-Key", "race")
		}()
	}
	wg.Wait()
	for i, a := range answers {
		if a.Status != http.StatusCreated || !bytes.Equal(a.Body, answers[0].Body) {
			t.Errorf("concurrent request %d: %d %s", i, a.Status, a.Body)
		}
	}
	var count int
	if err := f.owner.QueryRow(context.Background(), `SELECT count(*) FROM webhook_endpoints WHERE url IN ('https://example.org/race', 'https://example.org/once')`).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != 2 {
		t.Errorf("%d endpoints were created, want 2 (one per Idempotency-Key)", count)
	}
}

func TestAPIRateLimitIsPerKeyAndShared(t *testing.T) {
	f := startAPI(t)
	k, key := f.key(t, f.admin, 0, api.ScopeVisitsRead)
	_, other := f.key(t, f.admin, 0, api.ScopeVisitsRead)
	f.exec(t, `UPDATE api_keys SET rate_per_minute = 3 WHERE id = $1`, k.ID)
	// A second portal on the same database counts against the same limit.
	second := portaltest.Start(t, portaltest.WithDatabase(f.in.OwnerURL))
	c2 := newAPIClient(t, second)
	for i, c := range []*apiClient{f.c, c2, f.c} {
		if a := c.do("GET", "/service-points", key, nil); a.Status != http.StatusOK {
			t.Fatalf("call %d: %d %s", i+1, a.Status, a.Body)
		}
	}
	a := c2.do("GET", "/service-points", key, nil)
	if a.Status != http.StatusTooManyRequests || a.problemCode(t) != "rate_limited" {
		t.Fatalf("fourth call: %d %s, want 429", a.Status, a.Body)
	}
	if ra, err := strconv.Atoi(a.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Errorf("Retry-After %q", a.Header.Get("Retry-After"))
	}
	if !strings.Contains(a.Header.Get("RateLimit"), "r=0") {
		t.Errorf("RateLimit %q, want r=0", a.Header.Get("RateLimit"))
	}
	if a := f.c.do("GET", "/service-points", other, nil); a.Status != http.StatusOK {
		t.Errorf("another key is not limited by the first: %d", a.Status)
	}
}

func TestAPIUpdatesNeedTheCurrentETag(t *testing.T) {
	f := startAPI(t)
	_, key := f.key(t, f.admin, 0, api.ScopeWebhooksManage)
	created := f.c.do("POST", "/webhooks", key, map[string]any{"url": "https://example.org/etag", "events": []string{"task.created"}})
	var hook struct{ ID int64 }
	created.decode(t, &hook)
	path := "/webhooks/" + strconv.FormatInt(hook.ID, 10)
	tag := f.c.do("GET", path, key, nil).Header.Get("ETag")
	if tag == "" || tag != created.Header.Get("ETag") {
		t.Fatalf("ETag %q, on create %q", tag, created.Header.Get("ETag"))
	}
	change := map[string]any{"description": "first"}
	if a := f.c.do("PATCH", path, key, change); a.Status != http.StatusPreconditionRequired {
		t.Errorf("without If-Match: %d %s", a.Status, a.Body)
	}
	a := f.c.do("PATCH", path, key, change, "If-Match", tag)
	if a.Status != http.StatusOK || a.Header.Get("ETag") == tag {
		t.Fatalf("with the ETag: %d %s, ETag %q", a.Status, a.Body, a.Header.Get("ETag"))
	}
	if a := f.c.do("PATCH", path, key, map[string]any{"description": "second"}, "If-Match", tag); a.Status != http.StatusPreconditionFailed {
		t.Errorf("with a stale ETag: %d %s, want 412", a.Status, a.Body)
	}
}

func TestAPIBadRequestsGetProblems(t *testing.T) {
	f := startAPI(t)
	_, key := f.key(t, f.admin, 0, api.Scopes...)
	cases := []struct {
		name, method, path string
		body               any
		header             []string
		status             int
		code               string
	}{
		{"not json", "POST", "/webhooks", []byte("{"), nil, 400, "bad_request"},
		{"unknown field", "POST", "/webhooks", map[string]any{"url": "https://x.example", "events": []string{"task.done"}, "extra": 1}, nil, 422, "validation_failed"},
		{"wrong type", "POST", "/webhooks", map[string]any{"url": 5, "events": []string{"task.done"}}, nil, 422, "validation_failed"},
		{"http address", "POST", "/webhooks", map[string]any{"url": "http://x.example", "events": []string{"task.done"}}, nil, 422, "validation_failed"},
		{"unknown event", "POST", "/webhooks", map[string]any{"url": "https://x.example", "events": []string{"nope"}}, nil, 422, "validation_failed"},
		{"no events", "POST", "/webhooks", map[string]any{"url": "https://x.example", "events": []string{}}, nil, 422, "validation_failed"},
		{"not a number", "GET", "/webhooks/abc", nil, nil, 400, "bad_request"},
		{"bad date", "GET", "/statistics/visits?from=yesterday&to=2026-01-01", nil, nil, 400, "bad_request"},
		{"range backwards", "GET", "/statistics/visits?from=2026-02-01&to=2026-01-01", nil, nil, 422, "validation_failed"},
		{"long idempotency key", "POST", "/webhooks", map[string]any{"url": "https://x.example", "events": []string{"task.done"}},
			[]string{"Idempotency-Key", strings.Repeat("k", 300)}, 400, "bad_request"},
	}
	for _, tc := range cases {
		a := f.c.do(tc.method, tc.path, key, tc.body, tc.header...)
		if a.Status != tc.status || a.problemCode(t) != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, a.Status, a.Body, tc.status, tc.code)
		}
	}
	// Too large a body.
	big := []byte(`{"url":"https://x.example","events":["task.done"],"description":"` + strings.Repeat("x", 200*1024) + `"}`)
	if a := f.c.do("POST", "/webhooks", key, big); a.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("a big body: %d", a.Status)
	}
	// The field at fault is named.
	var p struct {
		Errors []struct{ Field, Code string }
	}
	f.c.do("POST", "/webhooks", key, map[string]any{"url": "https://x.example", "events": []string{"task.done"}, "extra": 1}).decode(t, &p)
	if len(p.Errors) != 1 || p.Errors[0].Field != "extra" || p.Errors[0].Code != "unknown_field" {
		t.Errorf("field errors %+v", p.Errors)
	}
}

func TestAPIContractAndReferenceAreServed(t *testing.T) {
	f := startAPI(t)
	res, err := http.Get(f.in.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if _, err := openapi3.NewLoader().LoadFromData(b); err != nil || res.StatusCode != 200 {
		t.Fatalf("openapi.json: %d %v", res.StatusCode, err)
	}
	res, err = http.Get(f.in.URL + "/api/v1/docs")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	page, _ := io.ReadAll(res.Body)
	csp := res.Header.Get("Content-Security-Policy")
	if res.StatusCode != 200 || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "default-src 'self'") {
		t.Fatalf("docs: %d, CSP %q", res.StatusCode, csp)
	}
	for _, want := range []string{`lang="en"`, "GET /api/v1/statistics/visits", "stats:read", `id="problem-rate_limited"`, `id="schema-Problem"`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the reference page lacks %q", want)
		}
	}
	if strings.Contains(string(page), "http://") && strings.Contains(string(page), "<script src=\"http") {
		t.Error("the reference page loads something from elsewhere")
	}
}

package api_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/api"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/events"
	"github.com/koto-portal/portal/internal/jobs"
	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/store"
	"github.com/koto-portal/portal/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// receiver is an add-on's endpoint: it verifies each delivery's signature
// as the README's example does, and answers what answer says.
type receiver struct {
	srv     *httptest.Server
	secret  atomic.Value // string
	answer  func(n int) int
	mu      sync.Mutex
	got     []string // webhook-ids of verified deliveries
	bad     int      // deliveries whose signature did not verify
	calls   atomic.Int32
	hold    chan struct{} // when set, the first call waits on it
	arrived chan struct{}
}

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	r := &receiver{answer: answer, arrived: make(chan struct{}, 100)}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n := int(r.calls.Add(1))
		r.arrived <- struct{}{}
		if n == 1 && r.hold != nil {
			select {
			case <-r.hold:
			case <-req.Context().Done():
				return
			}
		}
		body, _ := io.ReadAll(req.Body)
		secret, _ := r.secret.Load().(string)
		r.mu.Lock()
		if err := api.Verify(secret, req.Header, body, time.Now(), 5*time.Minute); err != nil {
			r.bad++
		} else {
			r.got = append(r.got, req.Header.Get("webhook-id"))
		}
		r.mu.Unlock()
		w.WriteHeader(r.answer(n))
		_, _ = io.WriteString(w, "thanks")
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) verified() (ids []string, bad int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...), r.bad
}

// world is a database with a municipality, its admin, and an API service
// whose deliveries go through a job queue of its own.
type world struct {
	db     *store.DB
	owner  string
	admin  auth.Principal
	tenant int64
}

func newWorld(t *testing.T) *world {
	db, owner := testdb.New(t)
	w := &world{db: db, owner: owner}
	w.tenant, w.admin = seedMunicipality(t, owner, "hooks")
	return w
}

// seedMunicipality makes a municipality and its admin, as the owner.
func seedMunicipality(t *testing.T, owner, slug string) (int64, auth.Principal) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var tenant, staff int64
	if err := conn.QueryRow(ctx, `INSERT INTO municipalities (slug, name) VALUES ($1, $1) RETURNING id`, slug).Scan(&tenant); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `INSERT INTO staff (municipality_id, email, name, password_hash) VALUES ($1, $2, 'Admin', 'x') RETURNING id`,
		tenant, "admin@"+slug+".example").Scan(&staff); err != nil {
		t.Fatal(err)
	}
	return tenant, auth.Principal{StaffID: staff, Tenant: tenant, Name: "Admin", Grants: []auth.Grant{{Role: auth.RoleAdmin}}}
}

// setLastAttempt leaves each delivery job one attempt: the day of retries
// is over.
func setLastAttempt(t *testing.T, owner string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE river_job SET max_attempts = attempt + 1 WHERE kind = 'deliver_webhook'`); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// startJobs starts a job queue with the API's workers on w's database;
// stop ends it (as an instance going away does).
func (w *world) startJobs(t *testing.T, r *receiver, schedule []time.Duration) (*api.Service, *jobs.Service) {
	t.Helper()
	return startInstance(t, w.db, r.srv.Client(), jobs.Options{}, schedule)
}

// startInstance is one portal instance's API service and job queue on db,
// delivering through client (the receiver's, since the production client
// refuses the loopback address the receiver listens on). It polls often,
// so that tests do not wait on River's one-second default.
func startInstance(t *testing.T, db *store.DB, client *http.Client, opts jobs.Options, schedule []time.Duration) (*api.Service, *jobs.Service) {
	t.Helper()
	if opts.PollInterval == 0 {
		opts.PollInterval = 100 * time.Millisecond
	}
	s := api.New(db, nil)
	j := jobs.New(db, opts)
	s.Register(j, api.HookOptions{Client: client, Schedule: schedule})
	if err := j.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, j
}

func (w *world) endpoint(t *testing.T, s *api.Service, r *receiver, events ...string) api.Endpoint {
	t.Helper()
	u := r.srv.URL
	e, secret, err := s.CreateWebhook(context.Background(), w.admin, api.EndpointInput{URL: &u, Events: events})
	if err != nil {
		t.Fatal(err)
	}
	r.secret.Store(secret)
	return e
}

func (w *world) emit(t *testing.T, s *api.Service, event string, rollback bool) {
	t.Helper()
	errRollback := errors.New("roll back")
	err := w.db.InTenant(context.Background(), w.tenant, func(tx sqldb.Tx) error {
		if err := s.Emit(context.Background(), tx, event, events.Data{"client_id": 7}); err != nil {
			return err
		}
		if rollback {
			return errRollback
		}
		return nil
	})
	if rollback && !errors.Is(err, errRollback) || !rollback && err != nil {
		t.Fatal(err)
	}
}

func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var fast = []time.Duration{10 * time.Millisecond}

func TestWebhookIsSignedAndDeliveredOnlyForCommittedEvents(t *testing.T) {
	w := newWorld(t)
	r := newReceiver(t, func(int) int { return http.StatusOK })
	s, j := w.startJobs(t, r, fast)
	defer j.Stop(context.Background())
	e := w.endpoint(t, s, r, events.ClientCreated)

	w.emit(t, s, events.ClientCreated, true)  // rolled back: never sent
	w.emit(t, s, events.TaskDone, false)      // not chosen: never sent
	w.emit(t, s, events.ClientCreated, false) // sent once
	waitUntil(t, 20*time.Second, "the delivery", func() bool { ids, _ := r.verified(); return len(ids) == 1 })
	time.Sleep(500 * time.Millisecond) // room for a wrong second delivery
	ids, bad := r.verified()
	if len(ids) != 1 || bad != 0 || r.calls.Load() != 1 {
		t.Fatalf("verified %v, %d bad, %d calls; want one signed delivery", ids, bad, r.calls.Load())
	}
	_, ds, err := s.Webhook(context.Background(), w.admin, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || !ds[0].OK() || ds[0].Response != "thanks" || api.MessageID(ds[0].EventID) != ids[0] {
		t.Errorf("delivery log %+v", ds)
	}
	var jobsMade int
	if err := w.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = 'deliver_webhook'`).Scan(&jobsMade); err != nil || jobsMade != 1 {
		t.Errorf("%d delivery jobs (%v), want 1: the rolled-back event made one", jobsMade, err)
	}
}

func TestWebhookSignatureFailsWithAnotherSecret(t *testing.T) {
	body := []byte(`{"type":"client.created"}`)
	now := time.Now()
	secret := api.NewSecret()
	signed := func(at time.Time) http.Header {
		sig, err := api.Sign(secret, "msg_1", at, body)
		if err != nil {
			t.Fatal(err)
		}
		return http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {itoa(at.Unix())}, "Webhook-Signature": {sig}}
	}
	if err := api.Verify(secret, signed(now), body, now, time.Minute); err != nil {
		t.Fatalf("its own secret: %v", err)
	}
	if err := api.Verify(api.NewSecret(), signed(now), body, now, time.Minute); err == nil {
		t.Error("another secret verified")
	}
	// Signed correctly an hour ago: only the timestamp is wrong.
	if err := api.Verify(secret, signed(now.Add(-time.Hour)), body, now, time.Minute); err == nil {
		t.Error("an old timestamp verified")
	}
}

func TestWebhookFailingReceiverGetsRetries(t *testing.T) {
	w := newWorld(t)
	r := newReceiver(t, func(n int) int {
		if n < 3 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	s, j := w.startJobs(t, r, fast)
	defer j.Stop(context.Background())
	e := w.endpoint(t, s, r, events.TaskCreated)
	w.emit(t, s, events.TaskCreated, false)
	waitUntil(t, 60*time.Second, "the third attempt", func() bool { return r.calls.Load() >= 3 })
	waitUntil(t, 10*time.Second, "the log of three attempts", func() bool {
		_, ds, err := s.Webhook(context.Background(), w.admin, e.ID)
		return err == nil && len(ds) == 3 && ds[0].OK() && !ds[1].OK() && ds[1].StatusCode == 500
	})
}

func TestWebhookEndpointIsSwitchedOffAfterTheLastAttempt(t *testing.T) {
	w := newWorld(t)
	r := newReceiver(t, func(int) int { return http.StatusInternalServerError })
	s, j := w.startJobs(t, r, fast)
	defer j.Stop(context.Background())
	e := w.endpoint(t, s, r, events.TaskCreated)
	w.emit(t, s, events.TaskCreated, false)
	// The schedule's last attempt is the job's last: pretend the day has
	// passed by giving the job one attempt left.
	waitUntil(t, 20*time.Second, "the first attempt", func() bool { return r.calls.Load() >= 1 })
	setLastAttempt(t, w.owner)
	waitUntil(t, 60*time.Second, "the switch-off", func() bool {
		hooks, err := s.Webhooks(context.Background(), w.admin)
		return err == nil && len(hooks) == 1 && hooks[0].ID == e.ID && !hooks[0].Active && hooks[0].DisabledAt != nil
	})
}

func TestWebhookDeliveredAfterTheInstanceStopsMidDelivery(t *testing.T) {
	w := newWorld(t)
	r := newReceiver(t, func(int) int { return http.StatusOK })
	r.hold = make(chan struct{})
	s, j := w.startJobs(t, r, []time.Duration{200 * time.Millisecond})
	e := w.endpoint(t, s, r, events.ClientUpdated)
	w.emit(t, s, events.ClientUpdated, false)
	<-r.arrived // the first delivery is on the wire
	// The instance goes away with the delivery unanswered.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_ = j.Stop(ctx)
	cancel()
	close(r.hold)
	// Another instance takes the job over and delivers it.
	s2, j2 := w.startJobs(t, r, []time.Duration{200 * time.Millisecond})
	defer j2.Stop(context.Background())
	waitUntil(t, 60*time.Second, "the delivery by the second instance", func() bool {
		_, ds, err := s2.Webhook(context.Background(), w.admin, e.ID)
		if err != nil {
			return false
		}
		for _, d := range ds {
			if d.OK() {
				return true
			}
		}
		return false
	})
}

package api_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/api"
	"github.com/koto-portal/portal/internal/events"
	"github.com/koto-portal/portal/internal/jobs"
	"github.com/koto-portal/portal/internal/jobs/jobstest"
	"github.com/koto-portal/portal/internal/store"
)

// killedInstanceEnv makes this test binary the portal instance that
// TestWebhookDeliveredAfterSIGKILLMidDelivery kills: it holds the app's
// database URL, the receiver's certificate (base64 DER; the receiver's own
// client cannot cross the process boundary) and the municipality.
const killedInstanceEnv = "KOTO_TEST_KILLED_DELIVERING_INSTANCE"

// killSchedule is both instances' retry schedule: short, so that the
// rescued delivery goes out at once.
var killSchedule = []time.Duration{200 * time.Millisecond}

// A real process emits an event and is killed with SIGKILL while its
// delivery is on the wire, unanswered. The job it leaves running is
// rescued by the next instance, which delivers the same message, signed,
// once; the delivery log has that one successful attempt, and nothing of
// the killed one, which never got an answer to record.
func TestWebhookDeliveredAfterSIGKILLMidDelivery(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	r := newReceiver(t, func(int) int { return http.StatusOK })
	r.hold = make(chan struct{})
	// Registered after the receiver's, so it runs before the server's
	// Close, which would wait for a held request whose end it missed.
	t.Cleanup(func() { close(r.hold) })
	e := w.endpoint(t, api.New(w.db, nil), r, events.ClientUpdated)

	inst := jobstest.StartInstance(t, "TestKilledDeliveringInstance", killedInstanceEnv,
		w.db.Pool.Config().ConnString(), base64.StdEncoding.EncodeToString(r.srv.Certificate().Raw), itoa(w.tenant))
	child, log := inst.Cmd, inst.Log
	deliveryJobs := func(state string) int {
		t.Helper()
		var n int
		if err := w.db.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'deliver_webhook' AND ($1 = '' OR state::text = $1)`,
			state).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	select {
	case <-r.arrived: // the delivery is on the wire, and the receiver holds it
	case <-time.After(30 * time.Second):
		t.Fatalf("the instance did not start delivering:\n%s", log())
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	_, ds, err := api.New(w.db, nil).Webhook(ctx, w.admin, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := deliveryJobs("running"); n != 1 || len(ds) != 0 {
		t.Fatalf("after the kill: %d delivery jobs running, %d deliveries logged; want the job running and none logged\n%s", n, len(ds), log())
	}

	// River rescues a running job only once it has run longer than the
	// rescue threshold, which it will not let be shorter than its job
	// timeout of a minute. Rather than wait that minute, the attempt is
	// moved back by it, as if the next instance came up a minute later.
	const rescueAfter = time.Minute
	if _, err := w.db.Pool.Exec(ctx, `UPDATE river_job SET attempted_at = attempted_at - make_interval(secs => $1)
		WHERE kind = 'deliver_webhook' AND state = 'running'`, rescueAfter.Seconds()); err != nil {
		t.Fatal(err)
	}
	s2, j2 := startInstance(t, w.db, r.srv.Client(), jobs.Options{RescueAfter: rescueAfter}, killSchedule)
	defer j2.Stop(ctx)
	// The killed instance still leads River's maintenance (the rescuer
	// among it) until its term runs out, some 15 s.
	waitUntil(t, 60*time.Second, "the delivery by the next instance", func() bool { return deliveryJobs("completed") == 1 })
	time.Sleep(500 * time.Millisecond) // room for a wrong second delivery

	ids, bad := r.verified()
	if len(ids) != 1 || bad != 0 || r.calls.Load() != 2 {
		t.Fatalf("verified %v, %d bad, %d calls; want the held call and one signed delivery", ids, bad, r.calls.Load())
	}
	_, ds, err = s2.Webhook(ctx, w.admin, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Attempt 2: the killed instance's job, taken over, not a new one.
	if len(ds) != 1 || !ds[0].OK() || ds[0].Attempt != 2 || ds[0].Response != "thanks" || api.MessageID(ds[0].EventID) != ids[0] {
		t.Errorf("delivery log %+v, want one successful second attempt of %s", ds, ids[0])
	}
	if n := deliveryJobs(""); n != 1 {
		t.Errorf("%d delivery jobs, want the one", n)
	}
}

// TestKilledDeliveringInstance is the process that
// TestWebhookDeliveredAfterSIGKILLMidDelivery kills: it works the job
// queue, emits an event, and waits. Run by itself it does nothing.
func TestKilledDeliveringInstance(t *testing.T) {
	env := os.Getenv(killedInstanceEnv)
	if env == "" {
		return
	}
	a := strings.Fields(env)
	if len(a) != 3 {
		t.Fatalf("%s=%q: want the database URL, the certificate and the municipality", killedInstanceEnv, env)
	}
	der, err := base64.StdEncoding.DecodeString(a[1])
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	tenant, err := strconv.ParseInt(a[2], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), a[0], 4)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots}
	s, _ := startInstance(t, db, &http.Client{Transport: tr}, jobs.Options{}, killSchedule)
	(&world{db: db, tenant: tenant}).emit(t, s, events.ClientUpdated, false)
	select {} // until killed
}

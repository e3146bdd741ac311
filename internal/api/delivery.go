package api

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/riverqueue/river"

	"github.com/koto-portal/portal/internal/events"
	"github.com/koto-portal/portal/internal/jobs"
	"github.com/koto-portal/portal/internal/sqldb"
)

// RetrySchedule is the wait before each new attempt of a delivery that
// failed: together about a day, after which the endpoint is switched off.
var RetrySchedule = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 5 * time.Minute,
	15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 8 * time.Hour}

// deliveryTimeout bounds one attempt; a receiver should answer at once and
// do its work later.
const deliveryTimeout = 15 * time.Second

// hooks is what delivering webhooks needs besides the database.
type hooks struct {
	jobs     *jobs.Service
	client   *http.Client
	schedule []time.Duration
}

// HookOptions adjust webhook delivery; the zero value is production's.
type HookOptions struct {
	// Client sends the deliveries; nil means one that refuses loopback,
	// private and link-local addresses, so an endpoint cannot reach into
	// the portal's own network.
	Client *http.Client
	// Schedule replaces RetrySchedule (tests shorten it).
	Schedule []time.Duration
}

// Register gives the API its durable jobs: webhook deliveries, which
// Emit enqueues from now on, and the sweep of kept answers and rate
// windows. Call it before j starts.
func (s *Service) Register(j *jobs.Service, o HookOptions) {
	s.hooks = hooks{jobs: j, client: o.Client, schedule: o.Schedule}
	if s.hooks.client == nil {
		s.hooks.client = publicOnlyClient()
	}
	if s.hooks.schedule == nil {
		s.hooks.schedule = RetrySchedule
	}
	jobs.AddWorker(j, &deliveryWorker{api: s})
	jobs.Periodic[SweepAPI](j, time.Hour, func(ctx context.Context) error {
		_, err := s.Sweep(ctx)
		return err
	})
}

// publicOnlyClient refuses to connect to an address that is not public.
func publicOnlyClient() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		ip := net.ParseIP(host)
		if ip == nil || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() || ip.IsMulticast() {
			return fmt.Errorf("api: webhook address %s is not public", host)
		}
		return nil
	}}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = d.DialContext
	tr.Proxy = nil
	return &http.Client{Transport: tr, Timeout: deliveryTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Emit records events of the caller's transaction and enqueues their
// delivery to every active endpoint that chose them, in that transaction:
// a change that rolls back sends nothing, and one that commits is
// delivered even if this instance dies next. data holds ids only, one
// event each. It is the events.Sink of the domain services.
func (s *Service) Emit(ctx context.Context, tx sqldb.Tx, event string, data ...events.Data) error {
	_, err := s.emit(ctx, tx, event, 0, data...)
	return err
}

// emit is Emit returning the events' ids (none when no endpoint hears of
// them); a non-zero only sends to that endpoint alone (a test event).
func (s *Service) emit(ctx context.Context, tx sqldb.Tx, event string, only int64, data ...events.Data) ([]int64, error) {
	rows, err := tx.Query(ctx, `SELECT id FROM webhook_endpoints WHERE active AND ($1 <> 0 AND id = $1 OR $1 = 0 AND $2 = ANY(events))`, only, event)
	if err != nil {
		return nil, err
	}
	endpoints, err := sqldb.CollectRows(rows, sqldb.RowTo[int64])
	if err != nil || len(endpoints) == 0 {
		return nil, err
	}
	if s.hooks.jobs == nil {
		return nil, errors.New("api: webhooks are not registered with the job queue")
	}
	ids := make([]int64, len(data))
	args := make([]river.JobArgs, 0, len(data)*len(endpoints))
	for i, d := range data {
		var tenant int64
		if err := tx.QueryRow(ctx, `INSERT INTO webhook_events (municipality_id, type, data) VALUES (koto_tenant(), $1, $2)
			RETURNING id, municipality_id`, event, d).Scan(&ids[i], &tenant); err != nil {
			return nil, err
		}
		for _, e := range endpoints {
			args = append(args, DeliverWebhook{Tenant: tenant, Endpoint: e, Event: ids[i]})
		}
	}
	return ids, s.hooks.jobs.InsertTx(ctx, tx, args...)
}

// DeliverWebhook is the job that delivers one event to one endpoint.
type DeliverWebhook struct {
	Tenant   int64 `json:"tenant"`
	Endpoint int64 `json:"endpoint"`
	Event    int64 `json:"event"`
}

// Kind names the job in River's table.
func (DeliverWebhook) Kind() string { return "deliver_webhook" }

// InsertOpts give a delivery its attempts: one, and one after each wait of
// the schedule (MaxAttempts is River's; NextRetry gives the waits).
func (DeliverWebhook) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: len(RetrySchedule) + 1}
}

type deliveryWorker struct {
	river.WorkerDefaults[DeliverWebhook]
	api *Service
}

// NextRetry follows the schedule rather than River's default backoff, so
// that a day of failing is a day whatever River's defaults become.
func (w *deliveryWorker) NextRetry(job *river.Job[DeliverWebhook]) time.Time {
	sc := w.api.hooks.schedule
	i := min(max(job.Attempt-1, 0), len(sc)-1)
	return time.Now().Add(sc[i])
}

func (w *deliveryWorker) Timeout(*river.Job[DeliverWebhook]) time.Duration {
	return 2 * deliveryTimeout
}

// Payload is the body of a delivery.
type Payload struct {
	Type      string           `json:"type"`
	Timestamp time.Time        `json:"timestamp"`
	Data      map[string]int64 `json:"data"`
}

// MessageID is the webhook-id of an event: the same for every attempt, so
// the receiver can drop repeats.
func MessageID(event int64) string { return "msg_" + strconv.FormatInt(event, 10) }

// Sign is the Standard Webhooks signature of a delivery: HMAC-SHA256 with
// the secret's key over "id.timestamp.body", as "v1,<base64>".
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", fmt.Errorf("api: bad webhook secret: %w", err)
	}
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.", id, ts.Unix())
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

// Verify checks a delivery's signature headers as a receiver does: one of
// the space-separated signatures must match, and the timestamp must be
// within tolerance of now (against replays).
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, tsText, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	sec, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil || id == "" {
		return errors.New("webhook: missing id or timestamp")
	}
	ts := time.Unix(sec, 0)
	if d := now.Sub(ts); d > tolerance || d < -tolerance {
		return errors.New("webhook: timestamp out of tolerance")
	}
	want, err := Sign(secret, id, ts, body)
	if err != nil {
		return err
	}
	for _, s := range strings.Fields(sigs) {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return errors.New("webhook: no signature matches")
}

// errReceiver is a delivery the receiver did not take: River tries again.
var errReceiver = errors.New("api: the webhook receiver did not take the delivery")

func (w *deliveryWorker) Work(ctx context.Context, job *river.Job[DeliverWebhook]) error {
	a := job.Args
	var url, secret, typ string
	var active bool
	var p Payload
	err := w.api.db.InTenant(ctx, a.Tenant, func(tx sqldb.Tx) error {
		err := tx.QueryRow(ctx, `SELECT h.url, h.secret, h.active, e.type, e.data, e.created_at
			FROM webhook_endpoints h, webhook_events e WHERE h.id = $1 AND e.id = $2`, a.Endpoint, a.Event).
			Scan(&url, &secret, &active, &typ, &p.Data, &p.Timestamp)
		return err
	})
	if errors.Is(err, sqldb.ErrNoRows) || err == nil && !active {
		// Deleted or switched off since: nothing to deliver.
		return river.JobCancel(fmt.Errorf("api: webhook %d is gone or off", a.Endpoint))
	}
	if err != nil {
		return err
	}
	p.Type = typ
	p.Timestamp = p.Timestamp.UTC()
	body, err := json.Marshal(p)
	if err != nil {
		return river.JobCancel(err)
	}
	status, answer, took, sendErr := w.send(ctx, url, secret, MessageID(a.Event), body)
	last := job.Attempt >= job.MaxAttempts
	ok := sendErr == nil && status >= 200 && status < 300
	errText := ""
	if sendErr != nil {
		errText = truncate(sendErr.Error(), 1000)
	}
	err = w.api.db.InTenant(ctx, a.Tenant, func(tx sqldb.Tx) error {
		var code *int
		if status != 0 {
			code = &status
		}
		if _, err := tx.Exec(ctx, `INSERT INTO webhook_deliveries (municipality_id, endpoint_id, event_id, attempt, status_code, response, error, duration_ms)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, a.Tenant, a.Endpoint, a.Event, job.Attempt, code, answer, errText, took.Milliseconds()); err != nil {
			return err
		}
		if !ok && last {
			// A day of failing: switch it off, and the admin's screens say so.
			_, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET active = false, disabled_at = now(), version = version + 1, updated_at = now()
				WHERE id = $1`, a.Endpoint)
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case ok:
		return nil
	case last:
		return river.JobCancel(fmt.Errorf("%w: gave up after %d attempts", errReceiver, job.Attempt))
	case sendErr != nil:
		return fmt.Errorf("%w: %w", errReceiver, sendErr)
	}
	return fmt.Errorf("%w: status %d", errReceiver, status)
}

// send makes one delivery and reads the start of the answer.
func (w *deliveryWorker) send(ctx context.Context, url, secret, id string, body []byte) (status int, answer string, took time.Duration, err error) {
	start := time.Now()
	sig, err := Sign(secret, id, start, body)
	if err != nil {
		return 0, "", 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, deliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Koto-Portal-Webhooks/1")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(start.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := w.api.hooks.client.Do(req)
	if err != nil {
		return 0, "", time.Since(start), err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1000))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64*1024))
	return resp.StatusCode, truncate(strings.ToValidUTF8(string(b), ""), 1000), time.Since(start), nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

// SweepAPI is the periodic job that forgets kept answers and rate windows.
type SweepAPI struct{}

// Kind names the job in River's table.
func (SweepAPI) Kind() string { return "sweep_api" }

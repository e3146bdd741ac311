package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/internal/devdb"
	"github.com/koto-portal/portal/internal/store"
)

// maxPerWorker bounds one client's requests in a run, whatever the clock does.
const maxPerWorker = 1_000_000

// Kiosk modes of (a).
const (
	// modePaired: every client is a kiosk of its own, paired as a real one
	// is; a service point with n kiosks.
	modePaired = "paired"
	// modeDemo: every client is the demo's one kiosk device. The portal
	// takes a row lock on the kiosk's device row for each ticket (for its
	// flood limit), so one device's tickets are taken one at a time.
	modeDemo = "demo"
)

type ticketOptions struct {
	freshDay        bool
	modes           []string
	concurrency     []int
	warmup          time.Duration
	duration        time.Duration
	pgbenchDuration time.Duration
}

// ticketResult is one concurrency level: the portal's run and pgbench's.
type ticketResult struct {
	Mode          string
	Concurrency   int
	Window        time.Duration
	Tickets       int // finished inside the window
	Taken         int // all, warm-up and the requests that ended after the window included
	PerSecond     float64
	Request       dist  // request latency of the tickets counted
	Series        []int // tickets finished in each second of the window
	PortalCPU     []cpuShare
	WaitingBefore int // waiting tickets in the demo queue when the run started
	WaitingAfter  int
	Pgbench       pgbenchResult
	PgbenchCPU    []cpuShare
	Ratio         float64
	// Statements are the portal's costliest statements in the run, with
	// -statements (pg_stat_statements); StatementCalls counts all of them
	// and Transactions the BEGINs, warm-up included.
	Statements                   []statementStat `json:",omitempty"`
	StatementCalls, Transactions int64           `json:",omitempty"`
}

type statementStat struct {
	Calls     int64
	TotalMS   float64
	MeanMS    float64
	PerTicket float64 // calls per ticket taken in the run, warm-up included
	Query     string
}

// runTickets measures tickets per second through one instance and pgbench's
// TPC-B-like rate on the same database, once for each concurrency.
func runTickets(ctx context.Context, e *env, p *portalProc, o ticketOptions) ([]ticketResult, error) {
	topics, err := activeTopics(ctx, e)
	if err != nil {
		return nil, err
	}
	logf("(a) pgbench -i -s 1 into %s", dbName)
	if out, _, err := e.pgbench(ctx, time.Minute, "-i", "-s", "1", "-q"); err != nil {
		return nil, fmt.Errorf("pgbench -i: %w: %s", err, lastLines(out, 5))
	}
	var results []ticketResult
	for _, n := range o.concurrency {
		var runs []ticketResult
		for _, mode := range o.modes {
			// A checkpoint before each run, so that no run pays for the
			// dirty pages of the one before.
			if o.freshDay {
				if err := freshDay(ctx, e); err != nil {
					return results, err
				}
			}
			if err := e.exec(ctx, dbName, "CHECKPOINT"); err != nil {
				return results, err
			}
			if e.statements {
				if err := e.exec(ctx, dbName, `SELECT pg_stat_statements_reset()`); err != nil {
					return results, err
				}
			}
			logf("(a) %d %s kiosks taking tickets through %s for %s (+%s warm-up)", n, mode, p.name, o.duration, o.warmup)
			r, err := portalRun(ctx, e, p, topics, mode, n, o.warmup, o.duration)
			if err != nil {
				return results, err
			}
			if e.statements {
				if r.Statements, r.StatementCalls, r.Transactions, err = topStatements(ctx, e, r.Taken); err != nil {
					return results, err
				}
			}
			logf("(a) %d %s kiosks: %.1f tickets/s, request p50 %s ms, p99 %s ms; CPU: %s",
				n, mode, r.PerSecond, ms(r.Request.P50), ms(r.Request.P99), formatShares(r.PortalCPU))
			runs = append(runs, r)
		}
		if err := e.exec(ctx, dbName, "CHECKPOINT"); err != nil {
			return results, err
		}
		pg, cpu, err := pgbenchRun(ctx, e, n, o.pgbenchDuration)
		if err != nil {
			return results, err
		}
		for _, r := range runs {
			r.Pgbench, r.PgbenchCPU = pg, cpu
			r.Ratio = r.PerSecond / pg.TPS
			logf("(a) pgbench -c %d: %.1f tps (latency average %.2f ms); %s kiosks' ratio %.2f",
				n, pg.TPS, pg.LatencyMS, r.Mode, r.Ratio)
			results = append(results, r)
		}
		logf("(a) CPU during pgbench: %s", formatShares(cpu))
	}
	return results, nil
}

// freshDay deletes every ticket and resets the numbering, so that each run
// starts from an empty service day whatever ran before: the kiosk's work
// grows with the tickets already taken that day (the queue position and
// wait estimate count them), and the runs must be comparable. The portal
// keeps no state of its own about tickets, so it can stay up meanwhile.
func freshDay(ctx context.Context, e *env) error {
	for _, sql := range []string{
		`DELETE FROM tickets`, `DELETE FROM ticket_counters`,
		`VACUUM ANALYZE tickets`, `VACUUM ANALYZE ticket_counters`, `VACUUM ANALYZE ticket_push`, `VACUUM ANALYZE visits`,
	} {
		if err := e.exec(ctx, dbName, sql); err != nil {
			return fmt.Errorf("%s: %w", sql, err)
		}
	}
	return nil
}

// kioskCodes makes sure the demo service point has n kiosks of our own,
// and issues each a fresh pairing code, as a lead does in set-up.
func kioskCodes(ctx context.Context, e *env, n int) ([]string, error) {
	c, err := e.connect(ctx, dbName)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.Background())
	issuer := auth.New(nil, nil) // IssuePairCode works in the transaction it is given
	var codes []string
	err = pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
		var tenant, sp int64
		if err := tx.QueryRow(ctx, `SELECT municipality_id, id FROM service_points WHERE slug = $1`, demo.ServicePoint).
			Scan(&tenant, &sp); err != nil {
			return err
		}
		for i := range n {
			name := fmt.Sprintf("Load test kiosk %d", i+1)
			var id int64
			err := tx.QueryRow(ctx, `SELECT id FROM devices WHERE service_point_id = $1 AND kind = 'kiosk' AND name = $2`, sp, name).Scan(&id)
			if errors.Is(err, pgx.ErrNoRows) {
				err = tx.QueryRow(ctx, `INSERT INTO devices (municipality_id, service_point_id, kind, name) VALUES ($1, $2, 'kiosk', $3)
					RETURNING id`, tenant, sp, name).Scan(&id)
			}
			if err != nil {
				return err
			}
			code, err := issuer.IssuePairCode(ctx, store.Wrap(tx), id)
			if err != nil {
				return err
			}
			codes = append(codes, code)
		}
		return nil
	})
	return codes, err
}

// activeTopics are the demo's topics; kiosk i takes tickets for topic
// i mod len, as visitors choosing different reasons would.
func activeTopics(ctx context.Context, e *env) ([]int64, error) {
	c, err := e.connect(ctx, dbName)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.Background())
	rows, err := c.Query(ctx, `SELECT t.id FROM topics t JOIN service_points s ON s.id = t.service_point_id
		WHERE s.slug = $1 AND t.active ORDER BY t.position, t.id`, demo.ServicePoint)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, errors.New("the demo service point has no active topics")
	}
	return ids, nil
}

// topStatements lists the statements that took the most time in the
// database since the last reset, the portal's role's only.
func topStatements(ctx context.Context, e *env, tickets int) (top []statementStat, calls, begins int64, err error) {
	c, err := e.connect(ctx, dbName)
	if err != nil {
		return nil, 0, 0, err
	}
	defer c.Close(context.Background())
	// The pool's connections SET ROLE to the application role, under which
	// pg_stat_statements files their statements; ours run as the owner.
	const ours = `FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND userid = (SELECT oid FROM pg_roles WHERE rolname = '` + store.AppRole + `')`
	if err := c.QueryRow(ctx, `SELECT coalesce(sum(calls), 0)::bigint,
		coalesce(sum(calls) FILTER (WHERE query ILIKE 'begin%'), 0)::bigint `+ours).Scan(&calls, &begins); err != nil {
		return nil, 0, 0, err
	}
	rows, err := c.Query(ctx, `SELECT calls, total_exec_time, mean_exec_time, regexp_replace(query, '\s+', ' ', 'g') `+
		ours+` ORDER BY total_exec_time DESC LIMIT 12`)
	if err != nil {
		return nil, 0, 0, err
	}
	for rows.Next() {
		var s statementStat
		if err := rows.Scan(&s.Calls, &s.TotalMS, &s.MeanMS, &s.Query); err != nil {
			return nil, 0, 0, err
		}
		if tickets > 0 {
			s.PerTicket = float64(s.Calls) / float64(tickets)
		}
		top = append(top, s)
	}
	return top, calls, begins, rows.Err()
}

func waitingTickets(ctx context.Context, e *env) (int, error) {
	c, err := e.connect(ctx, dbName)
	if err != nil {
		return 0, err
	}
	defer c.Close(context.Background())
	var n int
	err = c.QueryRow(ctx, `SELECT count(*) FROM tickets WHERE state = 'waiting'`).Scan(&n)
	return n, err
}

type completion struct {
	done time.Time
	took time.Duration
}

// portalRun runs n kiosks flat out for warmup+duration and counts the
// tickets that finished inside the measured window.
func portalRun(ctx context.Context, e *env, p *portalProc, topics []int64, mode string, n int, warmup, duration time.Duration) (ticketResult, error) {
	r := ticketResult{Mode: mode, Concurrency: n, Window: duration}
	var err error
	if r.WaitingBefore, err = waitingTickets(ctx, e); err != nil {
		return r, err
	}
	codes := make([]string, n)
	if mode == modePaired {
		if codes, err = kioskCodes(ctx, e, n); err != nil {
			return r, err
		}
	}
	kiosks := make([]*kiosk, n)
	for i := range kiosks {
		if kiosks[i], err = newKiosk(ctx, p.base, topics[i%len(topics)], codes[i]); err != nil {
			return r, fmt.Errorf("kiosk %d: %w", i+1, err)
		}
		defer kiosks[i].close()
	}
	meter := &cpuMeter{}
	meter.add(p.name, func() (time.Duration, error) { return processCPU(p.pid()) })
	pm := e.postmasterPID()
	meter.add("postgres", func() (time.Duration, error) { return familyCPU(pm) })
	meter.add("loadgen", func() (time.Duration, error) { return selfCPU(), nil })

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	start := time.Now()
	from, end := start.Add(warmup), start.Add(warmup+duration)
	done := make([][]completion, n)
	var wg sync.WaitGroup
	for i, k := range kiosks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range maxPerWorker {
				t0 := time.Now()
				if !t0.Before(end) || runCtx.Err() != nil {
					return
				}
				if _, err := k.take(runCtx); err != nil {
					cancel(fmt.Errorf("kiosk %d: %w", i+1, err))
					return
				}
				t1 := time.Now()
				done[i] = append(done[i], completion{done: t1, took: t1.Sub(t0)})
			}
		}()
	}
	shares := meter.window(runCtx, from, end)
	wg.Wait()
	if err := context.Cause(runCtx); err != nil {
		return r, err
	}
	r.PortalCPU = shares
	var took []time.Duration
	r.Series = make([]int, int(math.Ceil(duration.Seconds())))
	for _, ds := range done {
		r.Taken += len(ds)
		for _, c := range ds {
			if c.done.Before(from) || !c.done.Before(end) {
				continue
			}
			took = append(took, c.took)
			if s := int(c.done.Sub(from) / time.Second); s < len(r.Series) {
				r.Series[s]++
			}
		}
	}
	r.Tickets = len(took)
	r.PerSecond = float64(r.Tickets) / duration.Seconds()
	r.Request = summarize(took)
	if r.WaitingAfter, err = waitingTickets(ctx, e); err != nil {
		return r, err
	}
	return r, nil
}

// pgbenchRun runs pgbench's built-in TPC-B-like script with n clients on
// two threads (-j 2, one per core), without vacuuming first (-n).
func pgbenchRun(ctx context.Context, e *env, n int, duration time.Duration) (pgbenchResult, []cpuShare, error) {
	secs := strconv.Itoa(max(1, int(math.Round(duration.Seconds()))))
	logf("(a) pgbench -T %s -c %d -j 2 -n", secs, n)
	pm := e.postmasterPID()
	meter := &cpuMeter{}
	var pgbenchUsed time.Duration
	meter.add("pgbench", func() (time.Duration, error) { return pgbenchUsed, nil })
	meter.add("postgres", func() (time.Duration, error) { return familyCPU(pm) })
	a := meter.sample()
	out, state, err := e.pgbench(ctx, duration+time.Minute, "-T", secs, "-c", strconv.Itoa(n), "-j", "2", "-n")
	if state != nil {
		pgbenchUsed = state.UserTime() + state.SystemTime()
	}
	b := meter.sample()
	if err != nil {
		return pgbenchResult{}, nil, fmt.Errorf("pgbench: %w: %s", err, lastLines(out, 8))
	}
	res, err := parsePgbench(out)
	if err != nil {
		return res, nil, fmt.Errorf("%w: %s", err, lastLines(out, 8))
	}
	if res.Failed > 0 {
		return res, nil, fmt.Errorf("pgbench: %d failed transactions", res.Failed)
	}
	return res, meter.between(a, b), nil
}

// pgbench runs the cluster's own pgbench on our database through the same
// Unix socket the portals use.
func (e *env) pgbench(ctx context.Context, limit time.Duration, args ...string) ([]byte, *os.ProcessState, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	bin, err := findPgbench(e.pgBin)
	if err != nil {
		return nil, nil, err
	}
	full := append([]string{"-h", e.sockDir, "-p", "5432", "-U", devdb.Superuser}, args...)
	cmd := exec.CommandContext(ctx, bin, append(full, dbName)...)
	cmd.Env = inheritedEnv()
	out, err := cmd.CombinedOutput()
	return out, cmd.ProcessState, err
}

// findPgbench prefers the pgbench beside the server binaries devdb found,
// so that both come from one PostgreSQL release. That folder may hold only
// a link to postgres (as /usr/local/bin may), so the link's own folder is
// tried next, then PATH.
func findPgbench(serverBin string) (string, error) {
	dirs := []string{serverBin}
	if real, err := filepath.EvalSymlinks(filepath.Join(serverBin, "postgres")); err == nil {
		dirs = append(dirs, filepath.Dir(real))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "pgbench")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath("pgbench")
	if err != nil {
		return "", fmt.Errorf("no pgbench beside %s or on PATH (Debian: apt-get install postgresql-contrib or postgresql-client)", serverBin)
	}
	return p, nil
}

package portal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/tasks"
	"github.com/koto-portal/portal/portal/portaltest"
)

// Sizes of the task benchmark: experts connected, open tasks in the
// database, tasks created while they listen, and "my tasks" page loads.
const (
	benchExperts   = 200
	benchOpenTasks = 50000
	benchCreated   = 1000
	benchPages     = 1000
)

// BenchmarkTaskArrival: 200 experts connected with the navigation's socket
// and 50,000 open tasks in the database; tasks are created one after
// another for experts in turn, as the check-in and outreach code creates
// them (tasks.Service.Create inside the caller's transaction), and the time
// from the start of that transaction to the task's event arriving on the
// assignee's socket is measured; then the "my tasks" page (each expert has
// 250 open tasks, the page shows 200) is loaded by experts in turn. It runs
// the fixed sample once whatever b.N is:
//
//	go test ./portal/ -run '^$' -bench BenchmarkTaskArrival -benchtime 1x
func BenchmarkTaskArrival(b *testing.B) {
	in := portaltest.Start(b, portaltest.WithDemo(demoPassword))
	tenant, sp, experts := benchSeed(b, in.OwnerURL)
	ctx := context.Background()
	sessions := auth.New(in.DB, nil)

	// Each expert's socket, as the navigation of any staff page opens it.
	type arrival struct {
		task int64
		at   time.Time
	}
	arrivals := make(chan arrival, benchCreated*2)
	tokens := make([]string, len(experts))
	for i, id := range experts {
		sess, err := sessions.Login(ctx, auth.Staff{ID: id, Tenant: tenant}, "")
		if err != nil {
			b.Fatal(err)
		}
		tokens[i] = sess.Token
		h := http.Header{"Origin": {in.URL}, "Cookie": {"koto_session=" + sess.Token}}
		ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(in.URL, "http://", "ws://", 1)+"/ws?tasks=mine", h)
		if err != nil {
			b.Fatalf("socket %d: %v", i, err)
		}
		defer ws.Close()
		readUntil(b, ws, "resync", 10*time.Second)
		_ = ws.SetReadDeadline(time.Time{})
		go func() {
			for {
				var m liveMessage
				if err := ws.ReadJSON(&m); err != nil {
					return
				}
				if m.Type != tasks.EventCreated {
					continue
				}
				var n tasks.Notice
				if json.Unmarshal(m.Data, &n) == nil {
					arrivals <- arrival{task: n.ID, at: time.Now()}
				}
			}
		}()
	}

	b.ResetTimer()
	started := map[int64]time.Time{}
	for i := range benchCreated {
		t0 := time.Now()
		var task tasks.Task
		err := in.DB.InTenant(ctx, tenant, func(tx sqldb.Tx) error {
			var err error
			task, _, err = in.Tasks.Create(ctx, tx, tasks.New{Kind: tasks.KindCannotCome, ServicePointID: sp,
				AssigneeID: experts[i%len(experts)], SourceKey: fmt.Sprintf("bench:%d", i)})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		started[task.ID] = t0
		time.Sleep(10 * time.Millisecond)
	}
	var lat []time.Duration
	deadline := time.After(10 * time.Second)
collect:
	for len(lat) < benchCreated {
		select {
		case a := <-arrivals:
			if t0, ok := started[a.task]; ok {
				lat = append(lat, a.at.Sub(t0))
				delete(started, a.task)
			}
		case <-deadline:
			break collect
		}
	}
	slices.Sort(lat)

	// "My tasks", by the experts in turn.
	client := &http.Client{Timeout: 30 * time.Second}
	var pages []time.Duration
	for i := range benchPages {
		req, _ := http.NewRequest(http.MethodGet, in.URL+"/staff/tasks", nil)
		req.Header.Set("Cookie", "koto_session="+tokens[i%len(tokens)])
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		pages = append(pages, time.Since(t0))
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "data-task=") {
			b.Fatalf("my tasks: %d", resp.StatusCode)
		}
	}
	slices.Sort(pages)
	b.StopTimer()

	b.ReportMetric(ms(percentile(lat, 0.5)), "arrival-p50-ms")
	b.ReportMetric(ms(percentile(lat, 0.99)), "arrival-p99-ms")
	b.ReportMetric(float64(benchCreated-len(lat)), "missing")
	b.ReportMetric(ms(percentile(pages, 0.5)), "mytasks-p50-ms")
	b.ReportMetric(ms(percentile(pages, 0.99)), "mytasks-p99-ms")
	b.Logf("%d experts connected, %d open tasks; %d tasks created, %d arrived: p50 %.1f ms, p99 %.1f ms, max %.1f ms; "+
		"my tasks ×%d: p50 %.1f ms, p99 %.1f ms", len(experts), benchOpenTasks, benchCreated, len(lat),
		ms(percentile(lat, 0.5)), ms(percentile(lat, 0.99)), ms(percentile(lat, 1)), benchPages,
		ms(percentile(pages, 0.5)), ms(percentile(pages, 0.99)))
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// benchSeed adds the experts and the open tasks, as the schema owner.
func benchSeed(tb testing.TB, ownerURL string) (tenant, sp int64, experts []int64) {
	tb.Helper()
	ctx := context.Background()
	err := withOwner(tb, ownerURL, func(c *pgx.Conn) error {
		if err := c.QueryRow(ctx, `SELECT municipality_id, id FROM service_points WHERE slug = $1`, demo.ServicePoint).Scan(&tenant, &sp); err != nil {
			return err
		}
		rows, err := c.Query(ctx, `INSERT INTO staff (municipality_id, email, name, password_hash)
			SELECT $1, 'bench' || g || '@example.org', 'Expert ' || g, 'x' FROM generate_series(1, $2) g RETURNING id`, tenant, benchExperts)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			experts = append(experts, id)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if _, err := c.Exec(ctx, `INSERT INTO staff_roles (municipality_id, staff_id, service_point_id, role)
			SELECT $1, id, $2, 'expert' FROM unnest($3::bigint[]) id`, tenant, sp, experts); err != nil {
			return err
		}
		// Open tasks, each expert's share soonest due first, a tenth in
		// the pool; half of them overdue.
		if _, err := c.Exec(ctx, `INSERT INTO tasks (municipality_id, service_point_id, kind, assignee_id, due_at, status)
			SELECT $1, $2, (ARRAY['call_me','cannot_come','interpreter','unreachable','checked_in','walk_in'])[1 + g % 6],
			       CASE WHEN g % 10 = 0 THEN NULL ELSE ($3::bigint[])[1 + g % cardinality($3::bigint[])] END,
			       now() + (g % 200 - 100) * interval '1 hour', CASE WHEN g % 3 = 0 THEN 'in_progress' ELSE 'open' END
			FROM generate_series(1, $4) g`, tenant, sp, experts, benchOpenTasks); err != nil {
			return err
		}
		_, err = c.Exec(ctx, `ANALYZE tasks`)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return tenant, sp, experts
}

package portal_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/api"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/clients/clientgen"
	"github.com/koto-portal/portal/internal/demo"
)

// Sizes of the read benchmark: clients in the register, and requests in
// flight at once (a few add-on workers, or a few experts' browsers).
const (
	benchRegister = 10000
	benchReaders  = 8
)

// BenchmarkAPIReads compares what reading a client costs through the JSON
// API and through the staff pages, on the same register of 10,000
// generated clients in the demo service point, in one run: a client by id
// (GET /api/v1/clients/{id} against the staff client page) and a search
// (GET /api/v1/clients?q= against the staff client list with ?q=), with
// the same ids and the same queries on both sides. Each sub-benchmark
// sends b.N requests over real HTTP from benchReaders workers at once, and
// reports reads per second and the latency's p50 and p99. Each read
// writes its access-log row, on both sides; log-rows/read shows it did.
// The key is the demo service point's (the expert's service point), with
// a rate limit above what the benchmark sends.
//
//	go test ./portal/ -run '^$' -bench BenchmarkAPIReads -benchtime 2000x -timeout 20m
func BenchmarkAPIReads(b *testing.B) {
	f := startAPI(b)
	ctx := context.Background()
	ids, queries := seedRegister(b, f, benchRegister)
	keyInfo, key := f.key(b, f.admin, f.demoSP, api.ScopeClientsRead)
	f.exec(b, `UPDATE api_keys SET rate_per_minute = 100000 WHERE id = $1`, keyInfo.ID)
	expert := staffID(b, f.owner, demo.ExpertEmail)
	sess, err := auth.New(f.in.DB, nil).Login(ctx, auth.Staff{ID: expert, Tenant: f.demoTenant}, "")
	if err != nil {
		b.Fatal(err)
	}

	asAPI := func(path string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, f.in.URL+"/api/v1"+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		return req
	}
	asExpert := func(path string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, f.in.URL+"/staff"+path, nil)
		req.Header.Set("Cookie", "koto_session="+sess.Token)
		return req
	}
	get := func(i int) string { return fmt.Sprintf("/clients/%d", ids[i%len(ids)]) }
	search := func(i int) string { return "/clients?q=" + url.QueryEscape(queries[i%len(queries)]) }
	for _, c := range []struct {
		name string
		req  func(i int) *http.Request
	}{
		{"api/get", func(i int) *http.Request { return asAPI(get(i)) }},
		{"staff/get", func(i int) *http.Request { return asExpert(get(i)) }},
		{"api/search", func(i int) *http.Request { return asAPI(search(i)) }},
		{"staff/search", func(i int) *http.Request { return asExpert(search(i)) }},
	} {
		b.Run(c.name, func(b *testing.B) { benchReads(b, f, c.req) })
	}
}

// benchReads sends requests 0..b.N-1 from benchReaders workers and reports
// the throughput, the latency and the access-log rows written per read.
func benchReads(b *testing.B, f *apiFixture, req func(i int) *http.Request) {
	client := &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: benchReaders},
		// A redirect here is the sign-in page: the read did not happen.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer client.CloseIdleConnections()
	logRows := func() int {
		var n int
		if err := f.owner.QueryRow(context.Background(), `SELECT count(*) FROM access_log`).Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	}
	before := logRows()
	took := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed atomic.Value // string: the first failure, reported once the workers are done
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range benchReaders {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N || failed.Load() != nil {
					return
				}
				t0 := time.Now()
				resp, err := client.Do(req(i))
				if err != nil {
					failed.CompareAndSwap(nil, err.Error())
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				took[i] = time.Since(t0)
				if resp.StatusCode != http.StatusOK {
					failed.CompareAndSwap(nil, fmt.Sprintf("request %d (%s): %d", i, resp.Request.URL.Path, resp.StatusCode))
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if msg := failed.Load(); msg != nil {
		b.Fatal(msg)
	}
	slices.Sort(took)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "reads/s")
	b.ReportMetric(ms(percentile(took, 0.5)), "p50-ms")
	b.ReportMetric(ms(percentile(took, 0.99)), "p99-ms")
	b.ReportMetric(float64(logRows()-before)/float64(b.N), "log-rows/read")
}

// seedRegister loads n generated clients into the demo service point with
// one COPY as the owner, and returns their ids and search queries drawn
// from them as experts type them: a whole name, either way round, a last
// name alone, and the start of one.
func seedRegister(tb testing.TB, f *apiFixture, n int) (ids []int64, queries []string) {
	tb.Helper()
	ctx := context.Background()
	gen := clientgen.New(3)
	people := make([]clientgen.Person, n)
	for i := range people {
		people[i] = gen.Next()
	}
	i := 0
	if _, err := f.owner.CopyFrom(ctx, pgx.Identifier{"clients"},
		[]string{"municipality_id", "service_point_id", "first_names", "last_name", "birth_date", "language", "interpreter_language", "phone"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if i == len(people) {
				return nil, nil
			}
			p := people[i]
			i++
			return []any{f.demoTenant, f.demoSP, p.FirstNames, p.LastName, p.BirthDate, p.Language, p.InterpreterLanguage, p.Phone}, nil
		})); err != nil {
		tb.Fatal(err)
	}
	f.exec(tb, `ANALYZE clients`)
	rows, err := f.owner.Query(ctx, `SELECT id FROM clients WHERE service_point_id = $1 ORDER BY id`, f.demoSP)
	if err != nil {
		tb.Fatal(err)
	}
	if ids, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
		tb.Fatal(err)
	}
	// Every 37th person, so that the queries spread over the register.
	for j := 0; len(queries) < 400; j++ {
		p := people[j*37%n]
		switch j % 4 {
		case 0:
			queries = append(queries, p.FirstNames+" "+p.LastName)
		case 1:
			queries = append(queries, p.LastName+" "+p.FirstNames)
		case 2:
			queries = append(queries, p.LastName)
		case 3:
			queries = append(queries, string([]rune(p.LastName)[:min(4, len([]rune(p.LastName)))]))
		}
	}
	return ids, queries
}

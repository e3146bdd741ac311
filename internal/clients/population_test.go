package clients

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/clients/clientgen"
)

// populate loads n generated clients into service point sp1 of the
// fixture's municipality, through COPY as the owner, with a responsible
// expert for a third of them. Every index but the primary key is built
// after the load, as a bulk import would: sorting once is many times faster
// than keeping an index up row by row (the name index's random inserts too,
// not only the search's GIN indexes). It returns the people in load order.
func (f *fixture) populate(n int, seed uint64) []clientgen.Person {
	f.t.Helper()
	ctx := context.Background()
	gen := clientgen.New(seed)
	people := make([]clientgen.Person, n)
	for i := range people {
		people[i] = gen.Next()
	}
	conn, err := f.owner.Acquire(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	defer conn.Release()
	rows, err := conn.Query(ctx, `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'clients' AND indexname <> 'clients_pkey'`)
	if err != nil {
		f.t.Fatal(err)
	}
	type index struct{ name, def string }
	indexes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (index, error) {
		var i index
		err := r.Scan(&i.name, &i.def)
		return i, err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, i := range indexes {
		if _, err := conn.Exec(ctx, `DROP INDEX `+pgx.Identifier{i.name}.Sanitize()); err != nil {
			f.t.Fatal(err)
		}
	}
	experts := []int64{f.expert1.StaffID, f.lead1.StaffID}
	i := 0
	_, err = conn.Conn().CopyFrom(ctx, pgx.Identifier{"clients"},
		[]string{"municipality_id", "service_point_id", "first_names", "last_name", "birth_date", "language", "interpreter_language", "phone", "responsible_staff_id"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if i == len(people) {
				return nil, nil
			}
			p := people[i]
			var responsible *int64
			if i%3 == 0 {
				responsible = &experts[i%2]
			}
			i++
			return []any{f.tenant, f.sp1, p.FirstNames, p.LastName, p.BirthDate, p.Language, p.InterpreterLanguage, p.Phone, responsible}, nil
		}))
	if err != nil {
		f.t.Fatal(err)
	}
	// GIN builds sort their keys in this memory: the default (64 MB)
	// makes the terms index of a million clients spill many times over.
	if _, err := conn.Exec(ctx, `SET maintenance_work_mem = '256MB'`); err != nil {
		f.t.Fatal(err)
	}
	for _, i := range indexes {
		if _, err := conn.Exec(ctx, i.def); err != nil {
			f.t.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, `ANALYZE clients`); err != nil {
		f.t.Fatal(err)
	}
	return people
}

// plant registers the clients a test looks for, spelled one way.
var planted = [][2]string{
	{"Mohammed Ali", "Hassan"}, {"Oleksandr", "Shevchenko"}, {"Văn Minh", "Nguyễn"}, {"Matti", "Järvinen"},
	{"Hussein", "Al-Obaidi"}, {"Aleksandr", "Kuznetsov"},
}

// On a realistic register of 10,000 people, each spelling variant finds
// the person it names on the first page of results, and the results above
// it are people of the same name.
func TestSearchFindsVariantsAmongTenThousand(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 10,000 clients")
	}
	f := newFixture(t)
	f.populate(10000, 1)
	ids := map[string]int64{}
	for _, p := range planted {
		ids[p[0]+" "+p[1]] = f.create(p[0], p[1]).ID
	}
	cases := []struct{ query, want string }{
		{"Muhammad Hassan", "Mohammed Ali Hassan"},
		{"hassan mohamed ali", "Mohammed Ali Hassan"},
		{"Aleksandr Shevchenko", "Oleksandr Shevchenko"},
		{"Olexandr Ševčenko", "Oleksandr Shevchenko"},
		{"Nguyen Van Minh", "Văn Minh Nguyễn"},
		{"Jarvinen Matti", "Matti Järvinen"},
		{"Husain Al Obaidi", "Hussein Al-Obaidi"},
		{"Alexander Kuznetsow", "Aleksandr Kuznetsov"},
	}
	for _, c := range cases {
		res, err := f.svc.Search(f.ctx, f.expert1, Query{Text: c.query})
		if err != nil {
			t.Fatal(err)
		}
		pos := slices.IndexFunc(res.Clients, func(cl Client) bool { return cl.ID == ids[c.want] })
		var shown []string
		for _, cl := range res.Clients[:min(len(res.Clients), 5)] {
			shown = append(shown, cl.FirstNames+" "+cl.LastName)
		}
		if pos < 0 {
			t.Errorf("%q: %s not on the first page; first: %v", c.query, c.want, shown)
			continue
		}
		// Everyone ranked above shares every name part's skeleton.
		for _, cl := range res.Clients[:pos] {
			if !sameSkeletons(t, f, cl.FirstNames+" "+cl.LastName, c.want) {
				t.Errorf("%q: %s %s ranks above %s", c.query, cl.FirstNames, cl.LastName, c.want)
			}
		}
	}
}

// sameSkeletons tells whether name has every skeleton of want's parts.
func sameSkeletons(t *testing.T, f *fixture, name, want string) bool {
	var ok bool
	if err := f.owner.QueryRow(f.ctx, `SELECT koto_name_skeletons($1) @> (SELECT array_agg(koto_name_skeleton(w))
		FROM unnest(string_to_array(koto_fold($2), ' ')) w WHERE length(koto_name_skeleton(w)) >= 3)`, name, want).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

// searchQueries are what experts type, drawn from the register itself: a
// whole name, in either order, a last name alone, the start of one, part
// of a phone number, and the spelling variants the search exists for,
// with filters now and then.
func searchQueries(people []clientgen.Person, n int, seed uint64, expert int64) []Query {
	r := rand.New(rand.NewPCG(seed, seed))
	variants := []string{"Muhammad Hassan", "Mohamed Ali", "Aleksandr Shevchenko", "Olexandr", "Nguyen Van Minh", "Jarvinen",
		"Husain", "Tatyana Ivanova", "Yusuf Abdi", "Hosseini"}
	out := make([]Query, 0, n)
	for len(out) < n {
		p := people[r.IntN(len(people))]
		var q Query
		switch k := r.IntN(8); k {
		case 0:
			q.Text = p.FirstNames + " " + p.LastName
		case 1:
			q.Text = p.LastName + " " + p.FirstNames
		case 2:
			q.Text = p.LastName
		case 3:
			q.Text = string([]rune(p.LastName)[:min(4, len([]rune(p.LastName)))])
		case 4:
			if p.Phone == "" {
				continue
			}
			d := strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return r
				}
				return -1
			}, p.Phone)
			q.Text = d[len(d)-7:]
		case 5, 6:
			q.Text = variants[r.IntN(len(variants))]
		case 7:
			q.ExpertID, q.Status = expert, StatusActive // "my clients"
		}
		out = append(out, q)
	}
	return out
}

// BenchmarkSearch measures the latency of a search as an expert sees it
// (one call to Service.Search: its transaction, the authorization, the
// query and the access-log row) on registers of 10,000 and 1,000,000
// generated clients in one municipality, and reports p50 and p99 over a
// mix of realistic queries. Loading a million clients takes minutes:
//
//	go test ./internal/clients -run '^$' -bench Search -benchtime 1x -timeout 60m
func BenchmarkSearch(b *testing.B) {
	for _, size := range []int{10000, 1000000} {
		b.Run(fmt.Sprintf("clients=%d", size), func(b *testing.B) {
			f := newFixture(b)
			start := time.Now()
			people := f.populate(size, 7)
			b.Logf("loaded %d clients in %s", size, time.Since(start).Round(time.Second))
			queries := searchQueries(people, 600, 11, f.expert1.StaffID)
			// A warm-up pass: the first queries fill the caches of a server
			// that has just been loaded, which in service it never is.
			for _, q := range queries[:100] {
				if _, err := f.svc.Search(f.ctx, f.expert1, q); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			var took []time.Duration
			found := 0
			for range b.N {
				for _, q := range queries {
					t0 := time.Now()
					res, err := f.svc.Search(f.ctx, f.expert1, q)
					took = append(took, time.Since(t0))
					if err != nil {
						b.Fatal(err)
					}
					if len(res.Clients) > 0 {
						found++
					}
				}
			}
			b.StopTimer()
			sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
			p := func(q float64) float64 { return float64(took[int(q*float64(len(took)-1))].Microseconds()) / 1000 }
			b.ReportMetric(p(0.50), "p50-ms")
			b.ReportMetric(p(0.99), "p99-ms")
			b.ReportMetric(p(1), "max-ms")
			b.ReportMetric(float64(found)/float64(len(took)), "found-ratio")
		})
	}
}

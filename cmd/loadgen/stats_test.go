package main

import (
	"strings"
	"testing"
	"time"
)

func TestPercentileIsNearestRank(t *testing.T) {
	var xs []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose: summarize sorts
		xs = append(xs, time.Duration(i)*time.Millisecond)
	}
	d := summarize(xs)
	if d.N != 100 || d.Min != time.Millisecond || d.Max != 100*time.Millisecond {
		t.Fatalf("N/min/max: %+v", d)
	}
	// Nearest rank: the p-th percentile of 1..100 is p itself.
	if d.P50 != 50*time.Millisecond || d.P90 != 90*time.Millisecond || d.P99 != 99*time.Millisecond {
		t.Fatalf("percentiles: %+v", d)
	}
	if xs[0] != 100*time.Millisecond {
		t.Fatal("summarize sorted the caller's slice")
	}
	if d.Mean != 50500*time.Microsecond {
		t.Fatalf("mean %s", d.Mean)
	}

	one := summarize([]time.Duration{7})
	if one.P50 != 7 || one.P99 != 7 {
		t.Fatalf("one sample: %+v", one)
	}
	if (summarize(nil) != dist{}) {
		t.Fatal("no samples should give a zero dist")
	}
	// p99 of 1,000 samples is the 990th smallest, not the largest.
	var k []time.Duration
	for i := 1; i <= 1000; i++ {
		k = append(k, time.Duration(i))
	}
	if p := percentile(k, 99); p != 990 {
		t.Fatalf("p99 of 1..1000: %d", p)
	}
	if p := percentile(k, 100); p != 1000 {
		t.Fatalf("p100: %d", p)
	}
}

func TestParsePgbench(t *testing.T) {
	// PostgreSQL 15's report.
	pg15 := `pgbench (15.18 (Debian 15.18-0+deb12u1))
transaction type: <builtin: TPC-B (sort of)>
scaling factor: 1
query mode: simple
number of clients: 8
number of threads: 2
maximum number of tries: 1
duration: 15 s
number of transactions actually processed: 8582
number of failed transactions: 0 (0.000%)
latency average = 13.984 ms
initial connection time = 9.876 ms
tps = 572.107339 (without initial connection time)
`
	r, err := parsePgbench([]byte(pg15))
	if err != nil {
		t.Fatal(err)
	}
	if r.TPS != 572.107339 || r.LatencyMS != 13.984 || r.Failed != 0 || r.Processed != 8582 {
		t.Fatalf("%+v", r)
	}

	// Up to PostgreSQL 13 two tps lines were printed; the one without
	// connection time is the one to compare.
	pg12 := `transaction type: <builtin: TPC-B (sort of)>
number of transactions actually processed: 1000
latency average = 7.5 ms
tps = 1010.5 (including connections establishing)
tps = 1066.25 (excluding connections establishing)
`
	if r, err = parsePgbench([]byte(pg12)); err != nil || r.TPS != 1066.25 {
		t.Fatalf("old format: %+v, %v", r, err)
	}

	failed := strings.Replace(pg15, "failed transactions: 0 (0.000%)", "failed transactions: 3 (0.035%)", 1)
	if r, _ = parsePgbench([]byte(failed)); r.Failed != 3 {
		t.Fatalf("failed: %+v", r)
	}
	if _, err := parsePgbench([]byte("pgbench: error: connection to server failed\n")); err == nil {
		t.Fatal("an error report parsed as a result")
	}
}

func TestParseVmRSS(t *testing.T) {
	status := "Name:\tportal\nVmPeak:\t 1234 kB\nVmRSS:\t  156088 kB\nRssAnon:\t 100 kB\n"
	if kib, err := parseVmRSS([]byte(status)); err != nil || kib != 156088 {
		t.Fatalf("%d, %v", kib, err)
	}
	if _, err := parseVmRSS([]byte("Name:\tzombie\n")); err == nil {
		t.Fatal("no VmRSS should be an error")
	}
}

func TestParseMetric(t *testing.T) {
	text := `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 10015
go_goroutines_extra 3
go_gc_duration_seconds{quantile="0.5"} 0.0001
go_gc_duration_seconds_count 7
go_memstats_heap_inuse_bytes 1.531904e+08
`
	for name, want := range map[string]float64{
		"go_goroutines":                10015,
		"go_gc_duration_seconds_count": 7,
		"go_memstats_heap_inuse_bytes": 153190400,
	} {
		if v, ok := parseMetric([]byte(text), name); !ok || v != want {
			t.Errorf("%s: %v, %v", name, v, ok)
		}
	}
	if _, ok := parseMetric([]byte(text), "go_gc_duration_seconds"); ok {
		t.Error("a labelled series was taken for an unlabelled one")
	}
}

func TestParseProcStat(t *testing.T) {
	// The command name may hold spaces and parentheses.
	stat := "4242 (postgres: a (b) c) S 4200 4242 4242 0 -1 4194560 100 0 0 0 150 25 7 3 20 0 1 0 5000 200000000 3000"
	ps, err := parseProcStat([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if ps.PPid != 4200 || ps.PGrp != 4242 || ps.UTime != 150 || ps.STime != 25 || ps.CUTime != 7 || ps.CSTime != 3 {
		t.Fatalf("%+v", ps)
	}
	if _, err := parseProcStat([]byte("4242 (short) S 1 2")); err == nil {
		t.Fatal("a short line parsed")
	}
}

func TestParseMachineBusy(t *testing.T) {
	stat := "cpu  214674 2968 114716 156697 2530 0 2150 560 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n"
	busy, err := parseMachineBusy([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(214674 + 2968 + 114716 + 0 + 2150 + 560); busy != want {
		t.Fatalf("busy %d, want %d (idle and iowait excluded)", busy, want)
	}
}

func TestParseSockstat(t *testing.T) {
	s := "sockets: used 200\nTCP: inuse 5 orphan 0 tw 3 alloc 7 mem 123\nUDP: inuse 1 mem 2\n"
	if v := parseSockstatTCPMem([]byte(s)); v != 123 {
		t.Fatalf("%d", v)
	}
	if v := parseSockstatTCPMem([]byte("UDP: inuse 1 mem 2\n")); v != -1 {
		t.Fatalf("%d", v)
	}
}

func TestParseConcurrency(t *testing.T) {
	got, err := parseConcurrency(" 8, 16,")
	if err != nil || len(got) != 2 || got[0] != 8 || got[1] != 16 {
		t.Fatalf("%v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "x", "8,1000"} {
		if _, err := parseConcurrency(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestSnippetStripsMarkup(t *testing.T) {
	page := []byte(`<html><head><title>x</title></head><body><main><h1>Forbidden</h1>
		<p>The form  has expired.</p></main></body></html>`)
	if got := snippet(page); got != "Forbidden The form has expired." {
		t.Fatalf("%q", got)
	}
}

func TestTicketLabelRegexp(t *testing.T) {
	page := `<p class="ticket-number" id="ticket-number" data-speak>A 12</p>`
	m := ticketLabel.FindStringSubmatch(page)
	if m == nil || m[1] != "A 12" {
		t.Fatalf("%q", m)
	}
}

package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// dist summarises a set of durations by nearest-rank percentiles: every
// figure is one that was actually observed, never an interpolation, so a
// p99 over 200,000 samples is the 198,000th smallest of them.
type dist struct {
	N                       int
	Min, P50, P90, P99, Max time.Duration
	Mean                    time.Duration
}

func summarize(xs []time.Duration) dist {
	if len(xs) == 0 {
		return dist{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	var sum float64
	for _, x := range s {
		sum += float64(x)
	}
	return dist{
		N:    len(s),
		Min:  s[0],
		P50:  percentile(s, 50),
		P90:  percentile(s, 90),
		P99:  percentile(s, 99),
		Max:  s[len(s)-1],
		Mean: time.Duration(sum / float64(len(s))),
	}
}

// percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// ms formats a duration in milliseconds with a precision that suits it.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case math.Abs(v) < 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case math.Abs(v) < 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// pgbenchResult is what the summary needs from pgbench's report.
type pgbenchResult struct {
	TPS       float64 // without the time spent connecting
	LatencyMS float64 // average, as pgbench reports it
	Failed    int64   // failed transactions (PostgreSQL 15 and later report them)
	Processed int64
}

// pgbench has said the same thing two ways: "excluding connections
// establishing" up to PostgreSQL 13, "without initial connection time" since
// 14. Both exclude connecting, which is what we compare against: the portal's
// pool is connected before its run starts too.
var (
	pgbenchTPS       = regexp.MustCompile(`(?m)^tps = ([0-9]+(?:\.[0-9]+)?) \((?:without initial connection time|excluding connections establishing)\)`)
	pgbenchLatency   = regexp.MustCompile(`(?m)^latency average = ([0-9]+(?:\.[0-9]+)?) ms`)
	pgbenchFailed    = regexp.MustCompile(`(?m)^number of failed transactions: ([0-9]+)`)
	pgbenchProcessed = regexp.MustCompile(`(?m)^number of transactions actually processed: ([0-9]+)`)
)

func parsePgbench(out []byte) (pgbenchResult, error) {
	var r pgbenchResult
	m := pgbenchTPS.FindSubmatch(out)
	if m == nil {
		return r, errors.New("pgbench printed no tps line")
	}
	r.TPS, _ = strconv.ParseFloat(string(m[1]), 64)
	if m := pgbenchLatency.FindSubmatch(out); m != nil {
		r.LatencyMS, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	if m := pgbenchFailed.FindSubmatch(out); m != nil {
		r.Failed, _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	if m := pgbenchProcessed.FindSubmatch(out); m != nil {
		r.Processed, _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	return r, nil
}

// parseVmRSS reads the resident set size, in KiB, from /proc/<pid>/status.
func parseVmRSS(status []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("unexpected VmRSS line %q", sc.Text())
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, errors.New("no VmRSS line (is the process a zombie?)")
}

// parseMetric finds an unlabelled sample in Prometheus' text format, such
// as go_goroutines; labelled series are not needed here.
func parseMetric(text []byte, name string) (float64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || !strings.HasPrefix(rest, " ") {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, false
		}
		v, err := strconv.ParseFloat(f[0], 64)
		return v, err == nil
	}
	return 0, false
}

// procStat is the part of /proc/<pid>/stat used here, in clock ticks.
type procStat struct {
	PPid, PGrp                   int
	UTime, STime, CUTime, CSTime int64
}

// parseProcStat reads /proc/<pid>/stat. The command name (field 2) may hold
// spaces and parentheses, so fields are counted from the last ')'.
func parseProcStat(b []byte) (procStat, error) {
	var ps procStat
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return ps, errors.New("malformed stat: no ')'")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime is field 14, so f[11].
	if len(f) < 15 {
		return ps, fmt.Errorf("malformed stat: %d fields", len(f))
	}
	var err error
	num := func(s string) int64 {
		v, e := strconv.ParseInt(s, 10, 64)
		if e != nil && err == nil {
			err = e
		}
		return v
	}
	ps.PPid, ps.PGrp = int(num(f[1])), int(num(f[2]))
	ps.UTime, ps.STime, ps.CUTime, ps.CSTime = num(f[11]), num(f[12]), num(f[13]), num(f[14])
	return ps, err
}

// parseConcurrency reads a list such as "8,16".
func parseConcurrency(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil || n < 1 || n > 256 {
			return nil, fmt.Errorf("concurrency %q: want whole numbers from 1 to 256", part)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("no concurrency given")
	}
	return out, nil
}

// parseSockstatTCPMem reads the "mem" figure (pages) of the TCP line of
// /proc/net/sockstat; -1 when there is none.
func parseSockstatTCPMem(b []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "TCP:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		for i := 0; i+1 < len(f); i += 2 {
			if f[i] == "mem" {
				if v, err := strconv.ParseInt(f[i+1], 10, 64); err == nil {
					return v
				}
			}
		}
	}
	return -1
}

// parseMachineBusy reads the first line of /proc/stat and returns the
// time, in clock ticks summed over all CPUs, not spent idle or waiting.
func parseMachineBusy(b []byte) (int64, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("unexpected /proc/stat line %q", line)
	}
	var busy int64
	// user nice system idle iowait irq softirq steal; guest time is
	// already counted in user.
	for i, v := range f[1:9] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, err
		}
		if i != 3 && i != 4 {
			busy += n
		}
	}
	return busy, nil
}

// parseModes reads the kiosk modes of (a): "paired", "demo", or both.
func parseModes(s string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(s, ",") {
		switch part = strings.TrimSpace(part); part {
		case "":
		case modePaired, modeDemo:
			if !slices.Contains(out, part) {
				out = append(out, part)
			}
		default:
			return nil, fmt.Errorf("-kiosks %q: want paired, demo or both", part)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("-kiosks: none given")
	}
	return out, nil
}

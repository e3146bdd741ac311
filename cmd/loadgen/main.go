// Command loadgen measures Koto Portal on the machine it runs on, with
// nothing started by hand: it starts a private PostgreSQL (internal/devdb),
// builds the portal, runs `portal serve` processes on loopback ports and
// drives them as kiosks and waiting-room screens would.
//
//	go run ./cmd/loadgen all       # everything below, one after another
//	go run ./cmd/loadgen tickets   # (a) tickets/s through the kiosk vs pgbench
//	go run ./cmd/loadgen latency   # (b) commit → screen latency, 2 instances
//	go run ./cmd/loadgen memory    # (c) memory per idle websocket
//	go run ./cmd/loadgen kioskpage # (d) kiosk topic page vs a bare Fiber handler
//
// It exits 1 when something failed (a request that was not answered 200, a
// screen that missed a message, a process that would not start) and 0
// otherwise; whether the figures meet their aims is reported, not enforced,
// since that depends on the machine.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

const usage = `usage: go run ./cmd/loadgen [all|tickets|latency|memory|kioskpage] [flags]

Starts its own PostgreSQL and portal processes on 127.0.0.1, measures, and
stops everything again (also on Ctrl-C).

  all       (a) to (d), one after another (the default)
  tickets   (a) tickets per second through POST /kiosk/demo/tickets, next to
            pgbench's TPC-B-like script on the same database
  latency   (b) latency from a ticket's commit to its arrival on websocket
            screens spread over two portal instances
  memory    (c) resident memory per idle websocket connection
  kioskpage (d) GET /kiosk/demo?lang=fi per second as a paired kiosk, next
            to a bare Fiber handler in this process, same client and load

flags:
`

// Aims of the issue, reported as met or not.
const (
	aimRatio     = 0.3
	aimP99       = 50 * time.Millisecond
	aimPerConnKB = 16.0
	aimPageRatio = 0.15
)

var started = time.Now()

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadgen %6.1fs  %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, args...))
}

func numCPU() int { return runtime.NumCPU() }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout))
}

type report struct {
	Command    string
	Started    time.Time
	Machine    machine
	Tickets    []ticketResult `json:",omitempty"`
	Latency    *latencyResult `json:",omitempty"`
	Memory     *memoryResult  `json:",omitempty"`
	KioskPage  *pageResult    `json:",omitempty"`
	Error      string         `json:",omitempty"`
	Parameters map[string]any
}

type machine struct {
	CPUs       int
	Kernel     string
	Go         string
	PostgreSQL string
	NoFileHard uint64
}

func run(args []string, stdout io.Writer) int {
	cmd := "all"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage); fs.PrintDefaults() }
	var (
		work     = fs.String("work", "", "scratch folder for the binary, logs and cluster (default: a new temporary folder, removed at the end)")
		data     = fs.String("data", "", "PostgreSQL cluster folder (default: inside the scratch folder)")
		binary   = fs.String("portal", "", "a portal binary to run instead of building ./cmd/portal")
		keep     = fs.Bool("keep", false, "keep the temporary scratch folder (portal logs) at the end")
		jsonOut  = fs.String("json", "", "also write the results as JSON to this file")
		timeout  = fs.Duration("timeout", 30*time.Minute, "give up after this long")
		conc     = fs.String("conc", "8,16", "(a) concurrent kiosks, one run each")
		fresh    = fs.Bool("fresh-day", true, "(a) delete all tickets before each run, so that every run starts from an empty service day")
		modes    = fs.String("kiosks", "paired,demo", "(a) who the kiosks are, one run each: paired (each client its own paired kiosk device), demo (all clients the demo's one kiosk device), or paired,demo")
		warmup   = fs.Duration("warmup", 3*time.Second, "(a) warm-up before counting")
		duration = fs.Duration("duration", 15*time.Second, "(a) counted time, for the portal and for pgbench")
		screens  = fs.Int("screens", 1000, "(b) websocket screens, spread evenly over two instances")
		tickets  = fs.Int("tickets", 200, "(b) tickets taken, one at a time")
		interval = fs.Duration("interval", 50*time.Millisecond, "(b) time between tickets")
		conns    = fs.Int("conns", 10000, "(c) idle websocket connections")
		settle   = fs.Duration("settle", 5*time.Second, "(c) wait after the last connection before reading memory")
		stmts    = fs.Bool("statements", false, "(a) load pg_stat_statements and list the portal's costliest statements (adds a little overhead)")
		pageConn = fs.Int("page-conns", 32, "(d) concurrent keep-alive connections")
		pageDur  = fs.Duration("page-duration", 10*time.Second, "(d) counted time, for the page and for the bare handler")
		gcWait   = fs.Duration("gc-wait", 130*time.Second, "(c) wait at most this long for the portal's next garbage collection before each reading (it runs one at least every 2 minutes); 0: don't")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "loadgen: unexpected %q\n", fs.Args())
		return 2
	}
	concurrency, err := parseConcurrency(*conc)
	var kioskModes []string
	if err == nil {
		kioskModes, err = parseModes(*modes)
	}
	if err == nil {
		switch {
		case *duration < time.Second || *duration > 10*time.Minute:
			err = errors.New("-duration: 1s to 10m")
		case *screens < 2 || *screens > 20000:
			err = errors.New("-screens: 2 to 20000")
		case *tickets < 1 || *tickets > 10000:
			err = errors.New("-tickets: 1 to 10000")
		case *interval < time.Millisecond:
			err = errors.New("-interval: at least 1ms")
		case *conns < 1 || *conns > 60000:
			err = errors.New("-conns: 1 to 60000")
		case *pageConn < 1 || *pageConn > 1000:
			err = errors.New("-page-conns: 1 to 1000")
		case *pageDur < time.Second || *pageDur > 10*time.Minute:
			err = errors.New("-page-duration: 1s to 10m")
		}
	}
	var do struct{ tickets, latency, memory, page bool }
	switch cmd {
	case "all":
		do.tickets, do.latency, do.memory, do.page = true, true, true, true
	case "tickets":
		do.tickets = true
	case "latency":
		do.latency = true
	case "memory":
		do.memory = true
	case "kioskpage":
		do.page = true
	case "help":
		fs.Usage()
		return 0
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n\n", err)
		fs.Usage()
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	rep := report{Command: cmd, Started: started, Parameters: map[string]any{}}
	fs.VisitAll(func(f *flag.Flag) { rep.Parameters[f.Name] = f.Value.String() })
	err = measure(ctx, &rep, envOptions{work: *work, data: *data, binary: *binary, keep: *keep, statements: *stmts},
		do.tickets, do.latency, do.memory, do.page,
		ticketOptions{freshDay: *fresh, modes: kioskModes, concurrency: concurrency, warmup: *warmup, duration: *duration, pgbenchDuration: *duration},
		latencyOptions{screens: *screens, tickets: *tickets, interval: *interval},
		memoryOptions{conns: *conns, settle: *settle, gcWait: *gcWait},
		pageOptions{conns: *pageConn, warmup: *warmup, duration: *pageDur})
	if err != nil {
		rep.Error = err.Error()
	}
	printReport(stdout, &rep)
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if werr := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); werr != nil {
			logf("writing %s: %v", *jsonOut, werr)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: FAILED: %v\n", err)
		return 1
	}
	return 0
}

// measure runs the chosen parts in one environment, which it always tears
// down, and stops at the first failure.
func measure(ctx context.Context, rep *report, eo envOptions, tickets, latency, memory, page bool,
	to ticketOptions, lo latencyOptions, mo memoryOptions, po pageOptions) error {
	rep.Machine = machine{CPUs: numCPU(), Go: runtime.Version(), Kernel: readTrim("/proc/sys/kernel/osrelease")}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		rep.Machine.NoFileHard = lim.Max
	}
	e, err := setup(ctx, eo)
	if err != nil {
		return err
	}
	defer e.close()
	rep.Machine.PostgreSQL, _ = e.setting(ctx, "server_version")

	var instances []*portalProc
	need := func(n int) error {
		for len(instances) < n {
			p, err := e.startPortal(ctx)
			if err != nil {
				return err
			}
			instances = append(instances, p)
		}
		return nil
	}
	if tickets {
		if err := need(1); err != nil {
			return err
		}
		r, err := runTickets(ctx, e, instances[0], to)
		rep.Tickets = r
		if err != nil {
			return fmt.Errorf("(a) tickets: %w", err)
		}
	}
	if page {
		if err := need(1); err != nil {
			return err
		}
		r, err := runKioskPage(ctx, e, instances[0], po)
		rep.KioskPage = &r
		if err != nil {
			return fmt.Errorf("(d) kiosk page: %w", err)
		}
	}
	if latency {
		if err := need(2); err != nil {
			return err
		}
		r, err := runLatency(ctx, e, instances[:2], lo)
		rep.Latency = &r
		if err != nil {
			return fmt.Errorf("(b) latency: %w", err)
		}
		if r.Missing > 0 || r.Duplicates > 0 || r.Unexpected > 0 {
			return fmt.Errorf("(b) latency: %w: %d missing, %d duplicated, %d unexpected of %d",
				errMissing, r.Missing, r.Duplicates, r.Unexpected, r.Expected)
		}
	}
	// The memory test gets the machine to itself: a fresh instance, and
	// nothing else running.
	for _, p := range instances {
		e.stopPortal(p)
	}
	if memory {
		r, err := runMemory(ctx, e, mo)
		rep.Memory = &r
		if err != nil {
			return fmt.Errorf("(c) memory: %w", err)
		}
	}
	return nil
}

func readTrim(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func printReport(w io.Writer, rep *report) {
	m := rep.Machine
	fmt.Fprintf(w, "\nKoto Portal load test (%s) — %d CPUs, Linux %s, %s, PostgreSQL %s, %s\n",
		rep.Command, m.CPUs, m.Kernel, m.Go, m.PostgreSQL, rep.Started.Format(time.RFC3339))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	if len(rep.Tickets) > 0 {
		fmt.Fprintf(w, "\n(a) tickets through POST /kiosk/demo/tickets on one instance vs pgbench TPC-B-like (-s 1, -j 2, -n), same database; %s counted after %s warm-up\n",
			rep.Parameters["duration"], rep.Parameters["warmup"])
		fmt.Fprintf(tw, "kiosks\tdevices\ttickets/s\treq p50 ms\treq p99 ms\tpgbench tps\tratio\taim ≥%g\t\n", aimRatio)
		for _, r := range rep.Tickets {
			ratio := "-"
			ok := "-"
			if r.Pgbench.TPS > 0 {
				ratio, ok = fmt.Sprintf("%.2f", r.Ratio), met(r.Ratio >= aimRatio)
			}
			devices := fmt.Sprint(r.Concurrency)
			if r.Mode == modeDemo {
				devices = "1 (demo)"
			}
			fmt.Fprintf(tw, "%d\t%s\t%.1f\t%s\t%s\t%.1f\t%s\t%s\t\n", r.Concurrency, devices, r.PerSecond,
				ms(r.Request.P50), ms(r.Request.P99), r.Pgbench.TPS, ratio, ok)
		}
		tw.Flush()
		for _, r := range rep.Tickets {
			fmt.Fprintf(w, "  %d %s kiosks: %d tickets; per second %v; waiting tickets %d → %d\n",
				r.Concurrency, r.Mode, r.Tickets, r.Series, r.WaitingBefore, r.WaitingAfter)
			fmt.Fprintf(w, "    CPU (cores) during the portal run: %s\n", formatShares(r.PortalCPU))
			if r.PgbenchCPU != nil {
				fmt.Fprintf(w, "    CPU (cores) during pgbench:        %s\n", formatShares(r.PgbenchCPU))
			}
			if len(r.Statements) > 0 {
				fmt.Fprintf(w, "    %d statements in %d transactions for %d tickets (warm-up included): %.1f statements, %.1f transactions per ticket\n",
					r.StatementCalls, r.Transactions, r.Taken, float64(r.StatementCalls)/float64(max(r.Taken, 1)), float64(r.Transactions)/float64(max(r.Taken, 1)))
				fmt.Fprintln(w, "    statements by total time (pg_stat_statements):")
				fmt.Fprintln(w, "         calls  per ticket  total ms  mean ms  query")
				for _, s := range r.Statements {
					q := s.Query
					if len(q) > 110 {
						q = q[:110] + "…"
					}
					fmt.Fprintf(w, "    %10d %11.2f %9.0f %8.3f  %s\n", s.Calls, s.PerTicket, s.TotalMS, s.MeanMS, q)
				}
			}
		}
		fmt.Fprintln(w, "  A ticket is one HTTP request that runs one transaction (the kiosk, the take with its NOTIFY, the topic,")
		fmt.Fprintln(w, "  the people ahead and the wait) and renders a page with a QR code; a pgbench transaction is 5 statements.")
	}
	if l := rep.Latency; l != nil {
		fmt.Fprintf(w, "\n(b) ticket → websocket screen: %d screens over %s, %d tickets one every %s through %s\n",
			l.Screens, strings.Join(l.Instances, " + "), l.Tickets, rep.Parameters["interval"], first(l.Instances))
		fmt.Fprintln(tw, "from\tto\tn\tp50 ms\tp90 ms\tp99 ms\tmax ms\t")
		row := func(from, to string, d dist) {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t\n", from, to, d.N, ms(d.P50), ms(d.P90), ms(d.P99), ms(d.Max))
		}
		if l.CommitTS {
			row("commit", "all screens", l.FromCommit)
			for i, d := range l.FromCommitByInstance {
				row("commit", "screens on "+l.Instances[i], d)
			}
		}
		row("created_at", "all screens", l.FromCreated)
		for i, d := range l.FromCreatedByInstance {
			row("created_at", "screens on "+l.Instances[i], d)
		}
		row("stage: commit", "loadgen's LISTEN", l.CommitToListen)
		row("stage: loadgen's LISTEN", "all screens", l.ListenToScreen)
		tw.Flush()
		p99 := l.FromCreated.P99
		basis := "created_at"
		if l.CommitTS {
			p99, basis = l.FromCommit.P99, "commit"
		}
		fmt.Fprintf(w, "  p99 from %s %s ms: aim < %s ms %s\n", basis, ms(p99), ms(aimP99), met(l.FromCreated.N > 0 && p99 < aimP99))
		fmt.Fprintf(w, "  messages: %d expected, %d missing, %d duplicated, %d unexpected\n", l.Expected, l.Missing, l.Duplicates, l.Unexpected)
		fmt.Fprintf(w, "  created_at is taken inside the transaction before its statements run, commit is PostgreSQL's commit\n")
		fmt.Fprintf(w, "  timestamp (just before the commit record is flushed): both are upper bounds on commit→screen latency.\n")
		fmt.Fprintf(w, "  created_at → commit: p50 %s ms, p99 %s ms; kiosk POST round trip p50 %s ms, p99 %s ms\n",
			ms(l.CreatedToCommit.P50), ms(l.CreatedToCommit.P99), ms(l.Post.P50), ms(l.Post.P99))
		fmt.Fprintf(w, "  clock skew PostgreSQL − loadgen: %s ms (± %s ms, half the best round trip)\n", ms(l.Skew), ms(l.SkewRTT/2))
		if l.CPU != nil {
			fmt.Fprintf(w, "  CPU (cores) while taking tickets: %s\n", formatShares(l.CPU))
		}
	}
	if mr := rep.Memory; mr != nil && mr.RSSAfter > 0 {
		fmt.Fprintf(w, "\n(c) memory of %s with %d idle websocket screens (clients in this process)\n", mr.Instance, mr.Conns)
		fmt.Fprintln(tw, "RSS before KiB\tRSS with conns KiB\tdelta KiB\tRSS per conn KiB\tin use per conn KiB\taim ≤16 KiB\t")
		fmt.Fprintf(tw, "%d\t%d\t%d\t%.2f\t%.2f\t%s\t\n", mr.RSSBefore, mr.RSSAfter, mr.RSSAfter-mr.RSSBefore, mr.PerConnKiB,
			mr.PerConnInUseKiB, met(max(mr.PerConnKiB, mr.PerConnInUseKiB) <= aimPerConnKB))
		tw.Flush()
		fmt.Fprintln(w, "  \"in use\" is RSS less the heap Go has freed but not yet returned to the kernel: new connections reuse that")
		fmt.Fprintln(w, "  (e.g. the 64 MiB argon2id arena of the demo seed's password hash at start) without RSS growing, so the plain")
		fmt.Fprintln(w, "  RSS delta understates; the aim is judged on the larger figure.")
		fmt.Fprintf(w, "  live Go heap+stacks per conn: %.2f KiB; a collection ran before the readings: %v/%v; RSS readings stable: %v/%v\n",
			mr.PerConnGoKiB, mr.GCBefore, mr.GCAfter, mr.StableBefore, mr.StableAfter)
		per := func(a, b float64) string { return fmt.Sprintf("%.2f", (b-a)/float64(mr.Conns)) }
		fmt.Fprintf(w, "  goroutines %0.f → %0.f (%s per conn) → %0.f after close\n",
			mr.Before.Goroutines, mr.After.Goroutines, per(mr.Before.Goroutines, mr.After.Goroutines), mr.Closed.Goroutines)
		fmt.Fprintf(w, "  per conn (KiB): Go heap in use %s, stacks %s\n",
			per(mr.Before.HeapInuse/1024, mr.After.HeapInuse/1024), per(mr.Before.StackInuse/1024, mr.After.StackInuse/1024))
		mib := func(v float64) string { return fmt.Sprintf("%.1f", v/(1<<20)) }
		fmt.Fprintln(w, "  Go memory (MiB)   heap alloc  heap in use  stacks  freed, not returned  next GC  sys")
		for _, row := range []struct {
			name string
			s    goStats
		}{{"before", mr.Before}, {"with conns", mr.After}, {"after close", mr.Closed}} {
			fmt.Fprintf(w, "    %-15s %10s %12s %7s %20s %8s %4s\n", row.name, mib(row.s.HeapAlloc), mib(row.s.HeapInuse),
				mib(row.s.StackInuse), mib(row.s.retained()), mib(row.s.NextGC), mib(row.s.Sys))
		}
		fmt.Fprintf(w, "  after close: RSS %d KiB; one collection later, so pooled buffers (sync.Pool keeps them until the second) still count\n", mr.RSSClosed)
		if mr.KernelTCPBefore >= 0 {
			fmt.Fprintf(w, "  kernel TCP buffers (whole machine, not in RSS): %d → %d pages\n", mr.KernelTCPBefore, mr.KernelTCPAfter)
		}
		fmt.Fprintf(w, "  connected in %s; open files soft/hard %d/%d\n", mr.Dial.Round(time.Millisecond), mr.NoFileSoft, mr.NoFileHard)
	}
	if r := rep.KioskPage; r != nil && r.BarePerS > 0 {
		fmt.Fprintf(w, "\n(d) GET %s as a paired kiosk vs a bare Fiber handler (SendString \"ok\") in loadgen; %d keep-alive connections, %s counted after %s warm-up each\n",
			kioskPagePath, r.Conns, r.Window, rep.Parameters["warmup"])
		fmt.Fprintln(tw, "pages/s\tbare/s\tratio\taim ≥0.15\t")
		fmt.Fprintf(tw, "%.0f\t%.0f\t%.3f\t%s\t\n", r.PagesPerS, r.BarePerS, r.Ratio, met(r.Ratio >= aimPageRatio))
		tw.Flush()
		fmt.Fprintf(w, "  CPU (cores) during the page run: %s\n", formatShares(r.PortalCPU))
	}
	if m.NoFileHard > 0 && m.NoFileHard < 25000 {
		fmt.Fprintf(w, "\nnote: the hard limit on open files is %d (below 25,000); each process needs about one per connection\n", m.NoFileHard)
	}
	if rep.Error != "" {
		fmt.Fprintf(w, "\nFAILED: %s\n", rep.Error)
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

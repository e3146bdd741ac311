package main

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"
)

type memoryOptions struct {
	conns  int
	settle time.Duration
	gcWait time.Duration
}

// goStats are figures from a portal's /metrics (bytes, but goroutines).
type goStats struct {
	Goroutines, HeapAlloc, HeapInuse, HeapIdle, HeapReleased, StackInuse, Sys, NextGC, GCs float64
}

// retained is heap memory Go has freed but not yet given back to the
// kernel: it counts in RSS, and new objects reuse it without RSS growing.
func (s goStats) retained() float64 { return s.HeapIdle - s.HeapReleased }

type memoryResult struct {
	Conns                          int
	Instance                       string
	RSSBefore, RSSAfter, RSSClosed int64 // KiB
	StableBefore, StableAfter      bool
	GCBefore, GCAfter              bool    // a collection ran before the reading
	PerConnKiB                     float64 // the RSS delta per connection
	// PerConnInUseKiB is the same less the heap Go had freed but not
	// returned: the baseline's free heap is reused by new connections
	// without growing RSS, which would flatter the plain delta.
	PerConnInUseKiB float64
	// PerConnGoKiB is the growth of live heap and stacks after a collection.
	PerConnGoKiB                    float64
	Before, After, Closed           goStats
	KernelTCPBefore, KernelTCPAfter int64 // pages, the whole machine's TCP buffers
	Dial                            time.Duration
	NoFileSoft, NoFileHard          uint64
}

// runMemory measures a fresh instance's resident memory before and with
// o.conns idle display sockets, and after they close.
func runMemory(ctx context.Context, e *env, o memoryOptions) (memoryResult, error) {
	r := memoryResult{Conns: o.conns}
	var err error
	if r.NoFileSoft, r.NoFileHard, err = ensureOpenFiles(uint64(o.conns) + 1000); err != nil {
		return r, err
	}
	p, err := e.startPortal(ctx)
	if err != nil {
		return r, err
	}
	defer e.stopPortal(p)
	r.Instance = p.name

	// Warm up every path a connection takes (the upgrade, the device
	// lookup, the hub), so that code and pools paged in by the first use
	// are not charged to the connections.
	logf("(c) warming up %s", p.name)
	for range 5 {
		if _, err := getText(ctx, p.base+"/kiosk/demo?lang=en"); err != nil {
			return r, err
		}
	}
	warm, err := dialScreens(ctx, []string{p.base}, 200, 16, false)
	if err != nil {
		return r, err
	}
	if err := waitResynced(ctx, warm, time.Minute); err != nil {
		closeScreens(warm)
		return r, err
	}
	closeScreens(warm)
	if _, err := settledStats(ctx, p, -1); err != nil {
		return r, err
	}
	if r.GCBefore, err = waitGC(ctx, p, o.gcWait); err != nil {
		return r, err
	}
	r.RSSBefore, r.StableBefore = stableRSS(ctx, p.pid())
	if r.Before, err = metricsOf(ctx, p); err != nil {
		return r, err
	}
	r.KernelTCPBefore = kernelTCPPages()

	logf("(c) opening %d idle screens on %s (RSS before: %d KiB)", o.conns, p.name, r.RSSBefore)
	t0 := time.Now()
	screens, err := dialScreens(ctx, []string{p.base}, o.conns, 64, false)
	if err != nil {
		return r, err
	}
	defer closeScreens(screens)
	if err := waitResynced(ctx, screens, 3*time.Minute); err != nil {
		return r, err
	}
	r.Dial = time.Since(t0)
	logf("(c) %d screens connected in %s; letting it settle for %s", o.conns, r.Dial.Round(time.Millisecond), o.settle)
	if err := sleep(ctx, o.settle); err != nil {
		return r, err
	}
	if r.GCAfter, err = waitGC(ctx, p, o.gcWait); err != nil {
		return r, err
	}
	r.RSSAfter, r.StableAfter = stableRSS(ctx, p.pid())
	if r.After, err = metricsOf(ctx, p); err != nil {
		return r, err
	}
	r.KernelTCPAfter = kernelTCPPages()
	if err := screensFailed(screens); err != nil {
		return r, err
	}
	n := float64(o.conns)
	r.PerConnKiB = float64(r.RSSAfter-r.RSSBefore) / n
	r.PerConnInUseKiB = r.PerConnKiB + (r.Before.retained()-r.After.retained())/1024/n
	r.PerConnGoKiB = (r.After.HeapAlloc + r.After.StackInuse - r.Before.HeapAlloc - r.Before.StackInuse) / 1024 / n
	logf("(c) RSS %d → %d KiB: %.2f KiB per connection (%.2f less reused free heap); %0.f goroutines",
		r.RSSBefore, r.RSSAfter, r.PerConnKiB, r.PerConnInUseKiB, r.After.Goroutines)

	// After closing, a collection shows whether the connections left
	// anything behind.
	closeScreens(screens)
	if _, err := settledStats(ctx, p, r.Before.Goroutines); err != nil {
		return r, err
	}
	if _, err := waitGC(ctx, p, o.gcWait); err != nil {
		return r, err
	}
	r.RSSClosed, _ = stableRSS(ctx, p.pid())
	if r.Closed, err = metricsOf(ctx, p); err != nil {
		return r, err
	}
	return r, nil
}

// ensureOpenFiles makes sure this process may hold need descriptors. Go
// raises its soft limit to the hard one at start; only the hard limit can
// stop us, and only root may raise that.
func ensureOpenFiles(need uint64) (soft, hard uint64, err error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, 0, err
	}
	if lim.Cur < need && lim.Max >= need {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
		_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	if lim.Cur < need {
		return lim.Cur, lim.Max, fmt.Errorf("need %d open files, the limit is %d (hard %d): raise it with ulimit -n, or use fewer -conns", need, lim.Cur, lim.Max)
	}
	return lim.Cur, lim.Max, nil
}

// waitGC waits (at most limit) for the instance to run a garbage
// collection. Without a hook to force one, this relies on the runtime,
// which collects at least every two minutes: readings taken after it count
// live memory, not garbage left by the handshakes.
func waitGC(ctx context.Context, p *portalProc, limit time.Duration) (bool, error) {
	if limit <= 0 {
		return false, nil
	}
	s, err := metricsOf(ctx, p)
	if err != nil {
		return false, err
	}
	logf("(c) waiting up to %s for %s to collect garbage", limit, p.name)
	deadline := time.Now().Add(limit)
	for range int(limit/time.Second) + 1 {
		if err := sleep(ctx, time.Second); err != nil {
			return false, err
		}
		now, err := metricsOf(ctx, p)
		if err != nil {
			return false, err
		}
		if now.GCs > s.GCs {
			return true, nil
		}
		if time.Now().After(deadline) {
			break
		}
	}
	return false, nil
}

// stableRSS samples a process's RSS once a second until two readings in a
// row agree within 256 KiB (at most 15 samples), and says whether they did.
func stableRSS(ctx context.Context, pid int) (int64, bool) {
	prev, _ := rssKiB(pid)
	for range 15 {
		if sleep(ctx, time.Second) != nil {
			return prev, false
		}
		cur, err := rssKiB(pid)
		if err != nil {
			return prev, false
		}
		if abs(cur-prev) <= 256 {
			return cur, true
		}
		prev = cur
	}
	return prev, false
}

// settledStats waits (at most 30 s) until the instance's goroutine count
// stops falling, or falls to within 20 of target when target ≥ 0: closed
// sockets are unregistered asynchronously.
func settledStats(ctx context.Context, p *portalProc, target float64) (goStats, error) {
	var last goStats
	for i := range 30 {
		s, err := metricsOf(ctx, p)
		if err != nil {
			return s, err
		}
		if target >= 0 && s.Goroutines <= target+20 {
			return s, nil
		}
		if target < 0 && i > 0 && s.Goroutines >= last.Goroutines {
			return s, nil
		}
		last = s
		if err := sleep(ctx, time.Second); err != nil {
			return s, err
		}
	}
	return last, nil
}

func metricsOf(ctx context.Context, p *portalProc) (goStats, error) {
	b, err := getText(ctx, p.ops+"/metrics")
	if err != nil {
		return goStats{}, err
	}
	var s goStats
	for name, dst := range map[string]*float64{
		"go_goroutines":                   &s.Goroutines,
		"go_memstats_heap_alloc_bytes":    &s.HeapAlloc,
		"go_memstats_heap_inuse_bytes":    &s.HeapInuse,
		"go_memstats_heap_idle_bytes":     &s.HeapIdle,
		"go_memstats_heap_released_bytes": &s.HeapReleased,
		"go_memstats_stack_inuse_bytes":   &s.StackInuse,
		"go_memstats_sys_bytes":           &s.Sys,
		"go_memstats_next_gc_bytes":       &s.NextGC,
		"go_gc_duration_seconds_count":    &s.GCs,
	} {
		*dst, _ = parseMetric(b, name)
	}
	return s, nil
}

// kernelTCPPages is the machine's TCP buffer memory in pages, from
// /proc/net/sockstat; it is not part of any process's RSS.
func kernelTCPPages() int64 {
	b, err := os.ReadFile("/proc/net/sockstat")
	if err != nil {
		return -1
	}
	return parseSockstatTCPMem(b)
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

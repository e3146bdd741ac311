package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// userHZ is the unit of the CPU times in /proc/<pid>/stat. The kernel fixes
// it at 100 for user space on the architectures this tool runs on,
// whatever the kernel's own tick rate.
const userHZ = 100

func ticks(n int64) time.Duration { return time.Duration(n) * time.Second / userHZ }

// rssKiB is a process's resident set size.
func rssKiB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseVmRSS(b)
}

// processCPU is the user+system time a process has used so far.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	ps, err := parseProcStat(b)
	if err != nil {
		return 0, err
	}
	return ticks(ps.UTime + ps.STime), nil
}

// familyCPU is the CPU time of a process, its children, and what it has
// reaped from children that exited: PostgreSQL runs each connection in a
// backend process forked by the postmaster (each in a session of its own,
// so the process group does not find them), and an exited backend's time
// is added to the postmaster's.
func familyCPU(parent int) (time.Duration, error) {
	dirs, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return 0, err
	}
	var sum int64
	found := false
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the process exited meanwhile
		}
		ps, err := parseProcStat(b)
		if err != nil {
			continue
		}
		switch {
		case filepath.Base(filepath.Dir(p)) == strconv.Itoa(parent):
			sum += ps.UTime + ps.STime + ps.CUTime + ps.CSTime
			found = true
		case ps.PPid == parent:
			sum += ps.UTime + ps.STime
		}
	}
	if !found {
		return 0, fmt.Errorf("process %d is gone", parent)
	}
	return ticks(sum), nil
}

// selfCPU is this process's user+system time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineBusy is the CPU time all processes of the machine have used.
func machineBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	n, err := parseMachineBusy(b)
	return ticks(n), err
}

// cpuMeter reads the CPU time of the processes sharing the machine during a
// measurement, so the report can say who used the cores, including
// processes that are not part of the test at all ("others").
type cpuMeter struct {
	names []string
	read  []func() (time.Duration, error)
}

// othersName is the share of everything the meter does not name.
const othersName = "others"

func (m *cpuMeter) add(name string, read func() (time.Duration, error)) {
	m.names = append(m.names, name)
	m.read = append(m.read, read)
}

type cpuSample struct {
	at      time.Time
	used    []time.Duration
	machine time.Duration
}

func (m *cpuMeter) sample() cpuSample {
	s := cpuSample{at: time.Now(), used: make([]time.Duration, len(m.read))}
	for i, f := range m.read {
		s.used[i], _ = f() // a reading that fails shows as 0 cores, which the report makes plain
	}
	s.machine, _ = machineBusy()
	return s
}

// window samples at from and at end (or when ctx ends first, leaving the
// sample zero) and tells how many cores each process kept busy between.
func (m *cpuMeter) window(ctx context.Context, from, end time.Time) []cpuShare {
	var a, b cpuSample
	select {
	case <-time.After(time.Until(from)):
		a = m.sample()
	case <-ctx.Done():
	}
	select {
	case <-time.After(time.Until(end)):
		b = m.sample()
	case <-ctx.Done():
	}
	return m.between(a, b)
}

// cpuShare is how many cores each process kept busy between two samples.
type cpuShare struct {
	Name  string
	Cores float64
}

func (m *cpuMeter) between(a, b cpuSample) []cpuShare {
	wall := b.at.Sub(a.at).Seconds()
	if wall <= 0 {
		return nil
	}
	out := make([]cpuShare, 0, len(m.names)+1)
	named := 0.0
	for i, n := range m.names {
		c := (b.used[i] - a.used[i]).Seconds() / wall
		named += c
		out = append(out, cpuShare{Name: n, Cores: c})
	}
	// Processes sampled at slightly different instants can make this a
	// little negative on an otherwise idle machine.
	others := max(0, (b.machine-a.machine).Seconds()/wall-named)
	return append(out, cpuShare{Name: othersName, Cores: others})
}

func formatShares(shares []cpuShare) string {
	if len(shares) == 0 {
		return "not measured"
	}
	s := ""
	total := 0.0
	for i, c := range shares {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %.2f", c.Name, c.Cores)
		total += c.Cores
	}
	return fmt.Sprintf("%s (busy %.2f of %d cores)", s, total, numCPU())
}

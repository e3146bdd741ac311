package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/demo"
)

// pageOptions are the flags of (d).
type pageOptions struct {
	conns            int
	warmup, duration time.Duration
}

// pageResult is (d): GETs of the kiosk's topic page next to GETs of a bare
// Fiber handler, with the same client, concurrency and time on this machine.
type pageResult struct {
	Conns     int
	Window    time.Duration
	Pages     int
	PagesPerS float64
	Bare      int
	BarePerS  float64
	Ratio     float64
	PortalCPU []cpuShare
}

// kioskPagePath is the page a kiosk shows between visitors: its topics in
// one language.
const kioskPagePath = "/kiosk/" + demo.ServicePoint + "?lang=fi"

// runKioskPage pairs one kiosk, then requests its topic page flat out from
// o.conns keep-alive connections, and does the same against a bare Fiber
// handler started in this process, so that the ratio says what the portal's
// own work costs per page on this machine, whatever its speed.
func runKioskPage(ctx context.Context, e *env, p *portalProc, o pageOptions) (pageResult, error) {
	r := pageResult{Conns: o.conns, Window: o.duration}
	codes, err := kioskCodes(ctx, e, 1)
	if err != nil {
		return r, err
	}
	topics, err := activeTopics(ctx, e)
	if err != nil {
		return r, err
	}
	k, err := newKiosk(ctx, p.base, topics[0], codes[0])
	if err != nil {
		return r, err
	}
	defer k.close()
	pageURL := p.base + kioskPagePath
	base, err := url.Parse(p.base)
	if err != nil {
		return r, err
	}
	var cookie bytes.Buffer
	for _, c := range k.client.Jar.Cookies(base) {
		if cookie.Len() > 0 {
			cookie.WriteString("; ")
		}
		cookie.WriteString(c.Name + "=" + c.Value)
	}

	bare, stopBare, err := startBare()
	if err != nil {
		return r, err
	}
	defer stopBare()

	logf("(d) bare Fiber handler: %d connections, %s", o.conns, o.duration)
	if r.Bare, _, err = hammer(ctx, bare, "", "ok", o, &cpuMeter{}); err != nil {
		return r, fmt.Errorf("bare handler: %w", err)
	}
	logf("(d) kiosk page %s: %d connections, %s", kioskPagePath, o.conns, o.duration)
	// The page must be the paired kiosk's topic page, not a pairing prompt,
	// a closed screen or an error: each answer must carry the topic tiles.
	meter := &cpuMeter{}
	meter.add(p.name, func() (time.Duration, error) { return processCPU(p.pid()) })
	pm := e.postmasterPID()
	meter.add("postgres", func() (time.Duration, error) { return familyCPU(pm) })
	if r.Pages, r.PortalCPU, err = hammer(ctx, pageURL, cookie.String(), `kiosk-topics`, o, meter); err != nil {
		return r, fmt.Errorf("kiosk page: %w", err)
	}
	r.BarePerS = float64(r.Bare) / o.duration.Seconds()
	r.PagesPerS = float64(r.Pages) / o.duration.Seconds()
	if r.BarePerS > 0 {
		r.Ratio = r.PagesPerS / r.BarePerS
	}
	return r, nil
}

// startBare serves the reference handler on a loopback port.
func startBare() (string, func(), error) {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/", func(c *fiber.Ctx) error { return c.SendString("ok") })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go func() { _ = app.Listener(ln) }()
	return "http://" + ln.Addr().String() + "/", func() { _ = app.Shutdown() }, nil
}

// hammer GETs u from o.conns workers sharing one keep-alive client for
// warm-up plus o.duration and counts the answers finished inside the
// window. Every answer must be 200 and contain want. meter, to which the
// tool's own CPU is added, measures the window.
func hammer(ctx context.Context, u, cookie, want string, o pageOptions, meter *cpuMeter) (int, []cpuShare, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: o.conns, MaxConnsPerHost: o.conns, DisableCompression: true, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	meter.add("loadgen", func() (time.Duration, error) { return selfCPU(), nil })

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	start := time.Now()
	from, end := start.Add(o.warmup), start.Add(o.warmup+o.duration)
	var counted atomic.Int64
	var wg sync.WaitGroup
	for i := range o.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 64<<10)
			for range maxPerWorker {
				if !time.Now().Before(end) || runCtx.Err() != nil {
					return
				}
				req, err := http.NewRequestWithContext(runCtx, http.MethodGet, u, nil)
				if err != nil {
					cancel(err)
					return
				}
				if cookie != "" {
					req.Header.Set("Cookie", cookie)
				}
				resp, err := client.Do(req)
				if err != nil {
					if runCtx.Err() == nil {
						cancel(fmt.Errorf("worker %d: %w", i+1, err))
					}
					return
				}
				w := bytes.NewBuffer(buf[:0])
				_, err = io.Copy(w, io.LimitReader(resp.Body, 1<<20))
				resp.Body.Close()
				if err == nil && (resp.StatusCode != http.StatusOK || !bytes.Contains(w.Bytes(), []byte(want))) {
					err = errors.New("status " + strconv.Itoa(resp.StatusCode) + ": " + snippet(w.Bytes()))
				}
				if err != nil {
					cancel(fmt.Errorf("worker %d: %w", i+1, err))
					return
				}
				if t := time.Now(); !t.Before(from) && t.Before(end) {
					counted.Add(1)
				}
			}
		}()
	}
	shares := meter.window(runCtx, from, end)
	wg.Wait()
	if err := context.Cause(runCtx); err != nil {
		return 0, nil, err
	}
	return int(counted.Load()), shares, nil
}

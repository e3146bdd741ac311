package portal_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/koto-portal/portal/internal/browsertest"
	"github.com/koto-portal/portal/portal/portaltest"
)

// outage stands between the screens and their instance: down, it drops
// every connection and answers each new one by closing it, as a killed
// instance's address does; up again, it serves as the restarted instance
// would. While down it notes when each screen knocks (their websocket
// addresses differ), so the test sees every screen's backoff.
type outage struct {
	addr, target string
	mu           sync.Mutex
	isDown       bool
	conns        map[net.Conn]bool
	knocks       map[string][]time.Time
}

func newOutage(t *testing.T, target string) *outage {
	t.Helper()
	o := &outage{target: target, conns: map[net.Conn]bool{}, knocks: map[string][]time.Time{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.addr = ln.Addr().String()
	t.Cleanup(func() { ln.Close(); o.down() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			o.mu.Lock()
			down := o.isDown
			o.mu.Unlock()
			if down {
				go o.refuse(c)
			} else {
				go o.pipe(c)
			}
		}
	}()
	return o
}

// refuse notes which screen knocked and hangs up.
func (o *outage) refuse(c net.Conn) {
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	for _, screen := range []string{"display", "ticket", "queue"} {
		if strings.Contains(line, "/ws?"+screen+"=") {
			o.mu.Lock()
			o.knocks[screen] = append(o.knocks[screen], time.Now())
			o.mu.Unlock()
		}
	}
}

func (o *outage) pipe(c net.Conn) {
	o.mu.Lock()
	target := o.target
	o.mu.Unlock()
	s, err := net.Dial("tcp", target)
	if err != nil {
		c.Close()
		return
	}
	o.mu.Lock()
	o.conns[c], o.conns[s] = true, true
	o.mu.Unlock()
	go func() { _, _ = io.Copy(s, c); s.Close() }()
	_, _ = io.Copy(c, s)
	c.Close()
}

func (o *outage) down() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.isDown = true
	for c := range o.conns {
		c.Close()
	}
	o.conns = map[net.Conn]bool{}
}

// up lets the screens through again, to target: the instance that came
// back in the dead one's place.
func (o *outage) up(target string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.isDown, o.target = false, target
}

// TestScreensAreTrueWithinSecondsOfTheInstanceComingBack: the display, the
// expert's queue and a visitor's phone lose their instance for fifteen
// seconds, long enough for a doubling backoff to grow; a number is called
// meanwhile, and a new instance (a hub and listener that never saw these
// screens, on the same database) starts in the dead one's place. Within
// five seconds of it being ready, every screen shows the call.
func TestScreensAreTrueWithinSecondsOfTheInstanceComingBack(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	o := newOutage(t, in.URL[len("http://"):])
	base := "http://" + o.addr

	c := kioskClient(t)
	topic := firstTopic(t, in.OwnerURL)
	_, page := takeTicketHTTP(t, c, base, topic, "en")
	m := followLink.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no follow link on the ticket")
	}
	follow := base + "/t/" + m[1]

	display := browsertest.New(t, browsertest.Size(1920, 1080))
	browsertest.Open(display, t, base+"/display/demo")
	waitText(display, t, ".display-waiting", "1")
	phone := browsertest.New(t, browsertest.Phone())
	browsertest.Open(phone, t, follow)
	waitState(phone, t, "waiting")
	staff := browsertest.New(t)
	browserLogin(staff, t, base, "expert@example.org", demoPassword)
	deskID := queryString(t, in.OwnerURL, `SELECT id::text FROM desks WHERE name = '1'`)
	browsertest.Open(staff, t, base+"/staff/queue/demo?desk="+deskID)
	browsertest.WaitVisible(staff, t, ".queue-table")
	for _, s := range []context.Context{display, phone, staff} {
		waitEval(s, t, `document.getElementById('live-status').textContent`, "")
	}

	o.down()
	downAt := time.Now()
	time.Sleep(2 * time.Second)
	called := callNext(t, in)
	restarted := portaltest.Start(t, portaltest.WithDatabase(in.OwnerURL), portaltest.WithDemo(demoPassword))
	time.Sleep(time.Until(downAt.Add(15 * time.Second)))
	o.up(restarted.URL[len("http://"):])
	back := time.Now()

	screens := []struct {
		name string
		ctx  context.Context
		expr string
	}{
		{"display", display, `(document.querySelector('.display-now .call') || {}).textContent || ''`},
		{"phone", phone, `(document.querySelector('.follow-ticket') || {getAttribute: function () { return '' }}).getAttribute('data-state')`},
		{"queue", staff, `(document.querySelector('.my-desk .current-number') || {}).textContent || ''`},
	}
	want := map[string]func(string) bool{
		"display": func(s string) bool { return strings.Contains(s, called.Label()) },
		"phone":   func(s string) bool { return s == "called" },
		"queue":   func(s string) bool { return strings.Contains(s, called.Label()) },
	}
	var wg sync.WaitGroup
	took := make([]time.Duration, len(screens))
	for i, sc := range screens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			took[i] = -1
			for time.Since(back) < 15*time.Second {
				ctx, cancel := context.WithTimeout(sc.ctx, time.Second)
				got, err := chromedp.Run(ctx, chromedp.Evaluate[string](sc.expr))
				cancel()
				if err == nil && want[sc.name](got) {
					took[i] = time.Since(back)
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	// However long the outage, a screen knocks again within about 2 s: the
	// backoff stops growing there (a doubling one was at 5–10 s by now).
	o.mu.Lock()
	for _, screen := range []string{"display", "ticket", "queue"} {
		prev := downAt
		for _, k := range append(o.knocks[screen], back) {
			if gap := k.Sub(prev); gap > 2500*time.Millisecond {
				t.Errorf("the %s screen waited %v between tries to reconnect, %v into the outage", screen, gap.Round(10*time.Millisecond), prev.Sub(downAt).Round(time.Second))
				break
			}
			prev = k
		}
		t.Logf("%s knocked %d times in the %v outage", screen, len(o.knocks[screen]), back.Sub(downAt).Round(time.Second))
	}
	o.mu.Unlock()
	for i, sc := range screens {
		t.Logf("%s true again %v after the instance came back", sc.name, took[i].Round(10*time.Millisecond))
		if took[i] < 0 || took[i] > 5*time.Second {
			t.Errorf("the %s was not true again within 5 s of the instance coming back (took %v; -1: not within 15 s)", sc.name, took[i])
		}
	}
}

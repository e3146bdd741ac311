package live

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	gws "github.com/gorilla/websocket"
)

const (
	envClientAddr = "KOTO_LIVE_MEM_CLIENT_ADDR"
	envClientN    = "KOTO_LIVE_MEM_CLIENT_N"
)

// BenchmarkIdleConnectionMemory holds 10,000 idle subscribers (through at
// least one round of pings) and reports the server's heap and stacks per
// connection, with the socket buffers this package recommends and, for
// reference, with those of Fiber's websocket middleware. The clients live in
// a child process so that only the server side is counted. It is a
// benchmark, not a test: memory is measured and reported, never asserted.
// KOTO_LIVE_MEM_CONNS changes the number.
//
//	go test -run '^$' -bench IdleConnectionMemory ./internal/live/
func BenchmarkIdleConnectionMemory(b *testing.B) {
	if raceEnabled {
		b.Skip("the race detector multiplies memory use")
	}
	n := 10000
	if s := os.Getenv("KOTO_LIVE_MEM_CONNS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < uint64(n)+500 {
		b.Fatalf("need %d open files, the limit is %d", n+500, lim.Cur)
	}
	for _, tc := range []struct {
		name string
		up   *websocket.FastHTTPUpgrader
	}{
		{"recommended", recommendedUpgrader()},
		{"fiber-defaults", &websocket.FastHTTPUpgrader{ReadBufferSize: 1024, WriteBufferSize: 1024}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var per uint64
			for range b.N {
				per = measureIdle(b, n, tc.up)
			}
			b.ReportMetric(float64(per), "B/conn")
			b.ReportMetric(float64(per)/1024, "KiB/conn")
		})
	}
}

// measureIdle returns the server's memory per idle connection.
func measureIdle(t testing.TB, n int, up *websocket.FastHTTPUpgrader) uint64 {
	ping := time.Second
	h, _ := startHub(t, Options{PingInterval: ping})
	ts := startServer(t, h, up)
	before := inUse()
	goroutinesBefore := runtime.NumGoroutine()

	// The test binary itself is the client: TestMain sends it to
	// runMemoryClients when it sees the address.
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), envClientAddr+"="+ts.addr, envClientN+"="+strconv.Itoa(n))
	child.Stderr = os.Stderr
	stdin, _ := child.StdinPipe()
	stdout, _ := child.StdoutPipe()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		_ = child.Wait()
		waitFor(t, "the clients to leave", func() bool { return h.Count() == 0 })
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("client process: %q, %v", line, err)
	}
	waitFor(t, "every client in the index", func() bool { return h.Count() == int64(n) })
	time.Sleep(ping + ping/2) // every connection pinged at least once
	if h.Count() != int64(n) {
		t.Fatalf("only %d of %d connections survived their pings", h.Count(), n)
	}
	after := inUse()
	per := (after - before) / uint64(n)
	t.Logf("%d idle connections: %.1f MiB in use, %d B (%.1f KiB) each; %.2f goroutines each",
		n, float64(after-before)/(1<<20), per, float64(per)/1024,
		float64(runtime.NumGoroutine()-goroutinesBefore)/float64(n))
	return per
}

// inUse is the heap and stack memory in use once garbage is collected.
func inUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

// runMemoryClients is the child process of BenchmarkIdleConnectionMemory:
// it opens the connections, answers pings, and holds on until stdin closes.
func runMemoryClients(addr string) error {
	n, _ := strconv.Atoi(os.Getenv(envClientN))
	url := "ws://" + addr + "/ws?channels=sp:1:display"
	var (
		mu    sync.Mutex
		conns []*gws.Conn
		wg    sync.WaitGroup
		fail  error
	)
	jobs := make(chan struct{})
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				ws, _, err := gws.DefaultDialer.Dial(url, nil)
				mu.Lock()
				if err != nil {
					fail = err
				} else {
					conns = append(conns, ws)
				}
				mu.Unlock()
				if err == nil {
					// Reading is what answers the server's pings.
					go func() {
						for {
							if _, _, err := ws.ReadMessage(); err != nil {
								return
							}
						}
					}()
				}
			}
		}()
	}
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	if fail != nil {
		return fmt.Errorf("dial: %w (%d connected)", fail, len(conns))
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, ws := range conns {
		ws.Close()
	}
	return nil
}

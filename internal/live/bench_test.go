package live

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Many subscribers, overlapping bursts and a ring that grows while it wraps:
// every client must still see every event once, in order.
func TestEveryClientGetsEveryEventInOrder(t *testing.T) {
	const clients, events = 40, 600
	h, _ := startHub(t, Options{QueueLen: 1024})
	ts := startServer(t, h, nil)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		c := dial(t, ts, "q", fmt.Sprint("own-", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for want := int64(1); want <= events; want++ {
				w, err := c.read(waitLong)
				if err != nil {
					errs <- fmt.Errorf("client %d waiting for %d: %w", i, want, err)
					return
				}
				if w.Seq != want || w.Channel != "q" {
					errs <- fmt.Errorf("client %d got %s:%d, want q:%d", i, w.Channel, w.Seq, want)
					return
				}
			}
		}()
	}
	for seq := int64(1); seq <= events; seq++ {
		h.Broadcast(Event{Channel: "q", Seq: seq, Type: "t", Data: []byte(`{"n":1}`)})
		if seq%100 == 0 {
			time.Sleep(time.Millisecond) // let some queues drain so rings wrap
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if h.SlowClosed() != 0 {
		t.Fatalf("%d clients were cut as slow", h.SlowClosed())
	}
}

// BenchmarkBroadcast measures one event's trip through the hub to n
// connected sockets: an op ends when every client has read it.
func BenchmarkBroadcast(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprint("conns=", n), func(b *testing.B) {
			h, _ := startHub(b, Options{QueueLen: 64})
			ts := startServer(b, h, nil)
			var got sync.WaitGroup
			for range n {
				c := dial(b, ts, "sp:1:display")
				go func() {
					for {
						_, msg, err := c.ws.ReadMessage()
						if err != nil {
							return
						}
						if bytes.HasPrefix(msg, []byte(`{"channel"`)) {
							got.Done()
						}
					}
				}()
			}
			data := []byte(`{"number":"A042","desk":"3","topic":"residence permit"}`)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				got.Add(n)
				h.Broadcast(Event{Channel: "sp:1:display", Seq: int64(i + 1), Type: "ticket.called", Data: data})
				got.Wait()
			}
			b.StopTimer()
			if h.SlowClosed() != 0 {
				b.Fatalf("%d clients cut as slow", h.SlowClosed())
			}
		})
	}
}

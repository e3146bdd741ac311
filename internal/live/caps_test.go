package live

import (
	"sync"
	"testing"
)

func TestCapsLimitEachKey(t *testing.T) {
	c := NewCaps()
	var releases []func()
	for i := range 3 {
		r, ok := c.Take(Cap{"ticket:1", 3}, Cap{"addr:a", 5})
		if !ok {
			t.Fatalf("socket %d of ticket 1 refused", i+1)
		}
		releases = append(releases, r)
	}
	if _, ok := c.Take(Cap{"ticket:1", 3}, Cap{"addr:a", 5}); ok {
		t.Fatal("a fourth socket for ticket 1 was allowed")
	}
	// The refused take counted nothing: the address has room for two more.
	for i := range 2 {
		if _, ok := c.Take(Cap{"ticket:2", 3}, Cap{"addr:a", 5}); !ok {
			t.Fatalf("socket %d of ticket 2 refused", i+1)
		}
	}
	if _, ok := c.Take(Cap{"ticket:3", 3}, Cap{"addr:a", 5}); ok {
		t.Fatal("a sixth socket from one address was allowed")
	}
	releases[0]()
	releases[0]() // twice is once
	if _, ok := c.Take(Cap{"ticket:1", 3}); !ok {
		t.Error("a released socket's place was not given back")
	}
	if _, ok := c.Take(Cap{"ticket:1", 3}); ok {
		t.Error("a double release gave back two places")
	}
}

func TestCapsHoldUnderRaces(t *testing.T) {
	c := NewCaps()
	var mu sync.Mutex
	taken := 0
	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, ok := c.Take(Cap{"ticket:9", 4}); ok {
				mu.Lock()
				taken++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if taken != 4 {
		t.Errorf("%d of 200 parallel sockets taken, want 4", taken)
	}
}

package live

import "sync"

// Cap is a limit on the sockets one key may hold open at once.
type Cap struct {
	Key string // e.g. "ticket:12" or "addr:192.0.2.7"
	Max int
}

// Caps counts the open sockets of this instance by key, so that one ticket
// link or one client address cannot open thousands. The counts are per
// instance: behind a load balancer a key may hold Max on each.
type Caps struct {
	mu   sync.Mutex
	open map[string]int
}

// NewCaps makes an empty counter.
func NewCaps() *Caps { return &Caps{open: make(map[string]int)} }

// Take counts one more socket on every key, or on none if any is at its
// Max. release gives the socket back; call it once, when the socket ends
// (or its upgrade fails).
func (c *Caps) Take(caps ...Cap) (release func(), ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range caps {
		if c.open[k.Key] >= k.Max {
			return nil, false
		}
	}
	for _, k := range caps {
		c.open[k.Key]++
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			for _, k := range caps {
				if c.open[k.Key]--; c.open[k.Key] <= 0 {
					delete(c.open, k.Key)
				}
			}
		})
	}, true
}

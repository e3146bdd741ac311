package queue

import (
	"sync"
	"time"
)

// pace is how fast a topic's visitors are served, as the wait estimate
// reads it: the time one service takes and the experts sharing them.
type pace struct {
	service time.Duration
	experts int
	read    time.Time // by the Service's clock
}

// paceTTL is how long a topic's pace is used before it is read again.
// Every ticket's wait is estimated, and reading the pace (three index
// scans of the ticket history) was a quarter of the database's work per
// kiosk ticket; the pace moves only as visitors are served, minutes
// apart, and the wait is shown rounded to five minutes, so a pace this
// old changes no shown wait but by chance at a rounding edge.
const paceTTL = 30 * time.Second

// maxPaces bounds the cache: past it, it starts again empty.
const maxPaces = 10000

// paceCache keeps each topic's pace for paceTTL, per instance (each
// reads its own: instances never need to agree on a wait).
type paceCache struct {
	mu sync.Mutex
	m  map[[2]int64]pace // by service point and topic
}

func (c *paceCache) get(spID, topicID int64, now time.Time) (pace, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[[2]int64{spID, topicID}]
	if !ok || now.Sub(p.read) >= paceTTL || now.Before(p.read) {
		return pace{}, false
	}
	return p, true
}

func (c *paceCache) put(spID, topicID int64, p pace) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxPaces {
		c.m = map[[2]int64]pace{}
	}
	c.m[[2]int64{spID, topicID}] = p
}

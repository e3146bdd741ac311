package queue

import (
	"strconv"
	"strings"
	"sync"

	"github.com/koto-portal/portal/internal/auth"
)

// kioskCache keeps, per kiosk credential, what its screens before the tap
// show and what rarely changes: the device, its service point's names,
// time zone and opening hours, and its active topics. Whether the service
// point is open is still worked out from the hours at each request.
//
// It is right only while every change reaches it: set-up changes announce
// the service point's SetupKey, a revoked or re-paired device its
// DeviceKey (a trigger, migration 00008), both through the live listener's
// ends. So the cache is used only while the listener is listening, and is
// emptied at the start of every listening session, when ends may have been
// missed.
type kioskCache struct {
	listening func() bool // nil: no cache

	mu      sync.Mutex
	gen     uint64 // counts forgets, so that a read begun before one is not stored after it
	fills   uint64 // counts stored entries: each one's version
	entries map[string]kioskEntry
}

type kioskEntry struct {
	deviceID int64
	sp       servicePoint
	topics   []Topic // shared by every reader: never changed in place
	version  uint64  // unique to this fill (Screen.Version)
}

// CacheKiosks turns on the kiosk cache; listening says whether the
// instance's live listener is listening now. Pair it with Forget as the
// listener's watcher.
func (s *Service) CacheKiosks(listening func() bool) {
	s.kiosks.mu.Lock()
	defer s.kiosks.mu.Unlock()
	s.kiosks.listening = listening
	s.kiosks.entries = map[string]kioskEntry{}
}

// Forget drops what the kiosk cache holds on what key names: a device
// (live.DeviceKey), a service point's set-up (live.SetupKey), or with ""
// everything. Other keys are not the cache's.
func (s *Service) Forget(key string) {
	c := &s.kiosks
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	kind, idText, _ := strings.Cut(key, ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	switch {
	case key == "":
		clear(c.entries)
	case err != nil:
	case kind == "device":
		for k, e := range c.entries {
			if e.deviceID == id {
				delete(c.entries, k)
			}
		}
	case kind == "setup":
		for k, e := range c.entries {
			if e.sp.id == id {
				delete(c.entries, k)
			}
		}
	}
}

// cacheKey names a device as the kiosk pages ask for it; the credential is
// kept only as its hash.
func (d Device) cacheKey() string {
	secret := d.DemoName
	if d.Token != "" {
		secret = string(auth.Hash(d.Token))
	}
	return d.Kind + "\x00" + d.Slug + "\x00" + strconv.FormatBool(d.Token != "") + "\x00" + secret
}

// get returns the entry for key when the cache may be trusted, and else
// the generation a fill must carry to put.
func (c *kioskCache) get(key string) (kioskEntry, uint64, bool) {
	if c.listening == nil || !c.listening() {
		return kioskEntry{}, 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	return e, c.gen, ok
}

// put stores a fill unless something was forgotten since it began, and
// returns its version (0: not stored).
func (c *kioskCache) put(key string, gen uint64, e kioskEntry) uint64 {
	if c.listening == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || len(c.entries) >= maxKioskEntries {
		return 0
	}
	c.fills++
	e.version = c.fills
	c.entries[key] = e
	return e.version
}

// maxKioskEntries bounds the memory wrong credentials cannot fill (they
// are never stored) and many kiosks can: past it, reads go to the database.
const maxKioskEntries = 10000

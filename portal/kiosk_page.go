package portal

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"sync"

	"github.com/gofiber/fiber/v2"
)

// kioskPages keeps the kiosk's screens before the tap, drawn once per
// set-up (queue.Screen.Version), language and screen: html/template took
// two thirds of the portal's time serving the topic screen. Only the
// visitor's own values change from one drawing to the next, the CSRF token
// and the tap's one-time key; they are drawn as markers, and a screen from
// memory is the kept bytes with the values written where the markers were.
type kioskPages struct {
	marks [slotCount]string // random per instance, so no page text can hold them

	mu    sync.Mutex
	pages map[kioskPageKey]*splitPage
	bytes int
}

// The per-visitor values of a kept screen, in the order of kioskPages.marks.
const (
	slotCSRF = iota
	slotKey
	slotCount
)

// maxKioskPageBytes bounds the memory kept screens take: past it they are
// all dropped and drawn anew (a change of set-up leaves the old versions'
// screens behind until then).
const maxKioskPageBytes = 16 << 20

type kioskPageKey struct {
	version      uint64
	lang, chosen string
	step         string
	topic        int64
	key          bool // the screen carries a one-time key
}

// splitPage is a drawn screen cut at its markers: parts[0], the value of
// slots[0], parts[1], … and the last part.
type splitPage struct {
	parts [][]byte
	slots []int
	size  int
}

func newKioskPages() *kioskPages {
	p := &kioskPages{pages: map[kioskPageKey]*splitPage{}}
	for i := range p.marks {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		p.marks[i] = "kotoslot" + hex.EncodeToString(b)
	}
	return p
}

// keptStep: the screens that show nothing of the moment. The closed
// screen tells when the service point opens, the others after the tap show
// a ticket or a message.
func keptStep(step string) bool {
	return step == stepLanguage || step == stepTopic || step == stepInterpreter
}

// slotSafe is a value every html/template escaper leaves as it is, in any
// context, so writing it where its marker was gives the bytes a full
// drawing would: our tokens are base64url. Anything else (a forged
// cookie) is drawn in full.
func slotSafe(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return v != ""
}

// renderKiosk draws a kiosk screen, from memory when it may be kept: one of
// the screens before the tap, read from the kiosk cache (version set), not
// seen by a signed-in staff member.
func (s *Server) renderKiosk(c *fiber.Ctx, version uint64, kp kioskPage) error {
	if version == 0 || kp.Staff != nil || !keptStep(kp.Step) || !slotSafe(kp.CSRF) || kp.Key != "" && !slotSafe(kp.Key) {
		return s.render(c, "kiosk", kp)
	}
	pages := s.kioskPages
	key := kioskPageKey{version: version, lang: kp.Lang().Code, chosen: kp.Chosen, step: kp.Step, topic: kp.Topic.ID, key: kp.Key != ""}
	pages.mu.Lock()
	p := pages.pages[key]
	pages.mu.Unlock()
	if p == nil {
		marked := kp
		marked.CSRF = pages.marks[slotCSRF]
		if kp.Key != "" {
			marked.Key = pages.marks[slotKey]
		}
		b, err := s.execute("kiosk", marked)
		if err != nil {
			return err
		}
		p = split(b, pages.marks[:])
		pages.put(key, p)
	}
	values := [slotCount]string{slotCSRF: kp.CSRF, slotKey: kp.Key}
	out := make([]byte, 0, p.size+len(p.slots)*max(len(kp.CSRF), len(kp.Key)))
	for i, part := range p.parts {
		out = append(out, part...)
		if i < len(p.slots) {
			out = append(out, values[p.slots[i]]...)
		}
	}
	c.Type("html", "utf-8")
	return c.Send(out)
}

func (p *kioskPages) put(key kioskPageKey, page *splitPage) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bytes+page.size > maxKioskPageBytes {
		clear(p.pages)
		p.bytes = 0
	}
	if old := p.pages[key]; old != nil {
		p.bytes -= old.size
	}
	p.pages[key] = page
	p.bytes += page.size
}

// split cuts b at every occurrence of any of marks.
func split(b []byte, marks []string) *splitPage {
	p := &splitPage{}
	for {
		next, which := -1, 0
		for m, mark := range marks {
			if i := bytes.Index(b, []byte(mark)); i >= 0 && (next < 0 || i < next) {
				next, which = i, m
			}
		}
		if next < 0 {
			break
		}
		p.parts = append(p.parts, b[:next])
		p.slots = append(p.slots, which)
		p.size += next
		b = b[next+len(marks[which]):]
	}
	p.parts = append(p.parts, b)
	p.size += len(b)
	return p
}

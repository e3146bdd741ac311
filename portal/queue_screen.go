package portal

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/queue"
)

type queueRow struct {
	ID          int64
	Label       string
	Topic       string
	Language    string
	LangCode    string
	Interpreter bool
	Since       time.Time
	Late        bool // waited past the service point's target
	ForDesk     string
	Recalls     int
	State       string
	Desk        string
	Mine        bool
	// Booked is a checked-in appointment's time ("" for a walk-in), and
	// BookedMine tells that the appointment is this expert's own.
	Booked     string
	BookedMine bool
}

type queuePage struct {
	Page
	Slug       string
	SPName     string
	Desks      []org.Desk
	Topics     []org.Topic
	Desk       int64 // the desk this expert works at; 0 until chosen
	Picked     map[int64]bool
	Query      string // desk and topics, for links and redirects
	Waiting    []queueRow
	Mine       []queueRow // called to or served at my desk
	Others     []queueRow // called to or served at other desks
	MaxRecalls int
	TargetMin  int
	Message    string
	IsError    bool
}

// deskAndTopics reads the expert's desk and topic filter from the query
// or a submitted form. They are only numbers here: the queue keeps to its
// own service point's desks and topics.
func deskAndTopics(get func(string) string) (int64, []int64) {
	desk, err := strconv.ParseInt(get("desk"), 10, 64)
	if err != nil || desk < 0 {
		desk = 0
	}
	var picked []int64
	for _, part := range strings.Split(get("topics"), ",") {
		if id, err := strconv.ParseInt(strings.TrimSpace(part), 10, 64); err == nil && id > 0 && !slices.Contains(picked, id) {
			picked = append(picked, id)
		}
	}
	return desk, picked
}

func queueQuery(desk int64, topics []int64) string {
	v := url.Values{}
	if desk != 0 {
		v.Set("desk", strconv.FormatInt(desk, 10))
	}
	if len(topics) > 0 {
		parts := make([]string, len(topics))
		for i, t := range topics {
			parts[i] = strconv.FormatInt(t, 10)
		}
		v.Set("topics", strings.Join(parts, ","))
	}
	return v.Encode()
}

// showQueue is the expert's live queue: pick a desk (and topics), call the
// next visitor, and work the called ticket through to a visit record.
func (s *Server) showQueue(c *fiber.Ctx) error {
	slug := c.Params("sp")
	// The filter form sends one topic=… per box; the address keeps them as
	// one topics=1,2 so links and redirects stay short.
	if multi := c.Context().QueryArgs().PeekMulti("topic"); len(multi) > 0 || c.Query("topic") == "" && c.Context().QueryArgs().Has("topic") {
		parts := make([]string, 0, len(multi))
		for _, m := range multi {
			parts = append(parts, string(m))
		}
		v := url.Values{}
		if d := c.Query("desk"); d != "" {
			v.Set("desk", d)
		}
		if len(parts) > 0 {
			v.Set("topics", strings.Join(parts, ","))
		}
		return c.Redirect("/staff/queue/"+url.PathEscape(slug)+"?"+v.Encode(), fiber.StatusSeeOther)
	}
	desk, picked := deskAndTopics(func(k string) string { return c.Query(k) })
	board, err := s.queue.Board(c.UserContext(), queue.Expert{Actor: principal(c), Slug: slug, Desk: desk})
	if err != nil {
		return err
	}
	sp, desks, topics, state := board.Point, board.Desks, board.Topics, board.State
	// Only this service point's desks and topics stay in links.
	if !slices.ContainsFunc(desks, func(d org.Desk) bool { return d.ID == desk && d.Active }) {
		desk = 0
	}
	picked = slices.DeleteFunc(picked, func(id int64) bool {
		return !slices.ContainsFunc(topics, func(t org.Topic) bool { return t.ID == id })
	})
	page := s.page(c, "")
	page.Body = "queue"
	page.Title = page.T.Get("queue.title", "Place", sp.Names.In(page.T.Lang.Code))
	qp := queuePage{Page: page, Slug: sp.Slug, SPName: sp.Names.In(page.T.Lang.Code), Desks: desks, Desk: desk,
		Picked: map[int64]bool{}, Query: queueQuery(desk, picked), MaxRecalls: sp.MaxRecalls, TargetMin: sp.TargetWaitMinutes}
	for _, id := range picked {
		qp.Picked[id] = true
	}
	for _, t := range topics {
		if t.Active {
			qp.Topics = append(qp.Topics, t)
		}
	}
	label := map[int64]string{}
	for _, t := range topics {
		label[t.ID] = t.Labels.In(page.T.Lang.Code)
	}
	deskName := map[int64]string{}
	for _, d := range desks {
		deskName[d.ID] = d.Name
	}
	now := time.Now()
	row := func(t queue.Ticket) queueRow {
		r := queueRow{ID: t.ID, Label: t.Label(), Topic: label[t.TopicID], Language: s.languageName(t.Language), LangCode: t.Language,
			Interpreter: t.Interpreter, Since: t.CreatedAt, Recalls: t.Recalls, State: string(t.State), Desk: t.DeskName,
			Late: now.Sub(t.CreatedAt) > time.Duration(sp.TargetWaitMinutes)*time.Minute}
		if t.ForDeskID != nil {
			r.ForDesk = deskName[*t.ForDeskID]
		}
		r.Mine = t.DeskID != nil && *t.DeskID == desk && desk != 0
		if t.BookedFor != nil {
			r.Booked = t.BookedFor.In(sp.Location()).Format("15:04")
			r.BookedMine = t.ForStaffID != nil && *t.ForStaffID == principal(c).StaffID
		}
		return r
	}
	for _, w := range state.Waiting {
		qp.Waiting = append(qp.Waiting, row(w.Ticket))
	}
	for _, t := range state.Active {
		if r := row(t); r.Mine {
			qp.Mine = append(qp.Mine, r)
		} else {
			qp.Others = append(qp.Others, r)
		}
	}
	if m := c.Query("msg"); queueMessages[m] {
		qp.Message, qp.IsError = page.T.Get(m), c.Query("err") == "1"
	} else if c.Query("saved") == "visit" {
		qp.Message = page.T.Get("visit.saved")
	}
	c.Set("X-Live-Seq", strconv.FormatInt(state.Seq, 10))
	if c.Query("fragment") == "1" {
		return s.renderFragment(c, "queue", "live", qp)
	}
	return s.render(c, "queue", qp)
}

// queueMessages are the notices a redirect may ask the queue screen to show.
var queueMessages = map[string]bool{
	"queue.pick_desk": true, "queue.empty": true, "queue.gone": true, "queue.wrong_state": true,
	"queue.too_early": true, "queue.other_desk": true, "queue.bad_transfer": true,
}

// backToQueue returns to the queue screen with the desk and topics kept and
// a message to show.
func backToQueue(c *fiber.Ctx, slug, query, msg string, isErr bool) error {
	v, _ := url.ParseQuery(query)
	if msg != "" {
		v.Set("msg", msg)
		if isErr {
			v.Set("err", "1")
		}
	}
	return c.Redirect("/staff/queue/"+slug+"?"+v.Encode(), fiber.StatusSeeOther)
}

// apiQueueSnapshot is a service point's queue as JSON, for staff (session)
// and the service point's own paired devices.
func (s *Server) apiQueueSnapshot(c *fiber.Ctx) error {
	tenant, spID, _, err := s.liveAccess(c, c.Params("sp"))
	if err != nil {
		return err
	}
	state, err := s.queue.Snapshot(c.UserContext(), tenant, spID)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(state)
}

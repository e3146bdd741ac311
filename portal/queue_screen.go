package portal

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/auth"
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

// workplace resolves the service point in the address within the staff
// member's municipality and checks they may work there.
func (s *Server) workplace(c *fiber.Ctx) (auth.Principal, org.ServicePoint, error) {
	p := principal(c)
	var sp org.ServicePoint
	err := s.db.InTenant(c.UserContext(), p.Tenant, func(tx pgx.Tx) error {
		var err error
		sp, err = org.GetServicePointBySlug(c.UserContext(), tx, c.Params("sp"))
		return err
	})
	if isNotFound(err) {
		return p, sp, errNotFound
	} else if err != nil {
		return p, sp, err
	}
	if !p.CanWork(sp.ID) {
		return p, sp, errForbidden
	}
	return p, sp, nil
}

// deskAndTopics reads the expert's desk and topic filter from the query
// or a submitted form, keeping only those of this service point.
func deskAndTopics(get func(string) string, desks []org.Desk, topics []org.Topic) (int64, []int64) {
	var desk int64
	if id, err := strconv.ParseInt(get("desk"), 10, 64); err == nil {
		for _, d := range desks {
			if d.ID == id && d.Active {
				desk = id
			}
		}
	}
	var picked []int64
	for _, part := range strings.Split(get("topics"), ",") {
		id, err := strconv.ParseInt(strings.TrimSpace(part), 10, 64)
		if err != nil {
			continue
		}
		for _, t := range topics {
			if t.ID == id {
				picked = append(picked, id)
			}
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

func (s *Server) loadDesksTopics(c *fiber.Ctx, tenant, spID int64) ([]org.Desk, []org.Topic, error) {
	var desks []org.Desk
	var topics []org.Topic
	err := s.db.InTenant(c.UserContext(), tenant, func(tx pgx.Tx) error {
		var err error
		if desks, err = org.ListDesks(c.UserContext(), tx, spID); err != nil {
			return err
		}
		topics, err = org.ListTopics(c.UserContext(), tx, spID, false)
		return err
	})
	return desks, topics, err
}

// showQueue is the expert's live queue: pick a desk (and topics), call the
// next visitor, and work the called ticket through to a visit record.
func (s *Server) showQueue(c *fiber.Ctx) error {
	p, sp, err := s.workplace(c)
	if err != nil {
		return err
	}
	desks, topics, err := s.loadDesksTopics(c, p.Tenant, sp.ID)
	if err != nil {
		return err
	}
	state, err := s.queue.Snapshot(c.UserContext(), p.Tenant, sp.ID)
	if err != nil {
		return err
	}
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
		return c.Redirect("/staff/queue/"+sp.Slug+"?"+v.Encode(), fiber.StatusSeeOther)
	}
	page := s.page(c, "")
	page.Body = "queue"
	page.Title = page.T.Get("queue.title", "Place", sp.Names.In(page.T.Lang.Code))
	desk, picked := deskAndTopics(func(k string) string { return c.Query(k) }, desks, topics)
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

// queueForm is what every queue action starts from: the workplace, and the
// desk and topics the expert's form carried.
type queueForm struct {
	p      auth.Principal
	sp     org.ServicePoint
	desk   int64
	topics []int64
	query  string // desk and topics for the way back
	values url.Values
}

func (s *Server) readQueueForm(c *fiber.Ctx) (queueForm, error) {
	var f queueForm
	var err error
	if f.p, f.sp, err = s.workplace(c); err != nil {
		return f, err
	}
	desks, topics, err := s.loadDesksTopics(c, f.p.Tenant, f.sp.ID)
	if err != nil {
		return f, err
	}
	f.values = formValues(c)
	f.desk, f.topics = deskAndTopics(f.values.Get, desks, topics)
	f.query = queueQuery(f.desk, f.topics)
	return f, nil
}

// submitCallNext calls the next visitor to the expert's desk: their topics,
// their languages first, then the longest waiting.
func (s *Server) submitCallNext(c *fiber.Ctx) error {
	f, err := s.readQueueForm(c)
	if err != nil {
		return err
	}
	if f.desk == 0 {
		return backToQueue(c, f.sp.Slug, f.query, "queue.pick_desk", true)
	}
	_, err = s.queue.CallNext(c.UserContext(), f.p.Tenant, f.sp.ID, f.desk, f.p.StaffID, f.topics, f.p.Languages)
	if errors.Is(err, queue.ErrQueueEmpty) {
		return backToQueue(c, f.sp.Slug, f.query, "queue.empty", true)
	} else if err != nil {
		return err
	}
	return backToQueue(c, f.sp.Slug, f.query, "", false)
}

// submitTicketAction applies one action to one ticket of this service point.
func (s *Server) submitTicketAction(c *fiber.Ctx) error {
	f, err := s.readQueueForm(c)
	if err != nil {
		return err
	}
	p, sp, desk, q, form := f.p, f.sp, f.desk, f.query, f.values
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return errNotFound
	}
	ctx := c.UserContext()
	switch c.Params("action") {
	case "call":
		if desk == 0 {
			return backToQueue(c, sp.Slug, q, "queue.pick_desk", true)
		}
		_, err = s.queue.Call(ctx, p.Tenant, sp.ID, id, desk, p.StaffID)
	case "recall":
		_, err = s.queue.Recall(ctx, p.Tenant, sp.ID, id)
	case "no-show":
		_, err = s.queue.NoShow(ctx, p.Tenant, sp.ID, id)
	case "start":
		_, err = s.queue.Start(ctx, p.Tenant, sp.ID, id)
	case "finish":
		var f queue.Finished
		if f, err = s.queue.Finish(ctx, p.Tenant, sp.ID, id); err == nil {
			v := url.Values{"ticket": {strconv.FormatInt(f.ID, 10)}, "sp": {sp.Slug}}
			if q != "" {
				v.Set("back", q)
			}
			return c.Redirect("/staff/visits/new?"+v.Encode(), fiber.StatusSeeOther)
		}
	case "transfer":
		var toTopic, toDesk *int64
		if n, e := strconv.ParseInt(form.Get("to_topic"), 10, 64); e == nil && n > 0 {
			toTopic = &n
		}
		if n, e := strconv.ParseInt(form.Get("to_desk"), 10, 64); e == nil && n > 0 {
			toDesk = &n
		}
		_, err = s.queue.Transfer(ctx, p.Tenant, sp.ID, id, toTopic, toDesk)
	case "return":
		_, err = s.queue.ReturnToQueue(ctx, p.Tenant, sp.ID, id)
	default:
		return errNotFound
	}
	if key := queueErrorKey(err); key != "" {
		return backToQueue(c, sp.Slug, q, key, true)
	} else if err != nil {
		return err
	}
	return backToQueue(c, sp.Slug, q, "", false)
}

// queueErrorKey names the message for a refusal the expert can act on.
func queueErrorKey(err error) string {
	switch {
	case err == nil:
		return ""
	case isNotFound(err):
		return "queue.gone"
	case errors.Is(err, queue.ErrWrongState):
		return "queue.wrong_state"
	case errors.Is(err, queue.ErrTooEarlyForNoShow):
		return "queue.too_early"
	case errors.Is(err, queue.ErrOtherDesk):
		return "queue.other_desk"
	case errors.Is(err, queue.ErrUnknownDesk), errors.Is(err, queue.ErrUnknownTopic), errors.Is(err, queue.ErrNoTransferTarget):
		return "queue.bad_transfer"
	case errors.Is(err, queue.ErrUnknownStaff):
		return "queue.wrong_state"
	}
	return ""
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

package portal

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/tasks"
)

// taskRow is one task as a list or the task page shows it, every text in
// the reader's language.
type taskRow struct {
	ID          int64
	Title       string
	Kind        string
	Facts       []string // the task's facts, written out
	Details     string
	Due         string // "" without a due time
	DueISO      string
	Overdue     bool
	Priority    string
	High        bool
	Status      string
	StatusText  string
	Assignee    string // "" in the pool
	AssigneeID  int64
	HasClient   bool
	ClientID    int64
	Closed      bool
	Mine        bool
	CanClaim    bool // open to the reader: from the pool, or theirs and not started
	PointSlug   string
	CreatedText string
}

// option is one choice of a filter or a select.
type option struct {
	Value, Label string
	Selected     bool
}

// taskView writes a task out for reader me in the language of t.
func taskView(tr *i18n.T, task tasks.Task, me int64, now time.Time) taskRow {
	r := taskRow{ID: task.ID, Kind: string(task.Kind), Title: task.Title, Details: task.Details,
		Overdue: task.Overdue(now), Priority: string(task.Priority), High: task.Priority == tasks.High,
		Status: string(task.Status), StatusText: tr.Get("tasks.status." + string(task.Status)),
		Assignee: task.Assignee, AssigneeID: task.AssigneeID, HasClient: task.ClientID != 0, ClientID: task.ClientID,
		Closed: task.Status.Closed(), Mine: task.AssigneeID == me, PointSlug: task.PointSlug}
	if r.Title == "" {
		r.Title = tr.Get("tasks.kind." + string(task.Kind))
	}
	r.CanClaim = !r.Closed && (task.AssigneeID == 0 || r.Mine && task.Status == tasks.Open)
	loc := org.Zone(task.TimeZone)
	if !task.DueAt.IsZero() {
		r.Due = when(tr.Lang, task.DueAt.In(loc))
		r.DueISO = task.DueAt.UTC().Format(time.RFC3339)
	}
	r.CreatedText = when(tr.Lang, task.CreatedAt.In(loc))
	if v := task.Facts[tasks.FactTime]; v != "" {
		if at, err := time.Parse(time.RFC3339, v); err == nil {
			r.Facts = append(r.Facts, tr.Get("tasks.fact.time", "Time", when(tr.Lang, at.In(loc))))
		}
	}
	if v := task.Facts[tasks.FactLanguage]; v != "" {
		name := v
		for _, l := range i18n.Languages {
			if strings.EqualFold(l.Code, v) {
				name = l.Name
			}
		}
		r.Facts = append(r.Facts, tr.Get("tasks.fact.language", "Language", name))
	}
	if v := task.Facts[tasks.FactTicket]; v != "" {
		r.Facts = append(r.Facts, tr.Get("tasks.fact.ticket", "Number", v))
	}
	return r
}

// when writes a moment as its day in the language's style and the time.
func when(l i18n.Language, t time.Time) string { return l.FormatDate(t) + " " + t.Format("15:04") }

// taskFilter reads the list filters from the address; an unknown value is
// the same as none, so an old bookmark still opens.
func taskFilter(c *fiber.Ctx) tasks.Filter {
	f := tasks.Filter{Kind: tasks.Kind(c.Query("kind")), Status: tasks.Status(c.Query("status")), Due: tasks.Due(c.Query("due"))}
	if !f.Kind.Valid() {
		f.Kind = ""
	}
	if g := (tasks.Filter{Status: f.Status}); !g.Valid() {
		f.Status = ""
	}
	if !f.Due.Valid() {
		f.Due = ""
	}
	return f
}

func filterQuery(f tasks.Filter) string {
	v := url.Values{}
	if f.Kind != "" {
		v.Set("kind", string(f.Kind))
	}
	if f.Status != "" {
		v.Set("status", string(f.Status))
	}
	if f.Due != "" {
		v.Set("due", string(f.Due))
	}
	return v.Encode()
}

// tasksPage is "my tasks" and a service point's pool.
type tasksPage struct {
	Page
	Pool      bool
	Point     string // the pool's service point, by slug
	PointName string
	Points    []pointLink // where the reader works: pools, and load views where they lead
	Kinds     []option
	Statuses  []option
	Dues      []option
	Rows      []taskRow
	More      bool
	Query     string // the filters, for the redraws and the forms' way back
	Back      string // this page's address with its filters
	Message   string
	IsError   bool
}

// showMyTasks lists the staff member's own tasks.
func (s *Server) showMyTasks(c *fiber.Ctx) error {
	f := taskFilter(c)
	list, err := s.tasks.Mine(c.UserContext(), principal(c), f)
	if err != nil {
		return err
	}
	p := s.page(c, "")
	p.Title = p.T.Get("tasks.mine")
	return s.renderTaskList(c, tasksPage{Page: p}, f, list)
}

// showTaskPool lists a service point's unassigned tasks.
func (s *Server) showTaskPool(c *fiber.Ctx) error {
	slug, err := slugParam(c)
	if err != nil {
		return err
	}
	f := taskFilter(c)
	list, err := s.tasks.Pool(c.UserContext(), principal(c), slug, f)
	if err != nil {
		return err
	}
	p := s.page(c, "")
	tp := tasksPage{Page: p, Pool: true, Point: slug}
	return s.renderTaskList(c, tp, f, list)
}

func (s *Server) renderTaskList(c *fiber.Ctx, tp tasksPage, f tasks.Filter, list tasks.List) error {
	tr := tp.T
	actor := principal(c)
	points, err := s.org.WorkPlaces(c.UserContext(), actor)
	if err != nil {
		return err
	}
	for _, sp := range points {
		tp.Points = append(tp.Points, pointLink{Slug: sp.Slug, Name: sp.Names.In(tr.Lang.Code), CanWork: true, CanSetUp: actor.CanManage(sp.ID)})
		if sp.Slug == tp.Point {
			tp.PointName = sp.Names.In(tr.Lang.Code)
		}
	}
	if tp.Pool {
		tp.Title = tr.Get("tasks.pool_of", "Place", tp.PointName)
	}
	tp.Kinds = []option{{Value: "", Label: tr.Get("tasks.filter.any_kind")}}
	for _, k := range tasks.Kinds {
		tp.Kinds = append(tp.Kinds, option{Value: string(k), Label: tr.Get("tasks.kind." + string(k)), Selected: f.Kind == k})
	}
	for _, st := range []tasks.Status{"", tasks.Open, tasks.InProgress, tasks.Done, tasks.Cancelled} {
		label := tr.Get("tasks.filter.unfinished")
		if st != "" {
			label = tr.Get("tasks.status." + string(st))
		}
		tp.Statuses = append(tp.Statuses, option{Value: string(st), Label: label, Selected: f.Status == st})
	}
	for _, d := range []tasks.Due{tasks.DueAny, tasks.DueOverdue, tasks.DueSoon, tasks.DueNone} {
		label := tr.Get("tasks.filter.any_due")
		if d != "" {
			label = tr.Get("tasks.due." + string(d))
		}
		tp.Dues = append(tp.Dues, option{Value: string(d), Label: label, Selected: f.Due == d})
	}
	for _, t := range list.Tasks {
		tp.Rows = append(tp.Rows, taskView(tr, t, actor.StaffID, list.Now))
	}
	tp.More = list.More
	tp.Query = filterQuery(f)
	tp.Back = c.Path()
	if tp.Query != "" {
		tp.Back += "?" + tp.Query
	}
	if m := c.Query("msg"); taskMessages[m] {
		tp.Message, tp.IsError = tr.Get(m), c.Query("err") == "1"
	}
	c.Set("X-Live-Seq", strconv.FormatInt(list.Seq, 10))
	if isRedraw(c) {
		return s.renderFragment(c, "tasks", "live", tp)
	}
	return s.render(c, "tasks", tp)
}

// taskMessages are the notices a redirect may ask a task screen to show.
var taskMessages = map[string]bool{
	"tasks.msg.claimed": true, "tasks.msg.assigned": true, "tasks.msg.commented": true, "tasks.msg.done": true,
	"tasks.msg.cancelled": true, "tasks.msg.created": true, "tasks.taken": true, "tasks.closed": true,
}

// loadPage is a lead's view of everyone's load at a service point.
type loadPage struct {
	Page
	Point     string
	PointName string
	Pool      tasks.Workload
	People    []tasks.Workload
}

// showTaskLoad shows a service point's unfinished tasks by who has them.
func (s *Server) showTaskLoad(c *fiber.Ctx) error {
	slug, err := slugParam(c)
	if err != nil {
		return err
	}
	ld, err := s.tasks.Load(c.UserContext(), principal(c), slug)
	if err != nil {
		return err
	}
	p := s.page(c, "")
	lp := loadPage{Page: p, Point: slug, Pool: ld.Pool, People: ld.Staff}
	points, err := s.org.WorkPlaces(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	for _, sp := range points {
		if sp.ID == ld.ServicePointID {
			lp.PointName = sp.Names.In(p.T.Lang.Code)
		}
	}
	lp.Title = p.T.Get("tasks.load_of", "Place", lp.PointName)
	c.Set("X-Live-Seq", strconv.FormatInt(ld.Seq, 10))
	if isRedraw(c) {
		return s.renderFragment(c, "task_load", "live", lp)
	}
	return s.render(c, "task_load", lp)
}

// apiTaskBadge is the navigation's count of the staff member's tasks, and
// the seqs of the channels the page follows, for the live navigation.
func (s *Server) apiTaskBadge(c *fiber.Ctx) error {
	point := c.Query("point")
	if point != "" && !slugInPath.MatchString(point) {
		return errNotFound
	}
	b, err := s.tasks.Badge(c.UserContext(), principal(c), point)
	if err != nil {
		return err
	}
	tr := s.translator(c)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"count": b.Count, "label": tr.Plural("tasks.nav_count", b.Count), "seqs": b.Seqs})
}

package portal

import (
	"math"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/tasks"
)

// taskFormPage is the form for a task written by hand.
type taskFormPage struct {
	Page
	Form       formView
	Points     []option
	Priorities []option
	DateHint   string
}

// taskInput is the form decoded.
type taskInput struct {
	Point    string
	Title    string
	Details  string
	Due      time.Time
	Priority tasks.Priority
	ToMe     bool
	ClientID int64
}

// decodeTaskForm reads the form; the due day is read in the page's
// language and the service point's zone (loc).
func decodeTaskForm(v url.Values, p Page, loc func(slug string) *time.Location) (taskInput, forms.Errors) {
	f := forms.New(v)
	in := taskInput{Point: f.Slug("sp", true), Title: f.Text("title", true, tasks.MaxTitle)}
	in.Details = f.Lines("details", false, tasks.MaxDetails)
	in.Priority = tasks.Priority(f.Choice("priority", false, string(tasks.Low), string(tasks.Normal), string(tasks.High)))
	in.ToMe = f.Choice("assign", false, "me", "pool") != "pool"
	in.ClientID, _ = f.Int("client", false, 1, math.MaxInt64)
	day := decodeDate(f, "due_date", p.T.Lang, loc(in.Point))
	clock := f.Clock("due_time", false)
	switch {
	case !day.IsZero() && clock != "":
		h, _ := strconv.Atoi(clock[:2])
		m, _ := strconv.Atoi(clock[3:])
		in.Due = day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	case !day.IsZero():
		in.Due = day.Add(16 * time.Hour) // the end of an office day
	case clock != "":
		f.Fail("due_date", "form.required")
	}
	return in, f.Errors
}

// showTaskForm opens the form for a task written by hand.
func (s *Server) showTaskForm(c *fiber.Ctx) error {
	v := url.Values{"sp": {c.Query("sp")}, "priority": {string(tasks.Normal)}, "assign": {"me"}}
	if cl := c.Query("client"); cl != "" {
		v.Set("client", cl)
	}
	return s.renderTaskForm(c, fiber.StatusOK, v, forms.Errors{})
}

// submitTask records a task written by hand and opens it.
func (s *Server) submitTask(c *fiber.Ctx) error {
	actor := principal(c)
	points, err := s.org.WorkPlaces(c.UserContext(), actor)
	if err != nil {
		return err
	}
	v := formValues(c)
	in, errs := decodeTaskForm(v, s.page(c, ""), func(slug string) *time.Location { return pointBySlug(points, slug).Location() })
	sp := pointBySlug(points, in.Point)
	if len(errs) == 0 && sp.ID == 0 {
		errs["sp"] = "form.invalid_choice"
	}
	if len(errs) > 0 {
		return s.renderTaskForm(c, fiber.StatusUnprocessableEntity, v, errs)
	}
	n := tasks.New{ServicePointID: sp.ID, Title: in.Title, Details: in.Details, DueAt: in.Due, Priority: in.Priority,
		ClientID: in.ClientID}
	if in.ToMe {
		n.AssigneeID = actor.StaffID
	}
	t, err := s.tasks.CreateByHand(c.UserContext(), actor, n)
	if err != nil {
		if key, ok := taskRefusals[err]; ok {
			errs["title"] = key
			return s.renderTaskForm(c, fiber.StatusUnprocessableEntity, v, errs)
		}
		if err == tasks.ErrInvalid {
			errs["client"] = "form.invalid_choice"
			return s.renderTaskForm(c, fiber.StatusUnprocessableEntity, v, errs)
		}
		return err
	}
	return c.Redirect(withMessage("/staff/tasks/"+strconv.FormatInt(t.ID, 10), "tasks.msg.created", false), fiber.StatusSeeOther)
}

func pointBySlug(points []org.ServicePoint, slug string) org.ServicePoint {
	for _, sp := range points {
		if sp.Slug == slug {
			return sp
		}
	}
	return org.ServicePoint{}
}

func (s *Server) renderTaskForm(c *fiber.Ctx, status int, v url.Values, errs forms.Errors) error {
	points, err := s.org.WorkPlaces(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	p := s.page(c, "")
	p.Title = p.T.Get("tasks.new")
	fp := taskFormPage{Page: p, Form: newFormView(p.T, "", v, errs)}
	if v.Get("sp") == "" && len(points) > 0 {
		v.Set("sp", points[0].Slug)
	}
	for _, sp := range points {
		fp.Points = append(fp.Points, option{Value: sp.Slug, Label: sp.Names.In(p.T.Lang.Code), Selected: v.Get("sp") == sp.Slug})
	}
	for _, pr := range []tasks.Priority{tasks.Low, tasks.Normal, tasks.High} {
		fp.Priorities = append(fp.Priorities, option{Value: string(pr), Label: p.T.Get("tasks.priority." + string(pr)), Selected: v.Get("priority") == string(pr)})
	}
	fp.DateHint = p.T.Get("tasks.form.date_hint", "Example", p.T.Lang.FormatDate(time.Now()))
	return s.renderStatus(c, status, "task_form", fp)
}

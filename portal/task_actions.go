package portal

import (
	"errors"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/tasks"
)

// taskPage is one task: what it is, its history, and what may be done.
type taskPage struct {
	Page
	Task    taskRow
	History []taskEvent
	People  []option // who it may be given to
	Back    string
	Message string
	IsError bool
}

// taskEvent is one history line, written out.
type taskEvent struct {
	When    string
	ISO     string
	Text    string
	Comment string
}

// showTask shows one task with its history and its actions.
func (s *Server) showTask(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	actor := principal(c)
	d, err := s.tasks.Get(c.UserContext(), actor, id)
	if err != nil {
		return err
	}
	p := s.page(c, "")
	tr := p.T
	tp := taskPage{Page: p, Task: taskView(tr, d.Task, actor.StaffID, d.Now), Back: c.Path()}
	tp.Title = tp.Task.Title
	loc := org.Zone(d.TimeZone)
	for _, e := range d.History {
		who := e.Staff
		if e.StaffID == 0 {
			who = tr.Get("tasks.by_portal")
		}
		text := tr.Get("tasks.history."+e.Action, "Name", who, "To", e.ToStaff)
		tp.History = append(tp.History, taskEvent{When: when(tr.Lang, e.At.In(loc)), ISO: e.At.UTC().Format(time.RFC3339),
			Text: text, Comment: e.Comment})
	}
	tp.People = []option{{Value: "", Label: tr.Get("tasks.to_pool"), Selected: d.AssigneeID == 0}}
	for _, w := range d.Staff {
		tp.People = append(tp.People, option{Value: strconv.FormatInt(w.StaffID, 10), Label: w.Name, Selected: w.StaffID == d.AssigneeID})
	}
	if m := c.Query("msg"); taskMessages[m] {
		tp.Message, tp.IsError = tr.Get(m), c.Query("err") == "1"
	}
	c.Set("X-Live-Seq", strconv.FormatInt(d.Seq, 10))
	if isRedraw(c) {
		return s.renderFragment(c, "task", "live", tp)
	}
	return s.render(c, "task", tp)
}

// submitTaskClaim takes a task and starts it; the loser of a race is told
// who has it.
func (s *Server) submitTaskClaim(c *fiber.Ctx) error {
	return s.taskAction(c, "tasks.msg.claimed", func(id int64, _ url.Values) error {
		_, err := s.tasks.Claim(c.UserContext(), principal(c), id)
		return err
	})
}

// submitTaskAssign gives a task to a colleague, or back to the pool.
func (s *Server) submitTaskAssign(c *fiber.Ctx) error {
	return s.taskAction(c, "tasks.msg.assigned", func(id int64, v url.Values) error {
		f := forms.New(v)
		to, _ := f.Int("to", false, 1, math.MaxInt64)
		if !f.OK() {
			return tasks.ErrBadAssignee
		}
		_, err := s.tasks.Assign(c.UserContext(), principal(c), id, to)
		return err
	})
}

// submitTaskComment adds a comment to a task's history.
func (s *Server) submitTaskComment(c *fiber.Ctx) error {
	return s.taskAction(c, "tasks.msg.commented", func(id int64, v url.Values) error {
		text, err := commentOf(v)
		if err != nil {
			return err
		}
		_, err = s.tasks.Comment(c.UserContext(), principal(c), id, text)
		return err
	})
}

// submitTaskComplete marks a task done.
func (s *Server) submitTaskComplete(c *fiber.Ctx) error {
	return s.taskAction(c, "tasks.msg.done", func(id int64, v url.Values) error {
		text, err := commentOf(v)
		if err != nil {
			return err
		}
		_, err = s.tasks.Complete(c.UserContext(), principal(c), id, text)
		return err
	})
}

// submitTaskCancel closes a task that needs no doing.
func (s *Server) submitTaskCancel(c *fiber.Ctx) error {
	return s.taskAction(c, "tasks.msg.cancelled", func(id int64, v url.Values) error {
		text, err := commentOf(v)
		if err != nil {
			return err
		}
		_, err = s.tasks.Cancel(c.UserContext(), principal(c), id, text)
		return err
	})
}

// errBadText is a comment with characters that cannot be kept (control
// characters, direction overrides).
var errBadText = errors.New("portal: a comment with characters that cannot be used")

// commentOf reads a task form's comment.
func commentOf(v url.Values) (string, error) {
	f := forms.New(v)
	text := f.Lines("comment", false, tasks.MaxComment)
	switch f.Errors["comment"] {
	case "":
		return text, nil
	case "form.too_long":
		return "", tasks.ErrTooLong
	}
	return "", errBadText
}

// taskRefusals are the refusals a task action explains on the task's own
// page (who has it now, that it is closed, what was wrong with the text);
// anything else is an error page.
var taskRefusals = map[error]string{
	tasks.ErrTaken:       "tasks.taken",
	tasks.ErrClosed:      "tasks.closed",
	tasks.ErrNoComment:   "tasks.error.no_comment",
	tasks.ErrTooLong:     "form.too_long",
	tasks.ErrBadAssignee: "tasks.error.assignee",
	errBadText:           "form.invalid_text",
}

// taskAction runs one action on the task :id and goes back where the form
// came from (a list, or the task) with a notice; a refusal goes to the
// task's page, which says why.
func (s *Server) taskAction(c *fiber.Ctx, done string, act func(id int64, v url.Values) error) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	v := formValues(c)
	back := taskBack(v.Get("back"), id)
	if err := act(id, v); err != nil {
		for e, key := range taskRefusals {
			if errors.Is(err, e) {
				return c.Redirect(withMessage("/staff/tasks/"+strconv.FormatInt(id, 10), key, true), fiber.StatusSeeOther)
			}
		}
		return err
	}
	return c.Redirect(withMessage(back, done, false), fiber.StatusSeeOther)
}

// taskBackPath is where a task form may send the browser back to: a list
// of tasks, a pool, or a task.
var taskBackPath = regexp.MustCompile(`^/staff/tasks(/pool/[a-z0-9][a-z0-9-]{0,62}|/[0-9]{1,19})?$`)

// taskBack keeps only a task screen's address and its filters from what
// a form says, so a redirect cannot be steered elsewhere; otherwise the
// task itself.
func taskBack(raw string, id int64) string {
	u, err := url.Parse(raw)
	if err != nil || len(raw) > 500 || u.Scheme != "" || u.Host != "" || !taskBackPath.MatchString(u.Path) {
		return "/staff/tasks/" + strconv.FormatInt(id, 10)
	}
	q := u.Query()
	out := url.Values{}
	f := tasks.Filter{Kind: tasks.Kind(q.Get("kind")), Status: tasks.Status(q.Get("status")), Due: tasks.Due(q.Get("due"))}
	if f.Valid() {
		if enc := filterQuery(f); enc != "" {
			out, _ = url.ParseQuery(enc)
		}
	}
	if len(out) == 0 {
		return u.Path
	}
	return u.Path + "?" + out.Encode()
}

// withMessage adds a notice to a screen's address.
func withMessage(path, msg string, isErr bool) string {
	u, _ := url.Parse(path)
	q := u.Query()
	q.Set("msg", msg)
	if isErr {
		q.Set("err", "1")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

package portal

import (
	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/appointments"
	"github.com/koto-portal/portal/internal/clients"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/outreach"
	"github.com/koto-portal/portal/internal/summary"
	"github.com/koto-portal/portal/internal/tasks"
)

// summaryPage is the one-page summary of a client's situation.
type summaryPage struct {
	Page
	Client   summary.Client
	Name     string
	Born     string
	Language string
	Interp   string
	Sections []summarySection
	Printed  string // when the summary was read, for the printed page
}

// summarySection is one section as the page shows it: Name picks the
// template block ("summary-" + Name); each section fills its own field.
type summarySection struct {
	Name         string
	Clientship   []clientshipRow
	Appointments []summaryAppointment
	Tasks        []taskRow
	Contacts     []summaryContact
	Phones       []summaryPhone
	Answers      []summaryAnswer
	Deliveries   []summaryDelivery
	Messages     []summaryMessage
}

// summaryMessage is one message to the client: when it went (or goes),
// its text, and how far it got.
type summaryMessage struct {
	When, Status, Text, Delivered string
}

type summaryPhone struct {
	Since, State string
}

type summaryAnswer struct {
	When, Kind, Reason string
}

// summaryDelivery is one reminder to a phone: when it last moved, which
// reminder, and how far it got.
type summaryDelivery struct {
	When, Kind, Status string
}

type summaryAppointment struct {
	ID                        int64
	When, Channel, Status     string
	Expert, Place, Interprets string
}

type summaryContact struct {
	When, Channel, Summary, By string
	Interpreter                bool
}

type clientshipRow struct {
	Kind, On, Reason string
}

// showClientSummary shows the summary of a client's situation, in the
// staff member's language and printable; the read is access-logged.
func (s *Server) showClientSummary(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	actor := principal(c)
	sum, err := s.summary.Of(c.UserContext(), actor, id)
	if err != nil {
		return err
	}
	p := s.page(c, "")
	tr := p.T
	cl := sum.Client
	sp := summaryPage{Page: p, Client: cl, Name: cl.FirstNames + " " + cl.LastName,
		Language: s.languageName(cl.Language), Printed: when(tr.Lang, sum.Now.In(org.Zone(cl.TimeZone)))}
	sp.Title = tr.Get("summary.title", "Name", sp.Name)
	if cl.BirthDate != nil {
		sp.Born = tr.Lang.FormatDate(*cl.BirthDate)
	}
	if cl.InterpreterLanguage != "" {
		sp.Interp = s.languageName(cl.InterpreterLanguage)
	}
	for _, sec := range sum.Sections {
		view := summarySection{Name: sec.Name}
		switch data := sec.Data.(type) {
		case []summary.ClientshipEvent:
			for _, e := range data {
				view.Clientship = append(view.Clientship, clientshipRow{Kind: tr.Get("summary.clientship." + e.Kind),
					On: tr.Lang.FormatDate(e.OnDate), Reason: e.Reason})
			}
		case []appointments.Appointment:
			for _, a := range data {
				row := summaryAppointment{ID: a.ID, When: when(tr.Lang, a.StartsAt.In(org.Zone(a.TimeZone))),
					Channel: tr.Get("appt.channel." + string(a.Channel)), Status: tr.Get("appt.status." + string(a.Status)),
					Expert: a.StaffName, Place: a.PointNames.In(tr.Lang.Code)}
				if a.InterpreterLanguage != "" {
					row.Interprets = s.languageName(a.InterpreterLanguage)
				}
				view.Appointments = append(view.Appointments, row)
			}
		case []clients.Contact:
			for _, k := range data {
				view.Contacts = append(view.Contacts, summaryContact{When: when(tr.Lang, k.OccurredAt.In(org.Zone(cl.TimeZone))),
					Channel: tr.Get("summary.contact." + k.Channel), Summary: k.Summary, By: k.StaffName, Interpreter: k.InterpreterUsed})
			}
		case outreach.Exported:
			loc := org.Zone(cl.TimeZone)
			for _, d := range data.Phones {
				state := "summary.phone_push"
				switch {
				case d.RevokedAt != nil:
					state = "summary.phone_removed"
				case d.NotificationsOff:
					state = "summary.phone_off"
				case !d.Push:
					state = "summary.phone_no_push"
				}
				view.Phones = append(view.Phones, summaryPhone{Since: tr.Lang.FormatDate(d.CreatedAt.In(loc)), State: tr.Get(state)})
			}
			for _, a := range data.Answers {
				view.Answers = append(view.Answers, summaryAnswer{When: when(tr.Lang, a.At.In(loc)),
					Kind: tr.Get("summary.answer." + string(a.Kind)), Reason: a.Reason})
			}
			for _, d := range data.Deliveries {
				view.Deliveries = append(view.Deliveries, summaryDelivery{When: when(tr.Lang, d.At.In(loc)),
					Kind: tr.Get("summary.reminder." + d.Kind), Status: tr.Get("summary.delivery." + d.Status)})
			}
			for _, m := range data.Messages {
				row := summaryMessage{When: when(tr.Lang, m.SendAt.In(loc)), Status: tr.Get("messages.status." + m.Status), Text: m.Body}
				if row.Text == "" {
					row.Text = m.Text
				}
				if row.Text == "" {
					row.Text = tr.Get("messages.from_template", "Name", m.TemplateName, "Version", m.TemplateVersion)
				}
				if m.Phones > 0 {
					row.Delivered = tr.Get("messages.phones_reached", "Count", m.Phones, "Status", tr.Get("summary.delivery."+m.Reached))
				}
				view.Messages = append(view.Messages, row)
			}
		case []tasks.Task:
			for _, t := range data {
				view.Tasks = append(view.Tasks, taskView(tr, t, actor.StaffID, sum.Now))
			}
		}
		sp.Sections = append(sp.Sections, view)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return s.render(c, "client_summary", sp)
}

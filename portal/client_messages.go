package portal

import (
	"errors"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/outreach"
)

type clientMessagesPage struct {
	Page
	ClientID  int64
	Data      outreach.MessagesPage
	Rows      []messageRow
	Form      formView
	Saved     bool
	Cancelled bool
}

type messageRow struct {
	ID                           int64
	When, Status, Source, Text   string
	TextLang, TextDir, Delivered string
	Cancellable                  bool
}

// decodeMessageForm reads the message form: a written text or a
// template, and an optional day and time on the municipality's clock
// (none: now). The domain checks the text and the time.
func decodeMessageForm(v url.Values, lang i18n.Language) (outreach.NewMessage, forms.Errors) {
	f := forms.New(v)
	m := outreach.NewMessage{Text: f.Lines("text", false, outreach.MaxMessage)}
	if id, ok := f.Int("template", false, 1, 1<<62); ok {
		m.TemplateID = id
	}
	day, clock := f.Text("date", false, 30), f.Clock("time", false)
	switch {
	case day == "" && clock == "":
	case day == "":
		f.Fail("date", "form.required")
	case clock == "":
		f.Fail("time", "form.required")
	default:
		d, ok := parseDay(lang, day, helsinki)
		if !ok {
			f.Fail("date", "form.invalid_date")
			break
		}
		h, _ := strconv.Atoi(clock[:2])
		mm, _ := strconv.Atoi(clock[3:])
		m.At = time.Date(d.Year(), d.Month(), d.Day(), h, mm, 0, 0, helsinki)
	}
	return m, f.Errors
}

// showClientMessages is the page of a client's messages: the form for a
// new one, and those sent or scheduled with how far each got.
func (s *Server) showClientMessages(c *fiber.Ctx) error {
	return s.renderClientMessages(c, fiber.StatusOK, nil, nil)
}

// submitClientMessage sends a message to the client's phones, now or at
// the chosen time.
func (s *Server) submitClientMessage(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	v := formValues(c)
	m, errs := decodeMessageForm(v, s.translator(c).Lang)
	if len(errs) == 0 {
		_, err = s.outreach.SendMessage(c.UserContext(), principal(c), id, m)
		var bad outreach.Invalid
		switch {
		case err == nil:
			return c.Redirect("/staff/clients/"+strconv.FormatInt(id, 10)+"/messages?saved=1", fiber.StatusSeeOther)
		case errors.As(err, &bad):
			for field, key := range bad {
				if field == "at" {
					field = "date"
				}
				errs[field] = key
			}
		default:
			return err
		}
	}
	return s.renderClientMessages(c, fiber.StatusUnprocessableEntity, v, errs)
}

// submitClientMessageCancel cancels a scheduled message before it goes.
func (s *Server) submitClientMessageCancel(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	msg, err := idParam(c, "msg")
	if err != nil {
		return err
	}
	if err := s.outreach.CancelMessage(c.UserContext(), principal(c), id, msg); err != nil {
		return err
	}
	return c.Redirect("/staff/clients/"+strconv.FormatInt(id, 10)+"/messages?cancelled=1", fiber.StatusSeeOther)
}

func (s *Server) renderClientMessages(c *fiber.Ctx, status int, typed url.Values, errs forms.Errors) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	data, err := s.outreach.MessagesOf(c.UserContext(), principal(c), id)
	if err != nil {
		return err
	}
	page := clientMessagesPage{Page: s.page(c, ""), ClientID: id, Data: data,
		Saved: c.Query("saved") != "" && typed == nil, Cancelled: c.Query("cancelled") != "" && typed == nil}
	page.Body = "staff clients"
	t := page.T
	page.Title = t.Get("messages.title", "Name", data.ClientName)
	page.Form = newFormView(t, "message-", typed, errs)
	for _, m := range data.Messages {
		row := messageRow{ID: m.ID, When: when(t.Lang, m.SendAt.In(helsinki)), Status: t.Get("messages.status." + m.Status),
			Text: m.Body, TextDir: "auto", Cancellable: m.Status == outreach.MessageScheduled}
		if row.Text == "" {
			row.Text = m.Text
		}
		if m.Lang != "" {
			if l, ok := s.catalog.Lookup(m.Lang); ok {
				row.TextLang, row.TextDir = l.Code, l.Dir()
			}
		}
		row.Source = t.Get("messages.written")
		if m.TemplateName != "" {
			row.Source = t.Get("messages.from_template", "Name", m.TemplateName, "Version", m.TemplateVersion)
		}
		if m.Phones > 0 {
			row.Delivered = t.Get("messages.phones_reached", "Count", m.Phones, "Status", t.Get("summary.delivery."+m.Reached))
		}
		page.Rows = append(page.Rows, row)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return s.renderStatus(c, status, "client_messages", page)
}

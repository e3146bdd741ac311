package portal

import (
	"errors"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/stats"
)

// visitInput is the visit form decoded: what the expert chose, checked for
// shape only. Whether the topics, referral and ticket belong to the service
// point is for the stats service to say.
type visitInput struct {
	ServicePoint string // slug
	TicketID     int64
	Channel      string
	TopicIDs     []int64
	Language     string
	Interpreter  string
	Outcomes     []string
	ReferralID   int64
	AgeGroup     string
	Gender       string
	// A follow-up task: asked for, what to do, and for whom (the expert
	// or, otherwise, the service point's pool).
	FollowUp   bool
	FollowNote string
	FollowToMe bool
}

// maxFollowNote bounds the follow-up's note.
const maxFollowNote = 1000

// maxVisitTopics bounds the topic checkboxes a submission may carry.
const maxVisitTopics = 50

// decodeVisitForm reads the visit form. It is pure (values in, input and
// error keys out) so it can be fuzzed: whatever arrives, it must not panic
// and must not let a bad value through without an error.
func decodeVisitForm(v url.Values) (visitInput, forms.Errors) {
	f := forms.New(v)
	var in visitInput
	in.ServicePoint = f.Slug("sp", true)
	in.TicketID, _ = f.Int("ticket", false, 1, math.MaxInt64)
	if strings.TrimSpace(v.Get("ticket")) != "" {
		// A walk-in's channel is fixed by its ticket.
		in.Channel = f.Choice("channel", false, stats.ChannelWalkIn)
		if in.Channel == "" {
			in.Channel = stats.ChannelWalkIn
		}
	} else {
		in.Channel = f.Choice("channel", true, stats.ChannelsWithoutTicket...)
	}
	in.TopicIDs = f.IDs("topics")
	if len(in.TopicIDs) > maxVisitTopics {
		f.Fail("topics", "form.invalid_choice")
		in.TopicIDs = nil
	}
	if _, bad := f.Errors["topics"]; !bad && len(in.TopicIDs) == 0 {
		f.Fail("topics", "visit.error.topics_required")
	}
	in.Language = f.Choice("language", true, stats.Languages()...)
	in.Interpreter = f.Choice("interpreter", false, stats.Interpreters...)
	if in.Interpreter == "" {
		in.Interpreter = stats.InterpreterNone
	}
	in.Outcomes = f.Choices("outcomes", stats.Outcomes...)
	in.ReferralID, _ = f.Int("referral", false, 1, math.MaxInt64)
	if _, bad := f.Errors["referral"]; !bad {
		_, badOutcome := f.Errors["outcomes"]
		referred := slices.Contains(in.Outcomes, stats.OutcomeReferred)
		switch {
		case referred && in.ReferralID == 0:
			f.Fail("referral", "visit.error.referral_required")
		case !referred && !badOutcome && in.ReferralID != 0:
			f.Fail("referral", "visit.error.referral_not_referred")
		}
	}
	in.AgeGroup = f.Choice("age_group", false, stats.AgeGroups...)
	if in.AgeGroup == "" {
		in.AgeGroup = stats.NotAsked
	}
	in.Gender = f.Choice("gender", false, stats.Genders...)
	if in.Gender == "" {
		in.Gender = stats.NotAsked
	}
	in.FollowUp = f.Bool("follow_up")
	in.FollowNote = f.Lines("follow_note", in.FollowUp, maxFollowNote)
	in.FollowToMe = f.Choice("follow_to", false, "me", "pool") == "me"
	return in, f.Errors
}

// visitFields maps stats' field names to the form's.
var visitFields = map[string]string{
	stats.FieldServicePoint: "sp",
	stats.FieldTicket:       "ticket",
	stats.FieldChannel:      "channel",
	stats.FieldTopics:       "topics",
	stats.FieldLanguage:     "language",
	stats.FieldInterpreter:  "interpreter",
	stats.FieldOutcomes:     "outcomes",
	stats.FieldReferral:     "referral",
	stats.FieldAgeGroup:     "age_group",
	stats.FieldGender:       "gender",
}

// visitErrorKey names the message for a field error of recording a visit.
func visitErrorKey(err error) string {
	switch {
	case errors.Is(err, stats.ErrUnknownServicePoint):
		return "visit.error.unknown_point"
	case errors.Is(err, stats.ErrNoTopic):
		return "visit.error.topics_required"
	case errors.Is(err, stats.ErrUnknownTopic):
		return "visit.error.unknown_topic"
	case errors.Is(err, stats.ErrReferralRequired):
		return "visit.error.referral_required"
	case errors.Is(err, stats.ErrReferralNotReferred):
		return "visit.error.referral_not_referred"
	case errors.Is(err, stats.ErrUnknownReferral):
		return "visit.error.unknown_referral"
	case errors.Is(err, stats.ErrUnknownTicket):
		return "visit.error.unknown_ticket"
	case errors.Is(err, stats.ErrTicketNotDone):
		return "visit.error.ticket_not_done"
	case errors.Is(err, stats.ErrTicketAlreadyCounted):
		return "visit.error.already_recorded"
	}
	return "form.invalid_choice"
}

// visitOption is one checkbox, radio or select option of the form.
type visitOption struct {
	Value, Label string
	Lang, Dir    string // for a language's own name
	Checked      bool
}

// visitProblem is one line of the error summary above the form.
type visitProblem struct {
	Anchor  string // the id of the field to jump to; empty for the ticket
	Message string
}

type visitFormPage struct {
	Page
	// Choosing is the first step when the expert works at several
	// service points and came without one: pick it, then the form.
	Choosing  bool
	Points    []visitOption
	PointSlug string
	PointName string
	// Back is the queue screen's own query (the expert's desk and topics),
	// kept so saving returns to the queue as the expert left it.
	Back             string
	CanChange        bool // other service points to choose from
	TicketID         int64
	TicketText       string // "A 23"
	AskedInterpreter bool
	// Blocked says the ticket cannot be recorded (already recorded, not
	// finished): the page explains and offers the way back, no form.
	Blocked         string
	Channels        []visitOption
	Topics          []visitOption
	LanguageChoices []visitOption
	Interpreters    []visitOption
	Outcomes        []visitOption
	Referrals       []visitOption
	AgeGroups       []visitOption
	Genders         []visitOption
	Errors          forms.Errors
	Problems        []visitProblem
	// The follow-up, as typed.
	FollowUp   bool
	FollowNote string
	FollowToMe bool
}

// Err is the translated error of a field, or "".
func (p visitFormPage) Err(field string) string {
	if key, ok := p.Errors[field]; ok {
		return p.T.Get(key)
	}
	return ""
}

// showVisitForm opens the anonymous visit form: for a finished ticket
// (?ticket=ID), or for a contact without one at a service point (?sp=slug).
func (s *Server) showVisitForm(c *fiber.Ctx) error {
	var req stats.FormRequest
	if q := c.Query("ticket"); q != "" {
		n, err := strconv.ParseInt(q, 10, 64)
		if err != nil || n <= 0 {
			return errNotFound
		}
		req.TicketID = n
	} else {
		req.Slug = c.Query("sp")
	}
	form, err := s.stats.VisitForm(c.UserContext(), principal(c), req)
	if err != nil {
		return visitFormError(err)
	}
	if form.Point == nil {
		return s.render(c, "visit_form", s.visitChooser(c, form.Points))
	}
	values := url.Values{}
	var page visitFormPage
	status := fiber.StatusOK
	if t := form.Ticket; t != nil {
		values.Set("ticket", strconv.FormatInt(t.ID, 10))
		values.Set("language", visitLanguageOf(t.Language))
		values.Set("topics", strconv.FormatInt(t.TopicID, 10))
		switch {
		case t.Recorded:
			page.Blocked, status = "visit.error.already_recorded", fiber.StatusConflict
		case t.State != "done":
			page.Blocked, status = "visit.error.ticket_not_done", fiber.StatusConflict
		}
	}
	page.Back = visitBackQuery(c.Query("back"))
	values.Set("interpreter", stats.InterpreterNone)
	values.Set("age_group", stats.NotAsked)
	values.Set("gender", stats.NotAsked)
	return s.renderStatus(c, status, "visit_form", s.visitForm(c, page, form, values, forms.Errors{}))
}

// visitFormError maps what the visit form's reads refuse to pages.
func visitFormError(err error) error {
	switch {
	case errors.Is(err, stats.ErrUnknownTicket), errors.Is(err, sqldb.ErrNotFound):
		return errNotFound
	case errors.Is(err, stats.ErrForbidden):
		return errForbidden
	}
	return err
}

// submitVisit records the visit and goes back to the queue; bad input
// comes back as the form, filled in as typed, with nothing saved.
func (s *Server) submitVisit(c *fiber.Ctx) error {
	actor := principal(c)
	values := formValues(c)
	in, errs := decodeVisitForm(values)
	if in.ServicePoint == "" {
		return errBadRequest // the hidden field, never typed: a forged form
	}
	var rejected *stats.ValidationError
	var err error
	if len(errs) == 0 {
		v := stats.Visit{
			TicketID: in.TicketID, Channel: in.Channel, TopicIDs: in.TopicIDs,
			Language: in.Language, Interpreter: in.Interpreter, Outcomes: in.Outcomes, ReferralID: in.ReferralID,
			AgeGroup: in.AgeGroup, Gender: in.Gender,
		}
		if in.FollowUp {
			v.FollowUp = &stats.FollowUp{Note: in.FollowNote, ToMe: in.FollowToMe}
		}
		_, err = s.stats.Record(c.UserContext(), actor, in.ServicePoint, v)
	}
	switch {
	case errors.As(err, &rejected):
		for field, ferr := range rejected.Fields {
			errs[visitFields[field]] = visitErrorKey(ferr)
		}
	case err != nil:
		return visitFormError(err)
	}
	back := visitBackQuery(values.Get("back"))
	if len(errs) == 0 {
		v, _ := url.ParseQuery(back)
		v.Set("saved", "visit")
		return c.Redirect("/staff/queue/"+url.PathEscape(in.ServicePoint)+"?"+v.Encode(), fiber.StatusSeeOther)
	}

	// The form again, as typed, with its problems.
	form, err := s.stats.VisitForm(c.UserContext(), actor, stats.FormRequest{Slug: in.ServicePoint, TicketID: in.TicketID})
	if err != nil {
		return visitFormError(err)
	}
	status := fiber.StatusUnprocessableEntity
	if errs["ticket"] == "visit.error.already_recorded" {
		status = fiber.StatusConflict
	}
	return s.renderStatus(c, status, "visit_form", s.visitForm(c, visitFormPage{Back: back}, form, values, errs))
}

// QueueURL is the queue screen the form returns to.
func (p visitFormPage) QueueURL() string {
	u := "/staff/queue/" + url.PathEscape(p.PointSlug)
	if p.Back != "" {
		u += "?" + p.Back
	}
	return u
}

// visitBackQuery keeps only what the queue screen's address may hold (a
// desk id, a comma-separated list of topic ids), so the redirect after
// saving cannot be steered anywhere else.
func visitBackQuery(raw string) string {
	in, err := url.ParseQuery(raw)
	if err != nil || len(raw) > 500 {
		return ""
	}
	out := url.Values{}
	digits := func(s, extra string) bool {
		for _, r := range s {
			if (r < '0' || r > '9') && !strings.ContainsRune(extra, r) {
				return false
			}
		}
		return s != ""
	}
	if d := in.Get("desk"); digits(d, "") && len(d) < 20 {
		out.Set("desk", d)
	}
	if t := in.Get("topics"); digits(t, ",") {
		out.Set("topics", t)
	}
	return out.Encode()
}

// visitLanguageOf picks the portal language a ticket's language tag is:
// exactly, else by its primary subtag (a kiosk may store "fa-IR").
func visitLanguageOf(tag string) string {
	for _, l := range i18n.Languages {
		if strings.EqualFold(l.Code, tag) {
			return l.Code
		}
	}
	primary, _, _ := strings.Cut(tag, "-")
	for _, l := range i18n.Languages {
		if p, _, _ := strings.Cut(l.Code, "-"); strings.EqualFold(p, primary) {
			return l.Code
		}
	}
	return ""
}

// visitChooser is the first step for an expert of several service points.
func (s *Server) visitChooser(c *fiber.Ctx, points []org.ServicePoint) visitFormPage {
	p := s.page(c, "")
	p.Title = p.T.Get("visit.title")
	page := visitFormPage{Page: p, Choosing: true, Errors: forms.Errors{}}
	for _, sp := range points {
		page.Points = append(page.Points, visitOption{Value: sp.Slug, Label: sp.Names.In(p.T.Lang.Code)})
	}
	return page
}

// visitForm fills the form's choices for its service point, marking what
// values holds as chosen (what was typed, or the defaults).
func (s *Server) visitForm(c *fiber.Ctx, page visitFormPage, form stats.Form, values url.Values, errs forms.Errors) visitFormPage {
	p := s.page(c, "")
	p.Title = p.T.Get("visit.title")
	lang := p.T.Lang.Code
	page.Page = p
	page.PointSlug = form.Point.Slug
	page.PointName = form.Point.Names.In(lang)
	page.CanChange = len(form.Points) > 1
	page.Errors = errs
	if id, err := strconv.ParseInt(values.Get("ticket"), 10, 64); err == nil && id > 0 {
		page.TicketID = id
		if t := form.Ticket; t != nil && t.ID == id {
			page.TicketText = t.Prefix + " " + strconv.Itoa(t.Number)
			page.AskedInterpreter = t.Interpreter
		}
	}
	picked := func(field, value string) bool { return slices.Contains(values[field], value) }
	page.FollowUp, page.FollowToMe = values.Get("follow_up") != "", values.Get("follow_to") == "me"
	page.FollowNote = strings.ToValidUTF8(values.Get("follow_note"), "\uFFFD")

	if page.TicketID == 0 {
		for _, ch := range stats.ChannelsWithoutTicket {
			page.Channels = append(page.Channels, visitOption{Value: ch, Label: p.T.Get("visit.channel." + ch), Checked: picked("channel", ch)})
		}
	}
	for _, t := range form.Topics {
		id := strconv.FormatInt(t.ID, 10)
		// A switched-off topic shows only when it was chosen (a ticket
		// taken before it was switched off).
		if t.Active || picked("topics", id) {
			page.Topics = append(page.Topics, visitOption{Value: id, Label: t.Labels.In(lang), Checked: picked("topics", id)})
		}
	}
	for _, l := range i18n.Languages {
		page.LanguageChoices = append(page.LanguageChoices, visitOption{Value: l.Code, Label: l.Name, Lang: l.Code, Dir: l.Dir(), Checked: picked("language", l.Code)})
	}
	for _, v := range stats.Interpreters {
		page.Interpreters = append(page.Interpreters, visitOption{Value: v, Label: p.T.Get("visit.interpreter." + v), Checked: picked("interpreter", v)})
	}
	for _, v := range stats.Outcomes {
		page.Outcomes = append(page.Outcomes, visitOption{Value: v, Label: p.T.Get("visit.outcome." + v), Checked: picked("outcomes", v)})
	}
	for _, r := range form.Referrals {
		id := strconv.FormatInt(r.ID, 10)
		page.Referrals = append(page.Referrals, visitOption{Value: id, Label: r.Names.In(lang), Checked: picked("referral", id)})
	}
	for _, v := range stats.AgeGroups {
		page.AgeGroups = append(page.AgeGroups, visitOption{Value: v, Label: p.T.Get("visit.age_group." + v), Checked: picked("age_group", v)})
	}
	for _, v := range stats.Genders {
		page.Genders = append(page.Genders, visitOption{Value: v, Label: p.T.Get("visit.gender." + v), Checked: picked("gender", v)})
	}
	// The summary lists problems in the order of the form.
	for _, field := range []string{"ticket", "sp", "channel", "topics", "language", "interpreter", "outcomes", "referral", "age_group", "gender", "follow_note"} {
		if key, ok := errs[field]; ok {
			anchor := "field-" + field
			if field == "ticket" || field == "sp" {
				anchor = ""
			}
			page.Problems = append(page.Problems, visitProblem{Anchor: anchor, Message: p.T.Get(key)})
		}
	}
	return page
}

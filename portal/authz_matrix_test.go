package portal_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/api"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/internal/store"
	"github.com/koto-portal/portal/portal/portaltest"
)

// The authorization matrix: every route under /staff, one concrete request
// each, and the exact answer for each of five people. A route added without
// an entry here fails the test, so nobody adds a staff page without saying
// who may use it.

// The actors, in the order their requests are sent.
const (
	azAnon   = "anonymous"
	azOther  = "other"  // admin of a second municipality
	azExpert = "expert" // expert@example.org, expert at service point demo
	azLead   = "lead"   // demo@example.org, lead at service point demo
	azAdmin  = "admin"  // admin@example.org, admin of the demo municipality
)

var azActors = []string{azAnon, azOther, azExpert, azLead, azAdmin}

// azOtherEmail is the second municipality's admin.
const azOtherEmail = "other-admin@example.org"

// azFixture is the ids the requests name, looked up or made before the
// portal starts.
type azFixture struct {
	demoSP, otherSP       int64
	desk, editDesk        int64 // desk "1" of demo (calls), and one the set-up forms rename
	topic, editTopic      int64
	editReferral          int64
	codeDevice, revokeDev int64
	person                int64                       // an expert at demo whose record leads and admins edit
	personPasskey         int64                       // the person's passkey, which nobody else may remove
	otherTopic            int64                       // the second municipality's
	called                map[string]int64            // a ticket called by each actor, to recall
	acts                  map[string]map[string]int64 // ticket action → actor → a ticket in the state it needs
	demoTicket            int64                       // any ticket of demo, for refused requests
	apiKey                int64                       // a key of demo's to revoke
	template              int64                       // a message template of demo's
	messages              map[string]int64            // actor → a scheduled message to client, to cancel
	campaigns             map[string]int64            // actor → a campaign of demo's still sending, to cancel
	hook, hookOn, hookOff int64                       // webhooks of demo's: to show and test, switched off, switched on
	hookDel               int64                       // one to delete
	staffIDs              map[string]int64
	client, eraseClient   int64                       // demo's clients: one everyone works on, one the admin erases
	appt                  int64                       // an appointment of that client, to read
	apptActs              map[string]map[string]int64 // status route → actor → a booked appointment
	contact               int64                       // a line of client's contact log
	activeClient          map[string]int64            // per actor, a client whose clientship ends
	endedClient           map[string]int64            // per actor, one whose clientship continues
	task                  int64                       // a pool task of demo, for reads and refused requests
	taskActs              map[string]map[string]int64 // task action → actor → a pool task of demo
	devices               map[string]int64            // actor → a browser of theirs that takes task pushes
}

// azEntry is one route's request and the answers expected.
type azEntry struct {
	params func(f *azFixture, actor string) map[string]string // :sp, :id
	form   func(f *azFixture, actor string) url.Values        // POST body, without _csrf
	want   map[string]int
}

// request is the entry's request as actor sends it through b: the path
// with its parameters filled in, and for a POST the form with b's CSRF
// token and the portal's own Origin.
func (e azEntry) request(t *testing.T, in *portaltest.Instance, f *azFixture, b *secBrowser, method, pattern, actor string) (
	path string, params map[string]string, form url.Values, hdr map[string]string) {
	t.Helper()
	if e.params != nil {
		params = e.params(f, actor)
	}
	hdr = map[string]string{}
	if method != http.MethodGet {
		form = url.Values{}
		if e.form != nil {
			form = e.form(f, actor)
		}
		form.Set("_csrf", b.csrf)
		hdr["Origin"] = in.URL
	}
	return azPath(t, pattern, params), params, form, hdr
}

// azPage and azPost give the answers of other, expert, lead and admin; an
// anonymous page request goes to the login page (303), an anonymous POST
// (with a valid double-submit token) gets 401.
func azPage(other, expert, lead, admin int) map[string]int {
	return map[string]int{azAnon: http.StatusSeeOther, azOther: other, azExpert: expert, azLead: lead, azAdmin: admin}
}

func azPost(other, expert, lead, admin int) map[string]int {
	return map[string]int{azAnon: http.StatusUnauthorized, azOther: other, azExpert: expert, azLead: lead, azAdmin: admin}
}

const (
	az200 = http.StatusOK
	az303 = http.StatusSeeOther
	az403 = http.StatusForbidden
	az404 = http.StatusNotFound
)

func azID(n int64) string { return strconv.FormatInt(n, 10) }

// azDemoSP names demo's service point whoever asks: the other
// municipality must not find it.
func azDemoSP(*azFixture, string) map[string]string {
	return map[string]string{"sp": demo.ServicePoint}
}

func azDemoSPAnd(key string, pick func(f *azFixture) int64) func(*azFixture, string) map[string]string {
	return func(f *azFixture, _ string) map[string]string {
		return map[string]string{"sp": demo.ServicePoint, key: azID(pick(f))}
	}
}

// tenantSP is the acting person's own municipality's service point, for
// routes whose objects come from the form.
func (f *azFixture) tenantSP(actor string) int64 {
	if actor == azOther {
		return f.otherSP
	}
	return f.demoSP
}

// azTicketAction is one action on a ticket: each actor acts on a ticket
// of their own, made in the state the action needs (see azActionStates), so
// an expert and up succeed and the other municipality finds nothing.
func azTicketAction(action string) azEntry {
	return azEntry{
		params: func(f *azFixture, actor string) map[string]string {
			t, ok := f.acts[action][actor]
			if !ok {
				t = f.demoTicket
			}
			return map[string]string{"sp": demo.ServicePoint, "id": azID(t)}
		},
		form: func(f *azFixture, _ string) url.Values {
			return url.Values{"desk": {azID(f.desk)}, "to_topic": {azID(f.topic)}}
		},
		want: azPost(az404, az303, az303, az303),
	}
}

// azActionStates is the state each ticket action needs: state, and
// recalls made (a no-show needs the service point's recalls first).
var azActionStates = map[string]struct {
	state   string
	recalls int
}{
	"call": {"waiting", 0}, "recall": {"called", 0}, "no-show": {"called", 9}, "start": {"called", 0},
	"finish": {"serving", 0}, "transfer": {"called", 0}, "return": {"called", 0},
}

var matrix = map[string]azEntry{
	"GET /staff/": {want: azPage(az200, az200, az200, az200)},

	// Walk-in work: experts and up at their service point.
	"GET /staff/queue/:sp": {params: azDemoSP, want: azPage(az404, az200, az200, az200)},
	"POST /staff/queue/:sp/call-next": {params: azDemoSP,
		form: func(f *azFixture, _ string) url.Values { return url.Values{"desk": {azID(f.desk)}} },
		want: azPost(az404, az303, az303, az303)},
	"POST /staff/queue/:sp/tickets/:id/call":     azTicketAction("call"),
	"POST /staff/queue/:sp/tickets/:id/recall":   azTicketAction("recall"),
	"POST /staff/queue/:sp/tickets/:id/no-show":  azTicketAction("no-show"),
	"POST /staff/queue/:sp/tickets/:id/start":    azTicketAction("start"),
	"POST /staff/queue/:sp/tickets/:id/finish":   azTicketAction("finish"),
	"POST /staff/queue/:sp/tickets/:id/transfer": azTicketAction("transfer"),
	"POST /staff/queue/:sp/tickets/:id/return":   azTicketAction("return"),
	"GET /staff/visits/new":                      {want: azPage(az200, az200, az200, az200)},
	// The form names demo's service point for everyone: the other
	// municipality does not find it.
	"POST /staff/visits": {
		form: func(f *azFixture, _ string) url.Values {
			return url.Values{"sp": {demo.ServicePoint}, "channel": {"desk"}, "topics": {azID(f.topic)}, "language": {"fi"},
				"interpreter": {"none"}}
		},
		want: azPost(az404, az303, az303, az303)},

	// Appointments: experts and up at their service point; the other
	// municipality finds neither the client nor the appointment.
	"GET /staff/clients/:id/appointments/new": {params: azClient, want: azPage(az404, az200, az200, az200)},
	"POST /staff/clients/:id/appointments": {params: azClient,
		form: func(f *azFixture, actor string) url.Values {
			return url.Values{"sp": {azID(f.demoSP)}, "staff": {azID(f.staffIDs[actor])}, "channel": {"in_person"},
				"date": {time.Now().AddDate(0, 1, 0).Format(time.DateOnly)}, "time": {"10:00"}, "minutes": {"30"}}
		},
		want: azPost(az404, az303, az303, az303)},
	// Outreach: a client's phone is enrolled by experts and up at the
	// client's service point.
	"POST /staff/clients/:id/enrolments":        {params: azClient, want: azPost(az404, az200, az200, az200)},
	"POST /staff/clients/:id/enrolments/revoke": {params: azClient, want: azPost(az404, az200, az200, az200)},
	// Messages to the client's phones: the same people; a message for a
	// month ahead, so that nothing is sent while the matrix runs.
	"GET /staff/clients/:id/messages": {params: azClient, want: azPage(az404, az200, az200, az200)},
	"POST /staff/clients/:id/messages": {params: azClient,
		form: func(*azFixture, string) url.Values {
			return url.Values{"text": {"Hei {first_name}"}, "date": {time.Now().AddDate(0, 1, 0).Format(time.DateOnly)}, "time": {"10:00"}}
		},
		want: azPost(az404, az303, az303, az303)},
	"POST /staff/clients/:id/messages/:msg/cancel": {params: func(f *azFixture, actor string) map[string]string {
		m, ok := f.messages[actor]
		if !ok {
			m = f.messages[azExpert]
		}
		return map[string]string{"id": azID(f.client), "msg": azID(m)}
	}, want: azPost(az404, az303, az303, az303)},
	"GET /staff/appointments":                       {want: azPage(az200, az200, az200, az200)},
	"GET /staff/appointments/at/:sp":                {params: azDemoSP, want: azPage(az404, az200, az200, az200)},
	"GET /staff/appointments/:id":                   {params: azAppointment, want: azPage(az404, az200, az200, az200)},
	"GET /staff/appointments/:id/letter":            {params: azAppointment, want: azPage(az404, az200, az200, az200)},
	"POST /staff/appointments/:id/confirm":          azAppointmentAction("confirm"),
	"POST /staff/appointments/:id/attended":         azAppointmentAction("attended"),
	"POST /staff/appointments/:id/no-show":          azAppointmentAction("no-show"),
	"POST /staff/appointments/:id/cancel-by-client": azAppointmentAction("cancel-by-client"),
	"POST /staff/appointments/:id/cancel-by-staff":  azAppointmentAction("cancel-by-staff"),
	"GET /staff/setup/:sp/appointments":             {params: azDemoSP, want: azPage(az404, az403, az200, az200)},
	"POST /staff/setup/:sp/appointments": {params: azDemoSP,
		form: func(*azFixture, string) url.Values {
			return url.Values{"prefix": {"V"}, "early": {"20"}, "late": {"10"}, "first_on": {"1"}, "first_hours": {"24"},
				"second_on": {"1"}, "second_hours": {"2"}}
		},
		want: azPost(az404, az403, az303, az303)},

	// Statistics: leads and admins.
	"GET /staff/stats": {want: azPage(az200, az403, az200, az200)},
	// What is still in draft, for those who manage a service point.
	"GET /staff/translations": {want: azPage(az200, az403, az200, az200)},
	"GET /staff/stats.csv":    {want: azPage(az200, az403, az200, az200)},

	// Set-up: the service point's lead, or an admin; new service points
	// only admins.
	"GET /staff/setup":     {want: azPage(az200, az403, az200, az200)},
	"GET /staff/setup/new": {want: azPage(az200, az403, az403, az200)},
	"POST /staff/setup/new": {
		form: func(_ *azFixture, actor string) url.Values {
			v := azServicePointForm()
			v.Set("slug", "matrix-"+actor)
			return v
		},
		want: azPost(az303, az403, az403, az303)},
	"GET /staff/setup/:sp":  {params: azDemoSP, want: azPage(az404, az403, az200, az200)},
	"POST /staff/setup/:sp": {params: azDemoSP, form: func(*azFixture, string) url.Values { return azServicePointForm() }, want: azPost(az404, az403, az303, az303)},
	"POST /staff/setup/:sp/desks": {params: azDemoSP,
		form: func(_ *azFixture, actor string) url.Values { return url.Values{"name": {"Matrix " + actor}} },
		want: azPost(az404, az403, az303, az303)},
	"POST /staff/setup/:sp/desks/:id": {params: azDemoSPAnd("id", func(f *azFixture) int64 { return f.editDesk }),
		form: func(_ *azFixture, actor string) url.Values {
			return url.Values{"name": {"Renamed by " + actor}, "active": {"1"}}
		},
		want: azPost(az404, az403, az303, az303)},
	"GET /staff/setup/:sp/topics/new": {params: azDemoSP, want: azPage(az404, az403, az200, az200)},
	"POST /staff/setup/:sp/topics/new": {params: azDemoSP,
		form: func(_ *azFixture, actor string) url.Values { return azTopicForm("New topic by " + actor) },
		want: azPost(az404, az403, az303, az303)},
	"GET /staff/setup/:sp/topics/:id": {params: azDemoSPAnd("id", func(f *azFixture) int64 { return f.editTopic }),
		want: azPage(az404, az403, az200, az200)},
	"POST /staff/setup/:sp/topics/:id": {params: azDemoSPAnd("id", func(f *azFixture) int64 { return f.editTopic }),
		form: func(_ *azFixture, actor string) url.Values { return azTopicForm("Topic renamed by " + actor) },
		want: azPost(az404, az403, az303, az303)},
	"POST /staff/setup/:sp/referrals": {params: azDemoSP,
		form: func(_ *azFixture, actor string) url.Values { return url.Values{"name_fi": {"Palvelu " + actor}} },
		want: azPost(az404, az403, az303, az303)},
	"POST /staff/setup/:sp/referrals/:id": {params: azDemoSPAnd("id", func(f *azFixture) int64 { return f.editReferral }),
		form: func(_ *azFixture, actor string) url.Values {
			return url.Values{"name_fi": {"Palvelu muutettu " + actor}, "active": {"1"}}
		},
		want: azPost(az404, az403, az303, az303)},
	"GET /staff/setup/:sp/devices": {params: azDemoSP, want: azPage(az404, az403, az200, az200)},
	"POST /staff/setup/:sp/devices": {params: azDemoSP,
		form: func(_ *azFixture, actor string) url.Values {
			return url.Values{"kind": {"kiosk"}, "name": {"Kiosk of " + actor}}
		},
		want: azPost(az404, az403, az200, az200)},
	"POST /staff/setup/:sp/devices/:id/code": {params: azDemoSPAnd("id", func(f *azFixture) int64 { return f.codeDevice }),
		want: azPost(az404, az403, az200, az200)},
	"POST /staff/setup/:sp/devices/:id/revoke": {params: azDemoSPAnd("id", func(f *azFixture) int64 { return f.revokeDev }),
		want: azPost(az404, az403, az303, az303)},

	// Message templates: the municipality's, written by leads and admins;
	// another municipality's admin writes their own and finds none of demo's.
	"GET /staff/message-templates": {want: azPage(az200, az403, az200, az200)},
	"POST /staff/message-templates": {
		form: func(_ *azFixture, actor string) url.Values {
			return url.Values{"name": {"Template of " + actor}, "text_fi": {"Hei {first_name}"}}
		},
		want: azPost(az303, az403, az303, az303)},
	"GET /staff/message-templates/:id": {params: azIDParam(func(f *azFixture) int64 { return f.template }),
		want: azPage(az404, az403, az200, az200)},
	"POST /staff/message-templates/:id": {params: azIDParam(func(f *azFixture) int64 { return f.template }),
		form: func(_ *azFixture, actor string) url.Values {
			return url.Values{"name": {"Matrix template"}, "text_fi": {"Hei " + actor}}
		},
		want: azPost(az404, az403, az303, az303)},

	// Campaigns: a service point's leads and admins. The form names demo's
	// service point, which another municipality's admin does not find.
	"GET /staff/campaigns": {want: azPage(az200, az403, az200, az200)},
	"POST /staff/campaigns/preview": {
		form: func(f *azFixture, _ string) url.Values {
			return url.Values{"service_point": {azID(f.demoSP)}, "template": {azID(f.template)}, "enrolled": {"1"}, "quiet_days": {"30"}}
		},
		want: azPost(http.StatusUnprocessableEntity, az403, az200, az200)},
	"POST /staff/campaigns": {
		form: func(f *azFixture, _ string) url.Values {
			return url.Values{"service_point": {azID(f.demoSP)}, "template": {azID(f.template)}, "enrolled": {"1"}}
		},
		want: azPost(http.StatusUnprocessableEntity, az403, az303, az303)},
	"POST /staff/campaigns/:id/cancel": {params: func(f *azFixture, actor string) map[string]string {
		k, ok := f.campaigns[actor]
		if !ok {
			k = f.campaigns[azExpert]
		}
		return map[string]string{"id": azID(k)}
	}, want: azPost(az404, az403, az303, az303)},

	// People: leads (their service point's staff) and admins.
	"GET /staff/people":     {want: azPage(az200, az403, az200, az200)},
	"GET /staff/people/new": {want: azPage(az200, az403, az200, az200)},
	"POST /staff/people/new": {
		form: func(f *azFixture, actor string) url.Values {
			v := azPersonForm(f.tenantSP(actor))
			v.Set("email", "new-by-"+actor+"@example.org")
			v.Set("password", "a fresh password")
			return v
		},
		want: azPost(az303, az403, az303, az303)},
	"GET /staff/people/:id": {params: func(f *azFixture, _ string) map[string]string { return map[string]string{"id": azID(f.person)} },
		want: azPage(az404, az403, az200, az200)},
	"POST /staff/people/:id": {params: func(f *azFixture, _ string) map[string]string { return map[string]string{"id": azID(f.person)} },
		form: func(f *azFixture, _ string) url.Values { return azPersonForm(f.demoSP) },
		want: azPost(az404, az403, az303, az303)},

	// Clients: experts and up at the client's service point; the other
	// municipality finds none of demo's. A new client goes to the actor's
	// own municipality.
	"GET /staff/clients":     {want: azPage(az200, az200, az200, az200)},
	"GET /staff/clients/new": {want: azPage(az200, az200, az200, az200)},
	"POST /staff/clients/new": {
		form: func(f *azFixture, actor string) url.Values { return azClientForm(f.tenantSP(actor), "New by "+actor) },
		want: azPost(az303, az303, az303, az303)},
	// The CSV import: leads and admins. A form without its file comes
	// back to be filled in, after the role is checked.
	"GET /staff/clients/import": {want: azPage(az200, az403, az200, az200)},
	"POST /staff/clients/import": {want: azPost(http.StatusUnprocessableEntity, az403, http.StatusUnprocessableEntity,
		http.StatusUnprocessableEntity)},
	"GET /staff/clients/:id":      {params: azClient, want: azPage(az404, az200, az200, az200)},
	"GET /staff/clients/:id/edit": {params: azClient, want: azPage(az404, az200, az200, az200)},
	"POST /staff/clients/:id/edit": {params: azClient,
		form: func(f *azFixture, actor string) url.Values { return azClientForm(f.demoSP, "Edited by "+actor) },
		want: azPost(az404, az303, az303, az303)},
	"POST /staff/clients/:id/expert": {params: azClient,
		form: func(f *azFixture, _ string) url.Values {
			return url.Values{"responsible": {azID(f.staffIDs[azExpert])}}
		},
		want: azPost(az404, az303, az303, az303)},
	"POST /staff/clients/:id/end": {params: azClientOf(func(f *azFixture) map[string]int64 { return f.activeClient }),
		form: func(*azFixture, string) url.Values { return url.Values{"on": {"2026-01-02"}, "reason": {"moved"}} },
		want: azPost(az404, az303, az303, az303)},
	"POST /staff/clients/:id/continue": {params: azClientOf(func(f *azFixture) map[string]int64 { return f.endedClient }),
		form: func(*azFixture, string) url.Values { return url.Values{"on": {"2026-01-02"}} },
		want: azPost(az404, az303, az303, az303)},
	"POST /staff/clients/:id/contacts": {params: azClient,
		form: func(_ *azFixture, actor string) url.Values { return azContactForm("Met by " + actor) },
		want: azPost(az404, az303, az303, az303)},
	"GET /staff/clients/:id/contacts/:contact": {params: azContact, want: azPage(az404, az200, az200, az200)},
	"POST /staff/clients/:id/contacts/:contact": {params: azContact,
		form: func(_ *azFixture, actor string) url.Values { return azContactForm("Corrected by " + actor) },
		want: azPost(az404, az303, az303, az303)},
	// A data subject's requests: admins only.
	"GET /staff/clients/:id/export":     {params: azClient, want: azPage(az404, az403, az403, az200)},
	"GET /staff/clients/:id/access-log": {params: azClient, want: azPage(az404, az403, az403, az200)},
	"GET /staff/clients/:id/erase":      {params: azClient, want: azPage(az404, az403, az403, az200)},
	"POST /staff/clients/:id/erase": {params: func(f *azFixture, _ string) map[string]string { return map[string]string{"id": azID(f.eraseClient)} },
		form: func(*azFixture, string) url.Values { return url.Values{"confirm": {"1"}} },
		want: azPost(az404, az403, az403, az303)},

	// The access log: admins only.
	"GET /staff/access-log": {want: azPage(az200, az403, az403, az200)},

	// API keys and webhooks: admins only; another municipality's admin
	// makes their own, and finds none of demo's.
	"GET /staff/api-keys": {want: azPage(az200, az403, az403, az200)},
	"POST /staff/api-keys": {
		form: func(_ *azFixture, actor string) url.Values {
			return url.Values{"name": {"Key of " + actor}, "scopes": {"stats:read"}}
		},
		want: azPost(az200, az403, az403, az200)},
	"POST /staff/api-keys/:id/revoke": {params: azIDParam(func(f *azFixture) int64 { return f.apiKey }),
		want: azPost(az404, az403, az403, az303)},
	"GET /staff/webhooks": {want: azPage(az200, az403, az403, az200)},
	"POST /staff/webhooks": {
		form: func(_ *azFixture, actor string) url.Values {
			return url.Values{"url": {"https://example.org/hooks/" + actor}, "events": {"client.created"}}
		},
		want: azPost(az200, az403, az403, az200)},
	"GET /staff/webhooks/:id": {params: azIDParam(func(f *azFixture) int64 { return f.hook }),
		want: azPage(az404, az403, az403, az200)},
	"POST /staff/webhooks/:id/test": {params: azIDParam(func(f *azFixture) int64 { return f.hook }),
		want: azPost(az404, az403, az403, az303)},
	"POST /staff/webhooks/:id/enable": {params: azIDParam(func(f *azFixture) int64 { return f.hookOn }),
		form: func(*azFixture, string) url.Values { return url.Values{"version": {"1"}} },
		want: azPost(az404, az403, az403, az303)},
	"POST /staff/webhooks/:id/disable": {params: azIDParam(func(f *azFixture) int64 { return f.hookOff }),
		form: func(*azFixture, string) url.Values { return url.Values{"version": {"1"}} },
		want: azPost(az404, az403, az403, az303)},
	"POST /staff/webhooks/:id/delete": {params: azIDParam(func(f *azFixture) int64 { return f.hookDel }),
		want: azPost(az404, az403, az403, az303)},

	// Tasks: everyone has their own list and may write a task at a service
	// point where they work; a service point's pool and tasks are for those
	// who work there, its load view for its leads.
	"GET /staff/tasks":       {want: azPage(az200, az200, az200, az200)},
	"GET /staff/tasks/count": {want: azPage(az200, az200, az200, az200)},
	"GET /staff/tasks/new":   {want: azPage(az200, az200, az200, az200)},
	"POST /staff/tasks": {
		form: func(f *azFixture, actor string) url.Values {
			sp := demo.ServicePoint
			if actor == azOther {
				sp = "other-sp"
			}
			return url.Values{"sp": {sp}, "title": {"Written by " + actor}, "assign": {"me"}}
		},
		want: azPost(az303, az303, az303, az303)},
	"GET /staff/tasks/pool/:sp": {params: azDemoSP, want: azPage(az404, az200, az200, az200)},
	"GET /staff/tasks/load/:sp": {params: azDemoSP, want: azPage(az404, az403, az200, az200)},
	"GET /staff/tasks/:id": {params: func(f *azFixture, _ string) map[string]string { return map[string]string{"id": azID(f.task)} },
		want: azPage(az404, az200, az200, az200)},
	"POST /staff/tasks/:id/claim": azTaskAction("claim", nil),
	"POST /staff/tasks/:id/assign": azTaskAction("assign", func(f *azFixture, actor string) url.Values {
		to, ok := f.staffIDs[actor]
		if !ok {
			to = f.staffIDs[azExpert] // the other municipality names demo's expert
		}
		return url.Values{"to": {azID(to)}}
	}),
	"POST /staff/tasks/:id/comment":  azTaskAction("comment", func(*azFixture, string) url.Values { return url.Values{"comment": {"Called"}} }),
	"POST /staff/tasks/:id/complete": azTaskAction("complete", nil),
	"POST /staff/tasks/:id/cancel":   azTaskAction("cancel", nil),
	"GET /staff/clients/:id/summary": {params: func(f *azFixture, _ string) map[string]string { return map[string]string{"id": azID(f.client)} },
		want: azPage(az404, az200, az200, az200)},

	// One's own settings and browsers. The matrix portal has no push
	// sender, so storing a subscription is unavailable to all alike.
	"GET /staff/settings":       {want: azPage(az200, az200, az200, az200)},
	"POST /staff/settings/push": {want: azPost(503, 503, 503, 503)},
	"POST /staff/settings/devices/:id/remove": {
		params: func(f *azFixture, actor string) map[string]string {
			d, ok := f.devices[actor]
			if !ok {
				d = f.devices[azExpert]
			}
			return map[string]string{"id": azID(d)}
		},
		want: azPost(az303, az303, az303, az303)},

	// Reset links: admins, for their own municipality's staff.
	"POST /staff/people/:id/reset-link": {params: func(f *azFixture, _ string) map[string]string { return map[string]string{"id": azID(f.person)} },
		want: azPost(az404, az403, az403, az200)},
	// Removing someone's second factors: admins, for their own
	// municipality's staff.
	"POST /staff/people/:id/clear-factors": {params: func(f *azFixture, _ string) map[string]string { return map[string]string{"id": azID(f.person)} },
		want: azPost(az404, az403, az403, az303)},
	// How the municipality signs in: admins.
	"GET /staff/signin-settings": {want: azPage(az200, az403, az403, az200)},
	"POST /staff/signin-settings": {
		form: func(*azFixture, string) url.Values {
			return url.Values{"password_signin": {"1"}, "groups_claim": {"groups"}}
		},
		want: azPost(az303, az403, az403, az303)},

	// One's own account: everyone signed in.
	"GET /staff/account": {want: azPage(az200, az200, az200, az200)},
	"POST /staff/account/password": {
		form: func(*azFixture, string) url.Values {
			return url.Values{"current": {secPassword}, "password": {"a matrix password"}, "password2": {"a matrix password"}}
		},
		want: azPost(az303, az303, az303, az303)},
	"POST /staff/account/language": {form: func(*azFixture, string) url.Values { return url.Values{"locale": {"fi"}} },
		want: azPost(az303, az303, az303, az303)},
	"POST /staff/account/sessions/end-others": {want: azPost(az303, az303, az303, az303)},
	"POST /staff/account/totp/remove":         {want: azPost(az303, az303, az303, az303)},
	// Nobody here has a second factor, so there is nothing to recover.
	"POST /staff/account/recovery-codes": {want: azPost(http.StatusConflict, http.StatusConflict, http.StatusConflict, http.StatusConflict)},
	"GET /staff/account/factors/":        {want: azPage(az200, az200, az200, az200)},
	"GET /staff/account/factors/totp":    {want: azPage(az200, az200, az200, az200)},
	"GET /staff/account/factors/passkey": {want: azPage(az200, az200, az200, az200)},
	// An answer that is no passkey comes back with the form.
	"POST /staff/account/factors/passkey": {form: func(*azFixture, string) url.Values { return url.Values{"name": {"Key"}, "credential": {"{}"}} },
		want: azPost(http.StatusUnprocessableEntity, http.StatusUnprocessableEntity, http.StatusUnprocessableEntity, http.StatusUnprocessableEntity)},
	// Only one's own passkeys: another person's is not found.
	"POST /staff/account/passkeys/:id/remove": {params: func(f *azFixture, _ string) map[string]string { return map[string]string{"id": azID(f.personPasskey)} },
		want: azPost(az404, az404, az404, az404)},
	// A wrong code comes back with the form.
	"POST /staff/account/factors/totp": {form: func(*azFixture, string) url.Values { return url.Values{"code": {"000000"}} },
		want: azPost(http.StatusUnprocessableEntity, http.StatusUnprocessableEntity, http.StatusUnprocessableEntity, http.StatusUnprocessableEntity)},
}

// azIDParam names one object by :id, whoever asks.
func azIDParam(pick func(f *azFixture) int64) func(*azFixture, string) map[string]string {
	return func(f *azFixture, _ string) map[string]string { return map[string]string{"id": azID(pick(f))} }
}

// azTaskActions are the actions on a task each actor gets a pool task of
// demo for.
var azTaskActions = []string{"claim", "assign", "comment", "complete", "cancel"}

// azTaskAction is one action on a task: each actor acts on a pool task of
// their own, so an expert and up succeed; the other municipality finds
// nothing.
func azTaskAction(action string, form func(*azFixture, string) url.Values) azEntry {
	return azEntry{
		params: func(f *azFixture, actor string) map[string]string {
			t, ok := f.taskActs[action][actor]
			if !ok {
				t = f.task
			}
			return map[string]string{"id": azID(t)}
		},
		form: form,
		want: azPost(az404, az303, az303, az303),
	}
}

func azClient(f *azFixture, _ string) map[string]string {
	return map[string]string{"id": azID(f.client)}
}

func azAppointment(f *azFixture, _ string) map[string]string {
	return map[string]string{"id": azID(f.appt)}
}

// azAppointmentAction records a status on an appointment of each actor's
// own, booked for it; the other municipality finds nothing.
func azAppointmentAction(action string) azEntry {
	return azEntry{
		params: func(f *azFixture, actor string) map[string]string {
			id, ok := f.apptActs[action][actor]
			if !ok {
				id = f.appt
			}
			return map[string]string{"id": azID(id)}
		},
		want: azPost(az404, az303, az303, az303),
	}
}

func azContact(f *azFixture, _ string) map[string]string {
	return map[string]string{"id": azID(f.client), "contact": azID(f.contact)}
}

// azClientOf names each actor's own client of a kind (demo's first client
// for the other municipality, which must not find it).
func azClientOf(pick func(f *azFixture) map[string]int64) func(*azFixture, string) map[string]string {
	return func(f *azFixture, actor string) map[string]string {
		id, ok := pick(f)[actor]
		if !ok {
			id = f.client
		}
		return map[string]string{"id": azID(id)}
	}
}

func azClientForm(sp int64, last string) url.Values {
	return url.Values{"first_names": {"Matrix"}, "last_name": {last}, "language": {"fi"}, "service_point": {azID(sp)}}
}

func azContactForm(summary string) url.Values {
	return url.Values{"date": {"2026-01-02"}, "time": {"10:00"}, "channel": {"phone"}, "summary": {summary}}
}

func azServicePointForm() url.Values {
	return url.Values{"name_fi": {"Matriisipiste"}, "time_zone": {"Europe/Helsinki"}, "always_open": {"1"},
		"target_wait": {"20"}, "max_recalls": {"2"}}
}

func azTopicForm(label string) url.Values {
	return url.Values{"label_fi": {label}, "pictogram": {"documents"}, "prefix": {"M"}, "active": {"1"}, "position": {"9"}}
}

func azPersonForm(sp int64) url.Values {
	return url.Values{"name": {"Matrix Person"}, "locale": {"fi"}, "languages": {"fi"}, "active": {"1"},
		"role": {"expert:" + azID(sp)}}
}

// azSeed creates the second municipality and the objects the requests
// name, as the schema owner, after the demo seed.
func azSeed(f *azFixture) portaltest.Option {
	return portaltest.WithSeed(func(t testing.TB, _ *store.DB, ownerURL string) {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, ownerURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		hash, err := auth.HashPassword(secPassword)
		if err != nil {
			t.Fatal(err)
		}
		q := func(dst *int64, sql string, args ...any) {
			t.Helper()
			if err := conn.QueryRow(ctx, sql, args...).Scan(dst); err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
		}
		var demoMuni, otherMuni, otherAdmin int64
		q(&demoMuni, `SELECT id FROM municipalities WHERE slug = $1`, demo.Municipality)
		q(&f.demoSP, `SELECT id FROM service_points WHERE slug = $1`, demo.ServicePoint)
		q(&f.desk, `SELECT id FROM desks WHERE service_point_id = $1 AND name = '1'`, f.demoSP)
		q(&f.topic, `SELECT id FROM topics WHERE service_point_id = $1 ORDER BY position LIMIT 1`, f.demoSP)
		q(&f.editDesk, `INSERT INTO desks (municipality_id, service_point_id, name) VALUES ($1, $2, 'To rename') RETURNING id`, demoMuni, f.demoSP)
		q(&f.editTopic, `INSERT INTO topics (municipality_id, service_point_id, labels, pictogram, prefix, position)
			VALUES ($1, $2, '{"fi": "Muokattava"}', 'documents', 'M', 50) RETURNING id`, demoMuni, f.demoSP)
		q(&f.editReferral, `INSERT INTO referral_services (municipality_id, service_point_id, names) VALUES ($1, $2, '{"fi": "Muokattava"}') RETURNING id`,
			demoMuni, f.demoSP)
		q(&f.codeDevice, `INSERT INTO devices (municipality_id, service_point_id, kind, name) VALUES ($1, $2, 'display', 'Matrix display') RETURNING id`,
			demoMuni, f.demoSP)
		q(&f.revokeDev, `INSERT INTO devices (municipality_id, service_point_id, kind, name, token_hash, paired_at)
			VALUES ($1, $2, 'kiosk', 'Matrix kiosk', $3, now()) RETURNING id`, demoMuni, f.demoSP, auth.Hash(auth.NewToken()))
		q(&f.person, `INSERT INTO staff (municipality_id, email, name, password_hash, languages) VALUES ($1, 'person@example.org', 'Matrix Person', $2, '{fi}') RETURNING id`,
			demoMuni, hash)
		var role int64
		q(&role, `INSERT INTO staff_roles (municipality_id, staff_id, service_point_id, role) VALUES ($1, $2, $3, 'expert') RETURNING id`, demoMuni, f.person, f.demoSP)
		q(&f.apiKey, `INSERT INTO api_keys (municipality_id, name, token_hash, prefix, scopes) VALUES ($1, 'Matrix key', $2, 'koto_x', '{stats:read}') RETURNING id`,
			demoMuni, auth.Hash(auth.NewToken()))
		q(&f.template, `INSERT INTO message_templates (municipality_id, name) VALUES ($1, 'Matrix template') RETURNING id`, demoMuni)
		var version int64
		q(&version, `INSERT INTO message_template_versions (municipality_id, template_id, version, texts) VALUES ($1, $2, 1, '{"fi": "Hei"}') RETURNING id`,
			demoMuni, f.template)
		f.campaigns = map[string]int64{}
		for _, actor := range []string{azExpert, azLead, azAdmin} {
			var k int64
			q(&k, `INSERT INTO campaigns (municipality_id, service_point_id, template_version_id, filter) VALUES ($1, $2, $3, '{}') RETURNING id`,
				demoMuni, f.demoSP, version)
			f.campaigns[actor] = k
		}
		for _, h := range []struct {
			dst    *int64
			active bool
		}{{&f.hook, true}, {&f.hookOn, false}, {&f.hookOff, true}, {&f.hookDel, true}} {
			q(h.dst, `INSERT INTO webhook_endpoints (municipality_id, url, events, secret, active) VALUES ($1, 'https://example.org/matrix', '{client.created}', $2, $3) RETURNING id`,
				demoMuni, api.NewSecret(), h.active)
		}
		q(&f.personPasskey, `INSERT INTO webauthn_credentials (municipality_id, staff_id, credential_id, name, credential)
			VALUES ($1, $2, '\x01', 'Key', '{}') RETURNING id`, demoMuni, f.person)

		f.staffIDs = map[string]int64{}
		for actor, email := range map[string]string{azExpert: demo.ExpertEmail, azLead: demo.LeadEmail, azAdmin: demo.AdminEmail} {
			var sid int64
			q(&sid, `SELECT id FROM staff WHERE email = $1`, email)
			f.staffIDs[actor] = sid
		}

		// Today's queue: waiting visitors for each successful call-next,
		// and one ticket already called by each actor who may recall it.
		day := `(now() AT TIME ZONE 'Europe/Helsinki')::date`
		f.called = map[string]int64{}
		for i := range 3 {
			var tid int64
			q(&tid, `INSERT INTO tickets (municipality_id, service_point_id, topic_id, original_topic_id, prefix, number, service_day, language)
				VALUES ($1, $2, $3, $3, 'Z', $4, `+day+`, 'fi') RETURNING id`, demoMuni, f.demoSP, f.topic, 900+i)
			f.demoTicket = tid
		}
		for i, actor := range []string{azExpert, azLead, azAdmin} {
			var tid int64
			q(&tid, `INSERT INTO tickets (municipality_id, service_point_id, topic_id, original_topic_id, prefix, number, service_day, language,
					state, desk_id, staff_id, called_at, last_called_at)
				VALUES ($1, $2, $3, $3, 'Y', $4, `+day+`, 'fi', 'called', $5, $6, now(), now()) RETURNING id`,
				demoMuni, f.demoSP, f.topic, 900+i, f.desk, f.staffIDs[actor])
			f.called[actor] = tid
		}

		f.acts = map[string]map[string]int64{}
		n := 950
		for action, st := range azActionStates {
			f.acts[action] = map[string]int64{}
			for _, actor := range []string{azExpert, azLead, azAdmin} {
				n++
				var tid int64
				q(&tid, `INSERT INTO tickets (municipality_id, service_point_id, topic_id, original_topic_id, prefix, number, service_day, language,
						state, desk_id, staff_id, called_at, last_called_at, serving_at, recalls)
					SELECT $1, $2, $3, $3, 'X', $4, `+day+`, 'fi', $5::text, d, s, c, c, CASE WHEN $5 = 'serving' THEN now() END, $8
					FROM (SELECT CASE WHEN $5 = 'waiting' THEN NULL ELSE $6::bigint END AS d, CASE WHEN $5 = 'waiting' THEN NULL ELSE $7::bigint END AS s,
						CASE WHEN $5 = 'waiting' THEN NULL ELSE now() END AS c) x RETURNING id`,
					demoMuni, f.demoSP, f.topic, n, st.state, f.desk, f.staffIDs[actor], st.recalls)
				f.acts[action][actor] = tid
			}
		}

		// A client of demo with appointments: one to read, and one for
		// each actor and status route.
		q(&f.client, `INSERT INTO clients (municipality_id, service_point_id, first_names, last_name, language)
			VALUES ($1, $2, 'Matrix', 'Client', 'ar') RETURNING id`, demoMuni, f.demoSP)
		f.messages = map[string]int64{}
		for _, actor := range []string{azExpert, azLead, azAdmin} {
			var m int64
			q(&m, `INSERT INTO client_messages (municipality_id, client_id, text, send_at) VALUES ($1, $2, 'Hei', now() + interval '30 days') RETURNING id`,
				demoMuni, f.client)
			f.messages[actor] = m
		}
		appointment := func(dst *int64, n int) {
			q(dst, `INSERT INTO appointments (municipality_id, client_id, service_point_id, staff_id, channel, starts_at, duration_minutes, code)
				VALUES ($1, $2, $3, $4, 'in_person', now() + interval '2 days', 30, $5) RETURNING id`,
				demoMuni, f.client, f.demoSP, f.staffIDs[azExpert], fmt.Sprintf("%08d", 70000000+n))
		}
		appointment(&f.appt, 0)
		f.apptActs = map[string]map[string]int64{}
		for i, action := range []string{"confirm", "attended", "no-show", "cancel-by-client", "cancel-by-staff"} {
			f.apptActs[action] = map[string]int64{}
			for j, actor := range []string{azExpert, azLead, azAdmin} {
				var id int64
				appointment(&id, 1+i*3+j)
				f.apptActs[action][actor] = id
			}
		}
		// A pool task to read, one pool task per action and actor, and a
		// browser of each person that takes task pushes.
		newTask := func() int64 {
			var id int64
			q(&id, `INSERT INTO tasks (municipality_id, service_point_id, kind) VALUES ($1, $2, 'walk_in') RETURNING id`, demoMuni, f.demoSP)
			return id
		}
		f.task = newTask()
		f.taskActs = map[string]map[string]int64{}
		for _, action := range azTaskActions {
			f.taskActs[action] = map[string]int64{}
			for _, actor := range []string{azExpert, azLead, azAdmin} {
				f.taskActs[action][actor] = newTask()
			}
		}
		f.devices = map[string]int64{}
		for actor, sid := range f.staffIDs {
			var id int64
			q(&id, `INSERT INTO staff_push (municipality_id, staff_id, endpoint_hash, subscription, label)
				VALUES ($1, $2, $3, '{}', 'Matrix browser') RETURNING id`, demoMuni, sid, []byte("matrix-"+actor))
			f.devices[actor] = id
		}

		// Demo's clients.
		client := func(last string) int64 {
			var id int64
			q(&id, `INSERT INTO clients (municipality_id, service_point_id, first_names, last_name) VALUES ($1, $2, 'Matrix', $3) RETURNING id`,
				demoMuni, f.demoSP, last)
			return id
		}
		f.eraseClient = client("To erase")
		q(&f.contact, `WITH n AS (SELECT nextval(pg_get_serial_sequence('client_contacts', 'id')) AS id)
			INSERT INTO client_contacts (id, entry_id, municipality_id, client_id, occurred_at, channel, summary)
			SELECT n.id, n.id, $1, $2, now() - interval '1 day', 'meeting', 'First meeting' FROM n RETURNING id`, demoMuni, f.client)
		f.activeClient, f.endedClient = map[string]int64{}, map[string]int64{}
		for _, actor := range []string{azExpert, azLead, azAdmin} {
			f.activeClient[actor] = client("Active of " + actor)
			f.endedClient[actor] = client("Ended of " + actor)
			var ended int64
			q(&ended, `UPDATE clients SET status = 'ended' WHERE id = $1 RETURNING id`, f.endedClient[actor])
		}

		// The second municipality, with its own service point and admin.
		q(&otherMuni, `INSERT INTO municipalities (slug, name) VALUES ('other', 'Other') RETURNING id`)
		q(&f.otherSP, `INSERT INTO service_points (municipality_id, slug, names) VALUES ($1, 'other-sp', '{"fi": "Toinen"}') RETURNING id`, otherMuni)
		var otherDesk int64
		q(&otherDesk, `INSERT INTO desks (municipality_id, service_point_id, name) VALUES ($1, $2, '1') RETURNING id`, otherMuni, f.otherSP)
		q(&f.otherTopic, `INSERT INTO topics (municipality_id, service_point_id, labels, pictogram, prefix) VALUES ($1, $2, '{"fi": "Muu"}', 'documents', 'A') RETURNING id`,
			otherMuni, f.otherSP)
		q(&otherAdmin, `INSERT INTO staff (municipality_id, email, name, password_hash) VALUES ($1, $2, 'Other Admin', $3) RETURNING id`,
			otherMuni, azOtherEmail, hash)
		q(&role, `INSERT INTO staff_roles (municipality_id, staff_id, role) VALUES ($1, $2, 'admin') RETURNING id`, otherMuni, otherAdmin)
		var otherDevice int64
		q(&otherDevice, `INSERT INTO staff_push (municipality_id, staff_id, endpoint_hash, subscription, label)
			VALUES ($1, $2, 'matrix-other', '{}', 'Matrix browser') RETURNING id`, otherMuni, otherAdmin)
		f.devices[azOther] = otherDevice
	})
}

// azFingerprint digests every table but the migration bookkeeping, as the
// owner sees it. A session's last_seen_at moves on any request (after a
// minute) and the access log may gain rows recording refusals, so those are
// left out here and checked on their own. The job queue's own bookkeeping
// (leader election, queues, clients) changes on its own clock, and so does
// the periodic day closing and overdue check; any other job a refused
// request enqueued counts. So do webhook deliveries: an allowed request's
// event is attempted in the background, whenever the queue gets to it; a
// refused request's event would show as its delivery job.
type azFingerprint struct {
	tables    map[string]string
	accessLog int64 // max(id)
}

func azSnapshot(t *testing.T, owner *pgx.Conn) azFingerprint {
	t.Helper()
	ctx := context.Background()
	rows, err := owner.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
		AND table_name NOT IN ('goose_db_version', 'access_log', 'webhook_deliveries')
		AND (table_name = 'river_job' OR table_name NOT LIKE 'river\_%') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	fp := azFingerprint{tables: map[string]string{}}
	for _, name := range names {
		sel := "x"
		if name == "sessions" {
			sel = "(x.id_hash, x.municipality_id, x.staff_id, x.csrf_token, x.created_at, x.expires_at)"
		}
		where := ""
		if name == "river_job" {
			sel, where = "(x.id, x.kind, x.args)", " WHERE x.kind NOT IN ('close_service_days', 'task_overdue', 'client_reminders', 'sweep_api', 'sweep_sessions')"
		}
		var s string
		if err := owner.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) || ':' || coalesce(md5(string_agg(%s::text, ',' ORDER BY %s::text)), '') FROM %s x%s`,
			sel, sel, name, where)).Scan(&s); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		fp.tables[name] = s
	}
	if err := owner.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM access_log`).Scan(&fp.accessLog); err != nil {
		t.Fatal(err)
	}
	return fp
}

// azUnchanged reports what a refused request changed: any table, or an
// access-log row that records anything but a refusal.
func azUnchanged(t *testing.T, owner *pgx.Conn, before, after azFingerprint) []string {
	t.Helper()
	var changed []string
	for name, b := range before.tables {
		if after.tables[name] != b {
			changed = append(changed, name)
		}
	}
	for name := range after.tables {
		if _, ok := before.tables[name]; !ok {
			changed = append(changed, name+" (new table)")
		}
	}
	var notDenied int
	if err := owner.QueryRow(context.Background(), `SELECT count(*) FROM access_log WHERE id > $1 AND result <> 'denied'`, before.accessLog).
		Scan(&notDenied); err != nil {
		t.Fatal(err)
	}
	if notDenied > 0 {
		changed = append(changed, fmt.Sprintf("access_log (%d rows recording something other than a refusal)", notDenied))
	}
	sort.Strings(changed)
	return changed
}

// azRoutes lists the app's staff routes as "METHOD PATH". HEAD is left out:
// Fiber adds it for every GET, and it runs the GET's handlers.
func azRoutes(t *testing.T, in *portaltest.Instance) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	gets := map[string]bool{}
	var heads []string
	for _, r := range in.Server.App().GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/staff") {
			continue
		}
		switch r.Method {
		case http.MethodHead:
			heads = append(heads, r.Path)
			continue
		case http.MethodGet:
			gets[r.Path] = true
		}
		out[r.Method+" "+r.Path] = true
	}
	for _, p := range heads {
		if !gets[p] {
			t.Errorf("route HEAD %s has no GET twin; give it a matrix entry of its own", p)
		}
	}
	return out
}

// azPath fills a route pattern's parameters.
func azPath(t *testing.T, pattern string, params map[string]string) string {
	t.Helper()
	parts := strings.Split(pattern, "/")
	for i, p := range parts {
		if !strings.HasPrefix(p, ":") {
			continue
		}
		v, ok := params[p[1:]]
		if !ok || v == "" {
			t.Fatalf("%s: no value for %s", pattern, p)
		}
		parts[i] = url.PathEscape(v)
	}
	return strings.Join(parts, "/")
}

func TestAuthorizationMatrix(t *testing.T) {
	f := &azFixture{}
	in := secStart(t, azSeed(f), secHostName)
	owner := secOwner(t, in)

	routes := azRoutes(t, in)
	for key := range routes {
		if _, ok := matrix[key]; !ok {
			t.Errorf("route %s has no matrix entry", key)
		}
	}
	for key := range matrix {
		if !routes[key] {
			t.Errorf("matrix entry %s names no route (removed or renamed?)", key)
		}
	}
	if len(routes) < 20 {
		t.Fatalf("found only %d staff routes: the route listing is broken", len(routes))
	}

	browsers := map[string]*secBrowser{}
	for actor, email := range map[string]string{azExpert: demo.ExpertEmail, azLead: demo.LeadEmail, azAdmin: demo.AdminEmail, azOther: azOtherEmail} {
		b := newSecBrowser(t, in)
		b.login(email)
		browsers[actor] = b
	}
	anon := newSecBrowser(t, in)
	anon.csrf = anon.loginForm() // the double-submit pair, so refusals come from the login check

	keys := make([]string, 0, len(matrix))
	for k := range matrix {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		e := matrix[key]
		method, pattern, _ := strings.Cut(key, " ")
		if !routes[key] {
			continue
		}
		t.Run(key, func(t *testing.T) {
			for _, actor := range azActors {
				want, ok := e.want[actor]
				if !ok {
					t.Fatalf("no expected answer for %s", actor)
				}
				b := anon
				if actor != azAnon {
					b = browsers[actor]
				}
				path, _, form, hdr := e.request(t, in, f, b, method, pattern, actor)
				refusal := want == http.StatusUnauthorized || want == az403 || want == az404 || actor == azAnon
				var before azFingerprint
				if refusal {
					before = azSnapshot(t, owner)
				}
				r := b.do(method, path, form, hdr)
				if r.Status != want {
					t.Errorf("%s %s as %s: %d, want %d", method, path, actor, r.Status, want)
				}
				switch {
				case actor == azAnon && method == http.MethodGet:
					if wantLoc := "/login?next=" + url.QueryEscape(path); r.Location != wantLoc {
						t.Errorf("%s %s as %s: to %q, want %q", method, path, actor, r.Location, wantLoc)
					}
				case !refusal && r.Status == az303 && strings.Contains(r.Location, "err=1"):
					t.Errorf("%s %s as %s: refused on the way back: %s", method, path, actor, r.Location)
				}
				if refusal {
					if changed := azUnchanged(t, owner, before, azSnapshot(t, owner)); len(changed) > 0 {
						t.Errorf("%s %s as %s was refused (%d) but changed %v", method, path, actor, r.Status, changed)
					}
				}
			}
		})
	}

	// Everyone is still logged in: no answer above came from a lost session.
	for actor, b := range browsers {
		if !b.loggedIn() {
			t.Errorf("%s's session ended during the matrix", actor)
		}
	}
}

// Ids of another municipality's objects, named through one's own service
// point, find nothing (and change nothing); nor does one's own id through
// the other municipality's service point.
func TestCrossTenantIDsAreNotFound(t *testing.T) {
	f := &azFixture{}
	in := secStart(t, azSeed(f))
	owner := secOwner(t, in)
	other := newSecBrowser(t, in)
	other.login(azOtherEmail)
	admin := newSecBrowser(t, in)
	admin.login(demo.AdminEmail)

	probes := []struct {
		who    *secBrowser
		method string
		path   string
		form   url.Values
		want   int
		loc    string // for a 303, where to
	}{
		{other, http.MethodPost, "/staff/setup/other-sp/desks/" + azID(f.editDesk), url.Values{"name": {"Stolen"}, "active": {"1"}}, az404, ""},
		{other, http.MethodGet, "/staff/setup/other-sp/topics/" + azID(f.editTopic), nil, az404, ""},
		{other, http.MethodPost, "/staff/setup/other-sp/topics/" + azID(f.editTopic), azTopicForm("Stolen"), az404, ""},
		{other, http.MethodPost, "/staff/setup/other-sp/referrals/" + azID(f.editReferral), url.Values{"name_fi": {"Stolen"}, "active": {"1"}}, az404, ""},
		{other, http.MethodPost, "/staff/setup/other-sp/devices/" + azID(f.codeDevice) + "/code", url.Values{}, az404, ""},
		{other, http.MethodPost, "/staff/setup/other-sp/devices/" + azID(f.revokeDev) + "/revoke", url.Values{}, az404, ""},
		// The queue answers an action on a ticket it cannot find by going
		// back to the queue with "gone", as for a ticket just finished.
		{other, http.MethodPost, "/staff/queue/other-sp/tickets/" + azID(f.called[azAdmin]) + "/recall", url.Values{}, az303,
			"/staff/queue/other-sp?err=1&msg=queue.gone"},
		{other, http.MethodPost, "/staff/visits", url.Values{"sp": {"other-sp"}, "channel": {"desk"}, "topics": {azID(f.topic)}, "language": {"fi"}}, 422, ""},
		{other, http.MethodGet, "/staff/tasks/pool/" + demo.ServicePoint, nil, az404, ""},
		{other, http.MethodGet, "/staff/clients/" + azID(f.client) + "/summary", nil, az404, ""},
		{other, http.MethodPost, "/staff/settings/devices/" + azID(f.devices[azExpert]) + "/remove", url.Values{}, az404, ""},
		{other, http.MethodPost, "/staff/tasks/" + azID(f.task) + "/assign", url.Values{"to": {azID(f.staffIDs[azExpert])}}, az404, ""},
		{admin, http.MethodPost, "/staff/settings/devices/" + azID(f.devices[azOther]) + "/remove", url.Values{}, az404, ""},
		{admin, http.MethodGet, "/staff/tasks/pool/other-sp", nil, az404, ""},
		{admin, http.MethodGet, "/staff/setup/other-sp", nil, az404, ""},
		{admin, http.MethodGet, "/staff/queue/other-sp", nil, az404, ""},
		{admin, http.MethodPost, "/staff/setup/other-sp/desks", url.Values{"name": {"Planted"}}, az404, ""},
	}
	for _, p := range probes {
		before := azSnapshot(t, owner)
		hdr := map[string]string{}
		if p.form != nil {
			p.form.Set("_csrf", p.who.csrf)
			hdr["Origin"] = in.URL
		}
		r := p.who.do(p.method, p.path, p.form, hdr)
		if r.Status != p.want || p.loc != "" && r.Location != p.loc {
			t.Errorf("%s %s: %d to %q, want %d %q", p.method, p.path, r.Status, r.Location, p.want, p.loc)
		}
		if changed := azUnchanged(t, owner, before, azSnapshot(t, owner)); len(changed) > 0 {
			t.Errorf("%s %s changed %v", p.method, p.path, changed)
		}
	}
}

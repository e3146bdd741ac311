package clients

import (
	"errors"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/sqldb"
)

func TestCreateGetUpdate(t *testing.T) {
	f := newFixture(t)
	in := Input{ServicePointID: f.sp1, FirstNames: " Oleksandr ", LastName: "Shevchenko", NativeName: "Олександр Шевченко",
		IdentityCode: "010594Y9032", Language: "uk", InterpreterLanguage: "uk", Phone: "+358 40 123 4567",
		Email: "Oleksandr@Example.org", ResponsibleStaffID: f.expert1.StaffID, Note: "Line one\r\nLine two"}
	c, err := f.svc.Create(f.ctx, f.expert1, in)
	if err != nil {
		t.Fatal(err)
	}
	if c.FirstNames != "Oleksandr" || c.Email != "oleksandr@example.org" || c.Note != "Line one\nLine two" ||
		c.BirthDate.Format(time.DateOnly) != "1994-05-01" || c.ResponsibleName != "Eeva Expert" || c.Status != StatusActive {
		t.Errorf("created %+v", c)
	}
	// An expert sees the identity code masked; the service point's lead
	// and the admin see it whole; the expert of another service point
	// nothing at all.
	if c.IdentityCode != "" || c.IdentityCodeMasked != "010594Y****" || !c.HasIdentityCode {
		t.Errorf("expert sees identity code %q masked %q", c.IdentityCode, c.IdentityCodeMasked)
	}
	for _, who := range []auth.Principal{f.lead1, f.admin} {
		r, err := f.svc.Get(f.ctx, who, c.ID, true)
		if err != nil || r.Client.IdentityCode != "010594Y9032" {
			t.Errorf("%s: %q %v", who.Name, r.Client.IdentityCode, err)
		}
	}
	if _, err := f.svc.Get(f.ctx, f.expert2, c.ID, true); !errors.Is(err, ErrForbidden) {
		t.Errorf("expert of another service point: %v", err)
	}
	if f.logged(f.expert2, c.ID, audit.ActionRead, audit.ResultDenied) != 1 {
		t.Error("the refused read is not in the access log")
	}
	if _, err := f.svc.Get(f.ctx, f.otherAdmin, c.ID, true); !errors.Is(err, sqldb.ErrNotFound) {
		t.Errorf("another municipality's admin: %v", err)
	}
	if f.logged(f.expert1, c.ID, audit.ActionCreate, audit.ResultOK) != 1 || f.logged(f.lead1, c.ID, audit.ActionRead, audit.ResultOK) != 1 {
		t.Error("create or read not logged")
	}

	// An update with no identity code keeps the stored one; moving the
	// client needs the right to work at both service points.
	in.IdentityCode, in.Note = "", "Changed"
	if _, err := f.svc.Update(f.ctx, f.expert1, c.ID, in); err != nil {
		t.Fatal(err)
	}
	r, _ := f.svc.Get(f.ctx, f.admin, c.ID, false)
	if r.Client.IdentityCode != "010594Y9032" || r.Client.Note != "Changed" || r.Client.UpdatedByName != "Eeva Expert" {
		t.Errorf("after update: %+v", r.Client)
	}
	moved := in
	moved.ServicePointID = f.sp2
	if _, err := f.svc.Update(f.ctx, f.expert1, c.ID, moved); !errors.Is(err, ErrForbidden) {
		t.Errorf("move to a service point the expert does not work at: %v", err)
	}
	if _, err := f.svc.Update(f.ctx, f.admin, c.ID, moved); !errors.Is(err, ErrUnknownExpert) {
		t.Errorf("move with a responsible expert who does not work there: %v", err)
	}
	moved.ResponsibleStaffID = f.expert2.StaffID
	if _, err := f.svc.Update(f.ctx, f.admin, c.ID, moved); err != nil {
		t.Errorf("admin moves the client: %v", err)
	}
	moved.RemoveIdentityCode = true
	if _, err := f.svc.Update(f.ctx, f.admin, c.ID, moved); err != nil {
		t.Fatal(err)
	}
	if r, err := f.svc.Get(f.ctx, f.admin, c.ID, false); err != nil || r.Client.HasIdentityCode || r.Client.IdentityCode != "" {
		t.Errorf("identity code %q kept after its removal (%v)", r.Client.IdentityCode, err)
	}
}

func TestCreateRefusesBadInput(t *testing.T) {
	f := newFixture(t)
	_, err := f.svc.Create(f.ctx, f.expert1, Input{ServicePointID: f.sp1, Language: "xx", IdentityCode: "010594Y9033",
		Phone: "call me", Email: "nope", BirthDate: time.Now().AddDate(1, 0, 0)})
	var ie *InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("bad input: %v", err)
	}
	want := Problems{"last_name": "clients.error.name_required", "language": "clients.error.language",
		"identity_code": "clients.error.identity_code", "phone": "clients.error.phone", "email": "form.invalid_email",
		"birth_date": "clients.error.birth_date"}
	for k, v := range want {
		if ie.Problems[k] != v {
			t.Errorf("%s: %q, want %q", k, ie.Problems[k], v)
		}
	}
	_, err = f.svc.Create(f.ctx, f.expert1, Input{ServicePointID: f.sp1, LastName: "X", Language: "fi",
		IdentityCode: "010594Y9032", BirthDate: day("1994-05-02")})
	if !errors.As(err, &ie) || ie.Problems["birth_date"] != "clients.error.birth_date_mismatch" {
		t.Errorf("birth date against identity code: %v", err)
	}
	if _, err := f.svc.Create(f.ctx, f.expert1, Input{ServicePointID: f.sp2, LastName: "X", Language: "fi"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("create at another service point: %v", err)
	}
	if _, err := f.svc.Create(f.ctx, f.expert1, Input{ServicePointID: f.otherSP, LastName: "X", Language: "fi"}); !errors.Is(err, ErrUnknownServicePoint) {
		t.Errorf("create at another municipality's service point: %v", err)
	}
	if _, err := f.svc.Create(f.ctx, f.expert1, Input{ServicePointID: f.sp1, LastName: "X", Language: "fi", ResponsibleStaffID: f.expert2.StaffID}); !errors.Is(err, ErrUnknownExpert) {
		t.Errorf("responsible expert of another service point: %v", err)
	}
	if n := f.owner.Count(`SELECT count(*) FROM clients`); n != 0 {
		t.Errorf("%d clients were created", n)
	}
}

func TestClientshipEndAndContinue(t *testing.T) {
	f := newFixture(t)
	c := f.create("Amina", "Warsame")
	today := f.svc.today()
	if _, err := f.svc.End(f.ctx, f.expert1, c.ID, today, "bogus"); !isInvalid(err, "reason") {
		t.Errorf("unknown reason: %v", err)
	}
	if _, err := f.svc.End(f.ctx, f.expert1, c.ID, today.AddDate(0, 0, 1), "moved"); !isInvalid(err, "on") {
		t.Errorf("end tomorrow: %v", err)
	}
	if _, err := f.svc.End(f.ctx, f.expert1, c.ID, today, "moved"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.End(f.ctx, f.expert1, c.ID, today, "moved"); !errors.Is(err, ErrAlreadyEnded) {
		t.Errorf("end twice: %v", err)
	}
	if _, err := f.svc.Continue(f.ctx, f.expert1, c.ID, today); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Continue(f.ctx, f.expert1, c.ID, today); !errors.Is(err, ErrNotEnded) {
		t.Errorf("continue an active clientship: %v", err)
	}
	r, err := f.svc.Get(f.ctx, f.expert1, c.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range r.History {
		kinds = append(kinds, e.Kind+":"+e.Reason)
	}
	if len(kinds) != 3 || kinds[0] != "started:" || kinds[1] != "ended:moved" || kinds[2] != "continued:" || r.Client.Status != StatusActive {
		t.Errorf("history %v, status %s", kinds, r.Client.Status)
	}
	if err := f.svc.AssignExpert(f.ctx, f.expert1, c.ID, f.lead1.StaffID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.AssignExpert(f.ctx, f.expert1, c.ID, f.expert2.StaffID); !errors.Is(err, ErrUnknownExpert) {
		t.Errorf("assign an expert of another service point: %v", err)
	}
	if err := f.svc.AssignExpert(f.ctx, f.expert2, c.ID, f.expert2.StaffID); !errors.Is(err, ErrForbidden) {
		t.Errorf("expert of another service point assigns: %v", err)
	}
}

func isInvalid(err error, field string) bool {
	var ie *InvalidError
	return errors.As(err, &ie) && ie.Problems[field] != ""
}

func TestContactLogKeepsEveryVersion(t *testing.T) {
	f := newFixture(t)
	c := f.create("Minh", "Nguyễn")
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := f.svc.AddContact(f.ctx, f.expert1, c.ID, ContactInput{OccurredAt: at, Channel: "phone", Summary: "Called about Kela"}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.AddContact(f.ctx, f.expert1, c.ID, ContactInput{OccurredAt: at, Channel: "fax", Summary: ""}); !isInvalid(err, "channel") || !isInvalid(err, "summary") {
		t.Errorf("bad contact: %v", err)
	}
	r, _ := f.svc.Get(f.ctx, f.expert1, c.ID, false)
	if len(r.Contacts) != 1 {
		t.Fatalf("contacts %+v", r.Contacts)
	}
	line := r.Contacts[0].ID
	if err := f.svc.CorrectContact(f.ctx, f.lead1, c.ID, line, ContactInput{OccurredAt: at, Channel: "meeting", InterpreterUsed: true,
		InterpreterLanguage: "vi", Summary: "Met about Kela"}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.CorrectContact(f.ctx, f.lead1, c.ID, line+1000, ContactInput{OccurredAt: at, Channel: "meeting", Summary: "x"}); !errors.Is(err, ErrUnknownContact) {
		t.Errorf("correct a line that does not exist: %v", err)
	}
	r, _ = f.svc.Get(f.ctx, f.expert1, c.ID, false)
	got := r.Contacts[0]
	if len(r.Contacts) != 1 || got.Version != 2 || got.Summary != "Met about Kela" || got.StaffName != "Eeva Expert" ||
		got.RecordedByName != "Liisa Lead" || len(got.Earlier) != 1 || got.Earlier[0].Summary != "Called about Kela" {
		t.Errorf("after correction: %+v", r.Contacts)
	}
}

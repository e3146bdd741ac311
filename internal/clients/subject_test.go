package clients

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/sqldb"
)

func TestExportHasEverythingAndOnlyAdminsMayAsk(t *testing.T) {
	f := newFixture(t)
	c, err := f.svc.Create(f.ctx, f.expert1, Input{ServicePointID: f.sp1, FirstNames: "Amina", LastName: "Warsame", Language: "so",
		IdentityCode: "010594Y9032", Phone: "040 765 4321", Note: "Prefers mornings"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Hour)
	if err := f.svc.AddContact(f.ctx, f.expert1, c.ID, ContactInput{OccurredAt: at, Channel: "phone", Summary: "First call"}); err != nil {
		t.Fatal(err)
	}
	r, _ := f.svc.Get(f.ctx, f.expert1, c.ID, true)
	if err := f.svc.CorrectContact(f.ctx, f.expert1, c.ID, r.Contacts[0].ID, ContactInput{OccurredAt: at, Channel: "phone", Summary: "First call, corrected"}); err != nil {
		t.Fatal(err)
	}
	f.svc.AddPart(Part{Name: "elsewhere", Export: func(_ context.Context, _ sqldb.Tx, id int64) (any, error) {
		return map[string]int64{"client": id}, nil
	}})
	for _, who := range []struct {
		name  string
		actor func() error
		want  error
	}{
		{"expert", func() error { _, err := f.svc.Export(f.ctx, f.expert1, c.ID); return err }, ErrForbidden},
		{"lead", func() error { _, err := f.svc.Export(f.ctx, f.lead1, c.ID); return err }, ErrForbidden},
		{"other municipality", func() error { _, err := f.svc.Export(f.ctx, f.otherAdmin, c.ID); return err }, sqldb.ErrNotFound},
	} {
		if err := who.actor(); !errors.Is(err, who.want) {
			t.Errorf("%s exports: %v, want %v", who.name, err, who.want)
		}
	}
	out, err := f.svc.Export(f.ctx, f.admin, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(out)
	for _, want := range []string{`"identity_code":"010594Y9032"`, `"birth_date":"1994-05-01"`, `"note":"Prefers mornings"`,
		`"summary":"First call"`, `"summary":"First call, corrected"`, `"kind":"started"`, `"action":"create"`,
		`"result":"denied"`, `"elsewhere":{"client":`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("export lacks %s:\n%s", want, b)
		}
	}
	if f.logged(f.admin, c.ID, audit.ActionExport, audit.ResultOK) != 1 || f.logged(f.expert1, c.ID, audit.ActionExport, audit.ResultDenied) != 1 {
		t.Error("the export and the refused one are not both in the access log")
	}
}

func TestEraseRemovesPersonalDataAndKeepsCounts(t *testing.T) {
	f := newFixture(t)
	c, err := f.svc.Create(f.ctx, f.expert1, Input{ServicePointID: f.sp1, FirstNames: "Oleksandr", LastName: "Shevchenko",
		NativeName: "Олександр", IdentityCode: "010594Y9032", Language: "uk", InterpreterLanguage: "uk", Phone: "040 123 4567",
		Email: "o@example.org", Note: "Note", ExternalID: "A-1", ResponsibleStaffID: f.expert1.StaffID})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.AddContact(f.ctx, f.expert1, c.ID, ContactInput{OccurredAt: time.Now().Add(-time.Hour), Channel: "meeting", Summary: "Talked about housing"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.End(f.ctx, f.expert1, c.ID, f.svc.today(), "moved"); err != nil {
		t.Fatal(err)
	}
	var erasedBy []int64
	f.svc.AddPart(Part{Name: "elsewhere", Erase: func(ctx context.Context, tx sqldb.Tx, id int64) error {
		erasedBy = append(erasedBy, id)
		// A part's erasure runs in the register's transaction: the
		// client is still readable there, under the tenant.
		var n int
		return tx.QueryRow(ctx, `SELECT count(*) FROM clients WHERE id = $1 AND last_name <> ''`, id).Scan(&n)
	}})

	if err := f.svc.Erase(f.ctx, f.admin, c.ID, false); !errors.Is(err, ErrNotConfirmed) {
		t.Errorf("unconfirmed: %v", err)
	}
	if err := f.svc.Erase(f.ctx, f.lead1, c.ID, true); !errors.Is(err, ErrForbidden) {
		t.Errorf("lead erases: %v", err)
	}
	if err := f.svc.Erase(f.ctx, f.otherAdmin, c.ID, true); !errors.Is(err, sqldb.ErrNotFound) {
		t.Errorf("other municipality erases: %v", err)
	}
	if len(erasedBy) != 0 {
		t.Fatal("a part was erased by a refused erasure")
	}
	if err := f.svc.Erase(f.ctx, f.admin, c.ID, true); err != nil {
		t.Fatal(err)
	}
	if len(erasedBy) != 1 || erasedBy[0] != c.ID {
		t.Errorf("parts erased %v", erasedBy)
	}
	var row string
	if err := f.owner.QueryRow(f.ctx, `SELECT concat_ws('|', first_names, last_name, native_name, birth_date, identity_code, phone, email,
			note, external_id, search_name, array_to_string(search_terms, ','), phone_key)
		FROM clients WHERE id = $1`, c.ID).Scan(&row); err != nil {
		t.Fatal(err)
	}
	if strings.Trim(row, "|") != "" {
		t.Errorf("personal data left: %q", row)
	}
	summaries := f.owner.Count(`SELECT count(*) FILTER (WHERE summary <> '') FROM client_contacts WHERE client_id = $1`, c.ID)
	events := f.owner.Count(`SELECT count(*) FROM clientship_events WHERE client_id = $1`, c.ID)
	var status, lang string
	if err := f.owner.QueryRow(f.ctx, `SELECT status, language FROM clients WHERE id = $1`, c.ID).Scan(&status, &lang); err != nil {
		t.Fatal(err)
	}
	if summaries != 0 || events != 2 || status != StatusEnded || lang != "uk" {
		t.Errorf("after erasure: %d summaries, %d events, status %s, language %s", summaries, events, status, lang)
	}
	// What is left is anonymous: nothing can change it, searches do not
	// list it, and the page says it was erased.
	if _, err := f.svc.Update(f.ctx, f.admin, c.ID, Input{ServicePointID: f.sp1, LastName: "Back", Language: "fi"}); !errors.Is(err, ErrErased) {
		t.Errorf("update after erasure: %v", err)
	}
	if err := f.svc.Erase(f.ctx, f.admin, c.ID, true); !errors.Is(err, ErrErased) {
		t.Errorf("erase twice: %v", err)
	}
	res, err := f.svc.Search(f.ctx, f.admin, Query{})
	if err != nil || len(res.Clients) != 0 {
		t.Errorf("search lists the erased client: %+v %v", res.Clients, err)
	}
	r, err := f.svc.Get(f.ctx, f.admin, c.ID, true)
	if err != nil || !r.Client.Erased {
		t.Errorf("page after erasure: %+v %v", r.Client, err)
	}
	if f.logged(f.admin, c.ID, audit.ActionDelete, audit.ResultOK) != 1 || f.logged(f.lead1, c.ID, audit.ActionDelete, audit.ResultDenied) != 1 {
		t.Error("the erasure and the refused one are not both in the access log")
	}
	// The access-log extract still names the client's id and every access.
	_, entries, err := f.svc.AccessLog(f.ctx, f.admin, c.ID)
	if err != nil || len(entries) < 5 {
		t.Errorf("extract: %d entries, %v", len(entries), err)
	}
}

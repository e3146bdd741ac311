package clients

import (
	"testing"

	"github.com/koto-portal/portal/internal/sqldb"
)

// Names as people really have them, written in Latin letters by several
// conventions: each query must find its person among the first results.
func TestSearchFindsNameVariants(t *testing.T) {
	f := newFixture(t)
	people := map[string]Client{}
	for _, n := range [][2]string{
		{"Mohammed Ali", "Hassan"}, {"Oleksandr", "Shevchenko"}, {"Văn Minh", "Nguyễn"}, {"Matti", "Järvinen"},
		{"Aleksandr", "Ivanov"}, {"Fatima", "Al-Sayed"}, {"Hussein", "Abdi"}, {"Maria", "Virtanen"}, {"Ali", "Rahimi"},
		{"Muhammad", "Yusuf"}, {"Anna", "Korhonen"}, {"Mikko", "Jarvi"},
	} {
		people[n[0]+" "+n[1]] = f.create(n[0], n[1])
	}
	phone, err := f.svc.Create(f.ctx, f.expert1, Input{ServicePointID: f.sp1, FirstNames: "Ahmed", LastName: "Warsame", Language: "so", Phone: "+358 40 765 4321"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		query string
		want  string
	}{
		{"Muhammad Hassan", "Mohammed Ali Hassan"},
		{"hassan mohamed", "Mohammed Ali Hassan"},
		{"MOHAMMAD", "Mohammed Ali Hassan"},
		{"Aleksandr Shevchenko", "Oleksandr Shevchenko"},
		{"Alexander Ivanov", "Aleksandr Ivanov"},
		{"Nguyen", "Văn Minh Nguyễn"},
		{"minh nguyễn", "Văn Minh Nguyễn"},
		{"Jarvinen", "Matti Järvinen"},
		{"järvinen matti", "Matti Järvinen"},
		{"Husain Abdi", "Hussein Abdi"},
		{"al sayed", "Fatima Al-Sayed"},
		{"Virtanan", "Maria Virtanen"}, // a typo
		{"korh", "Anna Korhonen"},      // the start of a name
	}
	for _, c := range cases {
		res, err := f.svc.Search(f.ctx, f.expert1, Query{Text: c.query, Limit: 3})
		if err != nil {
			t.Fatalf("%q: %v", c.query, err)
		}
		var names []string
		found := false
		for _, r := range res.Clients {
			names = append(names, r.FirstNames+" "+r.LastName)
			found = found || r.ID == people[c.want].ID
		}
		if !found {
			t.Errorf("%q: %v, want %s among the first three", c.query, names, c.want)
		}
	}
	for _, q := range []string{"040 765 4321", "+358407654321", "0407654321", "765-43", "(040) 7654321"} {
		res, err := f.svc.Search(f.ctx, f.expert1, Query{Text: q})
		if err != nil || len(res.Clients) != 1 || res.Clients[0].ID != phone.ID {
			t.Errorf("phone %q: %+v %v", q, res.Clients, err)
		}
	}
	// Another service point's expert and another municipality find nobody.
	for _, who := range []struct {
		name string
		q    Query
	}{{"expert2", Query{Text: "Hassan"}}, {"other", Query{}}} {
		actor := f.expert2
		if who.name == "other" {
			actor = f.otherAdmin
		}
		res, err := f.svc.Search(f.ctx, actor, who.q)
		if err != nil || len(res.Clients) != 0 {
			t.Errorf("%s: %d clients, %v", who.name, len(res.Clients), err)
		}
	}
}

func TestSearchFiltersAndPages(t *testing.T) {
	f := newFixture(t)
	for _, n := range []string{"Aalto", "Berg", "Castro", "Diaz", "Eklund"} {
		f.create("Sami", n)
	}
	ended := f.create("Sami", "Forsman")
	if _, err := f.svc.End(f.ctx, f.expert1, ended.ID, f.svc.today(), "moved"); err != nil {
		t.Fatal(err)
	}
	mine := f.create("Sami", "Gustafsson")
	if err := f.svc.AssignExpert(f.ctx, f.expert1, mine.ID, f.expert1.StaffID); err != nil {
		t.Fatal(err)
	}
	page, err := f.svc.Search(f.ctx, f.expert1, Query{Limit: 3})
	if err != nil || len(page.Clients) != 3 || !page.More || page.Clients[0].LastName != "Aalto" {
		t.Fatalf("first page: %+v %v", page, err)
	}
	last, err := f.svc.Search(f.ctx, f.expert1, Query{Limit: 3, Offset: 6})
	if err != nil || len(last.Clients) != 1 || last.More || last.Clients[0].LastName != "Gustafsson" {
		t.Errorf("last page: %+v %v", last, err)
	}
	res, _ := f.svc.Search(f.ctx, f.expert1, Query{Status: StatusEnded})
	if len(res.Clients) != 1 || res.Clients[0].ID != ended.ID {
		t.Errorf("ended: %+v", res.Clients)
	}
	res, _ = f.svc.Search(f.ctx, f.expert1, Query{Text: "sami", ExpertID: f.expert1.StaffID})
	if len(res.Clients) != 1 || res.Clients[0].ID != mine.ID {
		t.Errorf("mine: %+v", res.Clients)
	}
	if f.logged(f.expert1, 0, "read", "ok") < 4 {
		t.Error("searches are not in the access log")
	}
}

// The candidates are read past row-level security (its policy would keep
// the search indexes out of use), so koto_search_clients must hold to the
// tenant itself: the same call finds the client in its own municipality,
// and nothing in another one or in a transaction with no tenant, by name
// or by phone.
func TestSearchCandidatesStayInTheTenant(t *testing.T) {
	f := newFixture(t)
	if _, err := f.svc.Create(f.ctx, f.expert1, Input{ServicePointID: f.sp1, FirstNames: "Mohammed", LastName: "Hassan", Language: "ar", Phone: "040 765 4321"}); err != nil {
		t.Fatal(err)
	}
	calls := map[string]string{
		"name":  `SELECT count(*) FROM koto_search_clients('{hassan}', '{hsn}', '', true, '{}', '', 0, 0, 100)`,
		"phone": `SELECT count(*) FROM koto_search_clients(NULL, NULL, '7654321', true, '{}', '', 0, 0, 100)`,
	}
	for what, call := range calls {
		count := func(in func(func(sqldb.Tx) error) error) int {
			var n int
			if err := in(func(tx sqldb.Tx) error { return tx.QueryRow(f.ctx, call).Scan(&n) }); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			return n
		}
		inTenant := func(tenant int64) func(func(sqldb.Tx) error) error {
			return func(fn func(sqldb.Tx) error) error { return f.db.InTenant(f.ctx, tenant, fn) }
		}
		noTenant := func(fn func(sqldb.Tx) error) error { return f.db.Tx(f.ctx, fn) }
		if own, other, none := count(inTenant(f.tenant)), count(inTenant(f.other)), count(noTenant); own != 1 || other != 0 || none != 0 {
			t.Errorf("%s: %d found in its municipality (want 1), %d in another, %d with no tenant (want 0)", what, own, other, none)
		}
	}
}

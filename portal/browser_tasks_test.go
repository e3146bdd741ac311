package portal_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/browsertest"
	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/tasks"
	"github.com/koto-portal/portal/portal/portaltest"
)

// press focuses a control and presses Enter on it, as a keyboard user does.
func press(ctx context.Context, t testing.TB, sel string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, browsertest.StepTimeout)
	defer cancel()
	if err := chromedp.Do(sctx, chromedp.Focus(chromedp.CSS(sel)), chromedp.KeyEvent("\r")); err != nil {
		t.Fatalf("press Enter on %q: %v", sel, err)
	}
}

// An expert watching the pool sees a new task appear without a reload,
// with a notice a screen reader announces; takes it and marks it done from
// the keyboard, and the navigation's count follows. axe finds nothing
// serious on the pool or on "my tasks".
func TestExpertSeesTaskLiveClaimsAndCompletes(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	staff := browsertest.New(t)
	browserLogin(staff, t, in.URL, demo.ExpertEmail, demoPassword)
	browsertest.Open(staff, t, in.URL+"/staff/tasks/pool/"+demo.ServicePoint+"?lang=en")
	waitText(staff, t, "#task-live", "No tasks in the pool match.")
	waitText(staff, t, "#task-count", "0")
	browsertest.Axe(staff, t)

	var tenant, sp int64
	if err := withOwner(t, in.OwnerURL, func(c *pgx.Conn) error {
		return c.QueryRow(context.Background(), `SELECT municipality_id, id FROM service_points WHERE slug = $1`, demo.ServicePoint).Scan(&tenant, &sp)
	}); err != nil {
		t.Fatal(err)
	}
	err := in.DB.InTenant(context.Background(), tenant, func(tx sqldb.Tx) error {
		_, _, err := in.Tasks.Create(context.Background(), tx, tasks.New{Kind: tasks.KindWalkIn, ServicePointID: sp,
			Details: "Bring the letter from Kela"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	waitText(staff, t, "#task-live", "Walk-in visit to follow up")
	waitText(staff, t, "#task-notice", "A new task in the pool.")
	if got := browsertest.Attr(staff, t, "#task-notice", "aria-live"); got != "polite" {
		t.Fatalf("the notice is aria-live=%q", got)
	}
	browsertest.Screenshot(staff, t, "tasks-pool-live")

	press(staff, t, `#task-live form[action$="/claim"] button`)
	waitText(staff, t, "main", "You took the task.")
	waitText(staff, t, "#task-live", "No tasks in the pool match.")
	waitText(staff, t, "#task-count", "1")

	browsertest.Open(staff, t, in.URL+"/staff/tasks")
	waitText(staff, t, "#task-live", "Walk-in visit to follow up")
	waitText(staff, t, "#task-live", "In progress")
	browsertest.Axe(staff, t)
	press(staff, t, `#task-live form[action$="/complete"] button`)
	waitText(staff, t, "main", "The task is done.")
	waitText(staff, t, "#task-live", "You have no tasks that match.")
	waitText(staff, t, "#task-count", "0")
	if got := browsertest.Attr(staff, t, "html", "lang"); got != "en" {
		t.Fatalf("the page turned %q", got)
	}
}

// The summary of a client's situation, in Finnish and in English, each
// page in one language and accessible.
func TestClientSummaryInBrowser(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	var client int64
	if err := withOwner(t, in.OwnerURL, func(c *pgx.Conn) error {
		return c.QueryRow(context.Background(), `INSERT INTO clients (municipality_id, service_point_id, first_names, last_name, native_name, language,
				responsible_staff_id)
			SELECT sp.municipality_id, sp.id, 'Oleksandr', 'Kovalenko', 'Олександр Коваленко', 'uk', s.id
			FROM service_points sp, staff s WHERE sp.slug = $1 AND s.email = $2 RETURNING id`, demo.ServicePoint, demo.ExpertEmail).Scan(&client)
	}); err != nil {
		t.Fatal(err)
	}
	staff := browsertest.New(t)
	browserLogin(staff, t, in.URL, demo.ExpertEmail, demoPassword)
	for lang, title := range map[string]string{"fi": "Kooste: Oleksandr Kovalenko", "en": "Summary: Oleksandr Kovalenko"} {
		browsertest.Open(staff, t, in.URL+"/staff/clients/"+itoa(client)+"/summary?lang="+lang)
		waitText(staff, t, "h1", title)
		if got := browsertest.Attr(staff, t, "html", "lang"); got != lang {
			t.Fatalf("the %s summary says lang=%q", lang, got)
		}
		browsertest.Axe(staff, t)
		browsertest.Screenshot(staff, t, "client-summary-"+lang)
	}
}

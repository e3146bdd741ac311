package stats

import (
	"errors"
	"testing"

	"github.com/koto-portal/portal/internal/tasks"
)

// "Needs follow-up" on the visit form makes a task in the visit's own
// transaction, for the pool or for the expert, and the task carries
// nothing that joins it back to the anonymous visit.
func TestVisitFollowUpBecomesATask(t *testing.T) {
	f := newFixture(t)
	svc := New(f.db, tasks.NewService(f.db, nil))
	var staff int64
	if err := f.owner.QueryRow(f.ctx, `INSERT INTO staff (municipality_id, email, name, password_hash)
		VALUES ($1, 'follow-up@example.org', 'Expert', 'x') RETURNING id`, f.tenant).Scan(&staff); err != nil {
		t.Fatal(err)
	}
	if _, err := f.owner.Exec(f.ctx, `INSERT INTO staff_roles (municipality_id, staff_id, service_point_id, role)
		VALUES ($1, $2, $3, 'expert')`, f.tenant, staff, f.sp1); err != nil {
		t.Fatal(err)
	}
	actor := expertAt(f.tenant, f.sp1)
	actor.StaffID = staff
	var slug string
	if err := f.owner.QueryRow(f.ctx, `SELECT slug FROM service_points WHERE id = $1`, f.sp1).Scan(&slug); err != nil {
		t.Fatal(err)
	}
	type row struct {
		assignee       *int64
		kind, details  string
		client, ticket *int64
		facts          string
		source         *string
		createdBy      *int64
	}
	read := func() []row {
		rows, err := f.owner.Query(f.ctx, `SELECT assignee_id, kind, details, client_id, ticket_id, facts::text, source_key, created_by
			FROM tasks ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.assignee, &r.kind, &r.details, &r.client, &r.ticket, &r.facts, &r.source, &r.createdBy); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		return out
	}

	if _, err := svc.Record(f.ctx, actor, slug, Visit{TicketID: f.doneTicket(), TopicIDs: []int64{f.topicA}, Language: "ar",
		FollowUp: &FollowUp{Note: "Bring the letter from Kela"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Record(f.ctx, actor, slug, Visit{Channel: ChannelPhone, TopicIDs: []int64{f.topicB}, Language: "fi",
		FollowUp: &FollowUp{Note: "Call back on Monday", ToMe: true}}); err != nil {
		t.Fatal(err)
	}
	// A visit that is refused makes no task either.
	var rejected *ValidationError
	if _, err := svc.Record(f.ctx, actor, slug, Visit{Channel: ChannelPhone, Language: "fi",
		FollowUp: &FollowUp{Note: "never"}}); !errors.As(err, &rejected) {
		t.Fatalf("a visit without topics: %v", err)
	}

	got := read()
	if len(got) != 2 {
		t.Fatalf("%d tasks, want 2", len(got))
	}
	if got[0].assignee != nil || got[1].assignee == nil || *got[1].assignee != staff {
		t.Fatalf("assignees: pool %v, expert %v", got[0].assignee, got[1].assignee)
	}
	for i, r := range got {
		if r.kind != string(tasks.KindWalkIn) || r.client != nil || r.ticket != nil || r.facts != "{}" || r.source != nil {
			t.Errorf("task %d links back to its visit: %+v", i, r)
		}
		if r.createdBy == nil || *r.createdBy != staff {
			t.Errorf("task %d: created by %v", i, r.createdBy)
		}
	}
	if got[0].details != "Bring the letter from Kela" || got[1].details != "Call back on Monday" {
		t.Errorf("notes: %q, %q", got[0].details, got[1].details)
	}
}

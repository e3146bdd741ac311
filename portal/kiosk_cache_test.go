package portal_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/config"
	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/portal/portaltest"
)

// twoKioskInstances are two instances on one database in demo mode, as
// behind a load balancer.
func twoKioskInstances(t *testing.T) []*portaltest.Instance {
	one := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	two := portaltest.Start(t, portaltest.WithDatabase(one.OwnerURL), portaltest.WithConfig(func(c *config.Config) { c.Demo = true }))
	return []*portaltest.Instance{one, two}
}

// demoAdmin is the demo's admin as the set-up service knows them.
func demoAdmin(t *testing.T, ownerURL string) auth.Principal {
	t.Helper()
	var p auth.Principal
	err := withOwner(t, ownerURL, func(c *pgx.Conn) error {
		ctx := context.Background()
		if err := c.QueryRow(ctx, `SELECT id, municipality_id FROM staff WHERE email = $1`, demo.AdminEmail).Scan(&p.StaffID, &p.Tenant); err != nil {
			return err
		}
		rows, err := c.Query(ctx, `SELECT role, coalesce(service_point_id, 0) FROM staff_roles WHERE staff_id = $1`, p.StaffID)
		if err != nil {
			return err
		}
		p.Grants, err = pgx.CollectRows(rows, pgx.RowToStructByPos[auth.Grant])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// kioskTopics fetches the demo kiosk's Finnish topic page with cookie
// ("" for the demo's own kiosk) and returns its status and body.
func kioskTopics(t *testing.T, base, cookie string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/kiosk/demo?lang=fi", nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := kioskClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// within polls ok for up to the NOTIFY latency the kiosk cache relies on.
func within(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 2 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The kiosk page keeps its service point's set-up in memory; a topic
// renamed through the set-up shows at once on the instance that made the
// change and on another one, both of which had the old name in memory.
func TestKioskShowsRenamedTopicAtOnceOnEveryInstance(t *testing.T) {
	ins := twoKioskInstances(t)
	ctx := context.Background()
	setup := org.New(ins[0].DB, auth.New(ins[0].DB, nil))
	admin := demoAdmin(t, ins[0].OwnerURL)
	_, topics, err := setup.Topics(ctx, admin, demo.ServicePoint)
	if err != nil || len(topics) == 0 {
		t.Fatalf("topics: %v (%d)", err, len(topics))
	}
	topic := topics[0]
	for i, in := range ins {
		status, page := kioskTopics(t, in.URL, "")
		if status != http.StatusOK || !strings.Contains(page, topic.Labels["fi"]) {
			t.Fatalf("instance %d before: %d without %q", i+1, status, topic.Labels["fi"])
		}
	}

	renamed := "Uudelleen nimetty asia"
	topic.Labels = org.Labels{"fi": renamed, "en": "Renamed topic"}
	if err := setup.SaveTopic(ctx, admin, demo.ServicePoint, &topic); err != nil {
		t.Fatal(err)
	}
	for i, in := range ins {
		within(t, "the new name on instance "+itoa(int64(i+1)), func() bool {
			status, page := kioskTopics(t, in.URL, "")
			return status == http.StatusOK && strings.Contains(page, renamed)
		})
	}
}

// A kiosk whose set-up both instances hold in memory is refused on both
// as soon as it is revoked.
func TestKioskRevokedIsRefusedAtOnceOnEveryInstance(t *testing.T) {
	ins := twoKioskInstances(t)
	ctx := context.Background()
	setup := org.New(ins[0].DB, auth.New(ins[0].DB, nil))
	admin := demoAdmin(t, ins[0].OwnerURL)
	_, code, err := setup.CreateDevice(ctx, admin, demo.ServicePoint, auth.KindKiosk, "Välimuistin kioski")
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := pairDevice(t, ins[0], "/kiosk/pair", code.Code)
	c := deviceToken(t, resp)
	cookie := c.Name + "=" + c.Value
	for i, in := range ins {
		// Twice, so that the second answer comes from memory.
		for range 2 {
			if status, page := kioskTopics(t, in.URL, cookie); status != http.StatusOK || !strings.Contains(page, "kiosk-topics") {
				t.Fatalf("instance %d: the paired kiosk got %d", i+1, status)
			}
		}
	}

	if err := setup.RevokeDevice(ctx, admin, demo.ServicePoint, code.DeviceID); err != nil {
		t.Fatal(err)
	}
	for i, in := range ins {
		within(t, "refusal on instance "+itoa(int64(i+1)), func() bool {
			status, page := kioskTopics(t, in.URL, cookie)
			return status != http.StatusOK && !strings.Contains(page, "kiosk-topics")
		})
	}
}

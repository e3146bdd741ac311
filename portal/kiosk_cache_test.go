package portal_test

import (
	"context"
	"html"
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

// kioskPage fetches a kiosk screen of the demo kiosk with the given CSRF
// cookie and returns its body.
func kioskPage(t *testing.T, base, path, csrf string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("Cookie", "koto_csrf="+csrf)
	resp, err := kioskClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	return string(b)
}

// The screens before the tap are drawn once per set-up and language and
// then written from memory with the visitor's own CSRF token and one-time
// key: what a visitor gets from memory must be exactly the full drawing.
// A token no escaper leaves alone (a forged cookie) is always drawn in
// full, which gives the drawing to compare with.
func TestKioskScreensFromMemoryAreTheFullDrawing(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	topic := firstTopic(t, in.OwnerURL)
	safe := strings.Repeat("Ab0_-", 8)
	forged := strings.Repeat("Ab0.+", 8)
	for _, path := range []string{"/kiosk/demo", "/kiosk/demo?lang=fi", "/kiosk/demo?lang=ar",
		"/kiosk/demo?lang=en&topic=" + itoa(topic)} {
		var kept []string
		for range 3 {
			kept = append(kept, kioskPage(t, in.URL, path, safe))
		}
		full := kioskPage(t, in.URL, path, forged)
		// The one-time key differs on every drawing of the last screen.
		keys := keyField.FindAllStringSubmatch(strings.Join(kept, ""), -1)
		want := strings.ReplaceAll(full, "Ab0.&#43;", "Ab0_-")
		if k := keyField.FindStringSubmatch(full); k != nil {
			if len(keys) != len(kept) || keys[0][1] == keys[1][1] {
				t.Fatalf("%s: one-time keys %v, want a new one each time", path, keys)
			}
			for i := range kept {
				kept[i] = strings.Replace(kept[i], keys[i][1], k[1], 1)
			}
		}
		if !strings.Contains(full, "Ab0.&#43;") || !strings.Contains(kept[0], safe) {
			t.Fatalf("%s: the CSRF token is not on the page", path)
		}
		for i, page := range kept {
			if page != want {
				t.Fatalf("%s: drawing %d from memory differs from the full drawing:\n%s\n---\n%s", path, i+1, page, want)
			}
		}
	}
}

// A screen kept in one language is not shown in another: each language
// is drawn in its own words and direction.
func TestKioskKeptScreenFollowsTheLanguage(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	label := queryString(t, in.OwnerURL, `SELECT labels->>'sv' FROM topics ORDER BY position, id LIMIT 1`)
	for range 2 {
		fi := kioskPage(t, in.URL, "/kiosk/demo?lang=fi", strings.Repeat("a", 43))
		sv := kioskPage(t, in.URL, "/kiosk/demo?lang=sv", strings.Repeat("a", 43))
		ar := kioskPage(t, in.URL, "/kiosk/demo?lang=ar", strings.Repeat("a", 43))
		if !strings.Contains(fi, `<html lang="fi" dir="ltr">`) || !strings.Contains(sv, `<html lang="sv" dir="ltr">`) ||
			!strings.Contains(ar, `<html lang="ar" dir="rtl">`) || !strings.Contains(sv, html.EscapeString(label)) {
			t.Fatalf("the topic screens do not follow the language (Swedish label %q)", label)
		}
	}
}

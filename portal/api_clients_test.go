package portal_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/api"
)

type transferRow struct {
	Index      int
	ExternalID string `json:"external_id"`
	Outcome    string
	ID         *int64
	Errors     []struct{ Field, Code string }
}

type transferResult struct {
	Created, Updated, Unchanged, Invalid int
	Results                              []transferRow
}

// transferBatch is call b of the big transfer: a thousand clients, and
// in each call one bad row of another kind.
func transferBatch(sp int64, b int, phoneSuffix string) []map[string]any {
	rows := make([]map[string]any, 0, 1000)
	names := []string{"Mohammed Ali", "Oleksandr Kovalenko", "Nguyễn Văn An", "Aino Järvinen", "Fatima Hassan"}
	for i := range 1000 {
		n := b*1000 + i
		rows = append(rows, map[string]any{
			"external_id": fmt.Sprintf("ext-%05d", n), "service_point_id": sp,
			"first_names": names[n%len(names)], "last_name": fmt.Sprintf("Transfer%05d", n),
			"language": []string{"fi", "ar", "so", "uk", "ru"}[n%5], "birth_date": "1990-05-17",
			"phone": "040 123 " + strconv.Itoa(1000+n%9000) + phoneSuffix,
		})
	}
	// One bad row per call, each kind in turn.
	bad := rows[500]
	switch b % 5 {
	case 0:
		bad["birth_date"] = "1990-02-31"
	case 1:
		bad["language"] = "xx"
	case 2:
		bad["external_id"] = rows[499]["external_id"] // twice in one call
	case 3:
		bad["birth_date"] = "2999-01-01"
	case 4:
		bad["phone"] = "not a phone"
	}
	return rows
}

func TestAPIClientTransferTenThousandTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("ten thousand clients: not in -short")
	}
	f := startAPI(t)
	_, key := f.key(t, f.admin, 0, api.ScopeClientsWrite, api.ScopeClientsRead)
	run := func(round int, phoneSuffix string) (total transferResult, took time.Duration) {
		start := time.Now()
		for b := range 10 {
			a := f.c.do("POST", "/clients/transfer", key, map[string]any{"clients": transferBatch(f.demoSP, b, phoneSuffix)},
				"Idempotency-Key", fmt.Sprintf("round-%d-batch-%d", round, b))
			if a.Status != http.StatusOK {
				t.Fatalf("round %d call %d: %d %s", round, b, a.Status, a.Body[:min(len(a.Body), 500)])
			}
			var r transferResult
			a.decode(t, &r)
			if r.Invalid != 1 || len(r.Results) != 1000 || r.Results[500].Outcome != "invalid" || len(r.Results[500].Errors) == 0 {
				t.Fatalf("round %d call %d: %d invalid, row 500 %+v; want exactly the bad row reported", round, b, r.Invalid, r.Results[500])
			}
			total.Created += r.Created
			total.Updated += r.Updated
			total.Unchanged += r.Unchanged
			total.Invalid += r.Invalid
		}
		return total, time.Since(start)
	}
	first, took1 := run(1, "")
	if first.Created != 9990 || first.Invalid != 10 {
		t.Fatalf("first round %+v, want 9990 created and 10 refused", first)
	}
	same, took2 := run(2, "")
	if same.Unchanged != 9990 || same.Created+same.Updated != 0 {
		t.Fatalf("the same data again %+v, want all unchanged", same)
	}
	changed, took3 := run(3, "0")
	if changed.Updated != 9990 || changed.Created != 0 {
		t.Fatalf("changed phones %+v, want all updated", changed)
	}
	t.Logf("10,000 clients in 10 calls: %s first, %s again unchanged, %s with every phone changed", took1.Round(time.Millisecond),
		took2.Round(time.Millisecond), took3.Round(time.Millisecond))
	var n, distinct int
	if err := f.owner.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT external_id) FROM clients WHERE external_id LIKE 'ext-%'`).
		Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != 9990 || distinct != n {
		t.Errorf("%d clients, %d external ids: want 9990 of each", n, distinct)
	}
}

func TestAPIClientReadsAreScopedAndLogged(t *testing.T) {
	f := startAPI(t)
	keyInfo, key := f.key(t, f.admin, 0, api.ScopeClientsRead, api.ScopeClientsWrite)
	_, noRead := f.key(t, f.admin, 0, api.ScopeStatsRead)
	_, otherKey := f.key(t, f.otherAdmin, 0, api.Scopes...)
	a := f.c.do("POST", "/clients/transfer", key, map[string]any{"clients": []map[string]any{
		{"external_id": "A-1", "service_point_id": f.demoSP, "first_names": "Muhammad", "last_name": "Abdullahi", "language": "so", "phone": "+358 40 765 4321"},
		{"external_id": "A-2", "service_point_id": f.otherSP, "first_names": "Elsewhere", "language": "fi"},
	}})
	var r transferResult
	a.decode(t, &r)
	if r.Created != 1 || r.Results[1].Outcome != "invalid" {
		t.Fatalf("transfer %+v: another municipality's service point must be refused", r)
	}
	id := *r.Results[0].ID
	path := "/clients/" + strconv.FormatInt(id, 10)

	got := f.c.do("GET", path, key, nil)
	var cl struct {
		ExternalID string `json:"external_id"`
		Language   string
	}
	got.decode(t, &cl)
	if got.Status != http.StatusOK || cl.ExternalID != "A-1" || cl.Language != "so" {
		t.Fatalf("get: %d %s", got.Status, got.Body)
	}
	var logged int
	if err := f.owner.QueryRow(context.Background(), `SELECT count(*) FROM access_log WHERE api_key_id = $1 AND subject_kind = 'client'
		AND subject_id = $2 AND action = 'read' AND staff_id IS NULL`, keyInfo.ID, id).Scan(&logged); err != nil {
		t.Fatal(err)
	}
	if logged != 1 {
		t.Errorf("%d access-log rows of the key's read, want 1", logged)
	}
	if a := f.c.do("GET", path, noRead, nil); a.Status != http.StatusForbidden {
		t.Errorf("without clients:read: %d", a.Status)
	}
	if a := f.c.do("GET", path, otherKey, nil); a.Status != http.StatusNotFound {
		t.Errorf("another municipality's key: %d", a.Status)
	}

	// The staff screens' search: the name as it is spelt differently.
	var list struct {
		Data []struct{ ID int64 }
	}
	f.c.do("GET", "/clients?q="+url.QueryEscape("mohammed abdullahi"), key, nil).decode(t, &list)
	if len(list.Data) == 0 || list.Data[0].ID != id {
		t.Errorf("search for a variant spelling: %+v", list.Data)
	}
	f.c.do("GET", "/clients?q="+url.QueryEscape("Abdullahi"), otherKey, nil).decode(t, &list)
	if len(list.Data) != 0 {
		t.Errorf("another municipality's key found %+v", list.Data)
	}
	if a := f.c.do("GET", "/clients?cursor=bogus", key, nil); a.Status != http.StatusBadRequest {
		t.Errorf("a made-up cursor: %d", a.Status)
	}
}

func TestAPIClientListPagesWithACursor(t *testing.T) {
	f := startAPI(t)
	_, key := f.key(t, f.admin, 0, api.ScopeClientsRead, api.ScopeClientsWrite)
	rows := make([]map[string]any, 7)
	for i := range rows {
		rows[i] = map[string]any{"external_id": fmt.Sprintf("P-%d", i), "service_point_id": f.demoSP, "last_name": fmt.Sprintf("Pager%d", i), "language": "fi"}
	}
	f.c.do("POST", "/clients/transfer", key, map[string]any{"clients": rows})
	seen := map[int64]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		q := "/clients?limit=3"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		var page struct {
			Data       []struct{ ID int64 }
			NextCursor *string `json:"next_cursor"`
		}
		f.c.do("GET", q, key, nil).decode(t, &page)
		for _, c := range page.Data {
			if seen[c.ID] {
				t.Fatalf("client %d on two pages", c.ID)
			}
			seen[c.ID] = true
		}
		if page.NextCursor == nil || pages > 5 {
			break
		}
		cursor = *page.NextCursor
	}
	if len(seen) != 7 {
		t.Errorf("paged through %d clients, want 7", len(seen))
	}
}

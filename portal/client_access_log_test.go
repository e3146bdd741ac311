package portal_test

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/koto-portal/portal/internal/demo"
)

// clientRoutesWithoutData are the client routes that show no client's
// data, and so write no access-log row, with the reason.
var clientRoutesWithoutData = map[string]string{
	"GET /staff/clients/new":    "an empty form",
	"GET /staff/clients/import": "an empty form",
}

// clientRoutesWalkedElsewhere are the client routes whose request here
// cannot reach the data, and the test that checks their access log.
var clientRoutesWalkedElsewhere = map[string]string{
	"POST /staff/clients/import": "a file upload (the matrix's request has no file): TestClientImportScreen",
}

// Every client route, walked as the admin with the authorization matrix's
// requests, writes an access-log row about the client it read, changed or
// exported (a search, one about no client in particular); a refused
// request writes a "denied" row. A client route added later is walked too.
func TestEveryClientRouteWritesTheAccessLog(t *testing.T) {
	f := &azFixture{}
	in := secStart(t, azSeed(f))
	owner := secOwner(t, in)
	ctx := context.Background()
	admin := newSecBrowser(t, in)
	admin.login(demo.AdminEmail)

	var keys []string
	for key := range azRoutes(t, in) {
		if _, path, _ := strings.Cut(key, " "); strings.HasPrefix(path, "/staff/clients") {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	if len(keys) < 10 {
		t.Fatalf("found only %d client routes: %v", len(keys), keys)
	}
	lastID := func() int64 {
		var id int64
		if err := owner.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM access_log`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	for _, key := range keys {
		if _, ok := clientRoutesWalkedElsewhere[key]; ok {
			continue
		}
		e, ok := matrix[key]
		if !ok {
			t.Errorf("%s has no matrix entry to walk it with", key)
			continue
		}
		method, pattern, _ := strings.Cut(key, " ")
		path, params, form, hdr := e.request(t, in, f, admin, method, pattern, azAdmin)
		before := lastID()
		r := admin.do(method, path, form, hdr)
		if r.Status >= 400 {
			t.Errorf("%s: %d", key, r.Status)
			continue
		}
		var subject int64 // the client the request is about; 0: none in particular
		switch {
		case params["id"] != "":
			subject, _ = strconv.ParseInt(params["id"], 10, 64)
		case key == "POST /staff/clients/new":
			id := strings.TrimPrefix(strings.Split(r.Location, "?")[0], "/staff/clients/")
			if subject, _ = strconv.ParseInt(id, 10, 64); subject == 0 {
				t.Errorf("%s went to %q", key, r.Location)
			}
		}
		var rows int
		if err := owner.QueryRow(ctx, `SELECT count(*) FROM access_log WHERE id > $1 AND subject_kind = 'client'
			AND coalesce(subject_id, 0) = $2 AND result = 'ok' AND staff_id = $3`, before, subject, f.staffIDs[azAdmin]).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if reason, exempt := clientRoutesWithoutData[key]; exempt {
			if rows != 0 {
				t.Errorf("%s (%s) wrote %d access-log rows", key, reason, rows)
			}
		} else if rows == 0 {
			t.Errorf("%s wrote no access-log row about client %d", key, subject)
		}
	}

	// A refusal is logged too.
	expert := newSecBrowser(t, in)
	expert.login(demo.ExpertEmail)
	before := lastID()
	if r := expert.get("/staff/clients/" + azID(f.client) + "/export"); r.Status != http.StatusForbidden {
		t.Fatalf("expert exports: %d", r.Status)
	}
	var denied int
	if err := owner.QueryRow(ctx, `SELECT count(*) FROM access_log WHERE id > $1 AND subject_kind = 'client' AND subject_id = $2
		AND action = 'export' AND result = 'denied'`, before, f.client).Scan(&denied); err != nil || denied != 1 {
		t.Errorf("the refused export wrote %d denied rows (%v)", denied, err)
	}
}

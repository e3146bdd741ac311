package clients

import (
	"context"
	"testing"

	"github.com/koto-portal/portal/internal/events"
	"github.com/koto-portal/portal/internal/sqldb"
)

// calls keeps what a service told of, a call at a time.
type calls struct{ got []events.Data }

func (c *calls) Emit(_ context.Context, _ sqldb.Tx, event string, data ...events.Data) error {
	for _, d := range data {
		c.got = append(c.got, events.Data{event + ":" + "client_id": d["client_id"], "call": int64(len(data))})
	}
	return nil
}

// A bulk upsert tells of its new and changed clients, one call for each
// kind, and of nothing for rows unchanged or refused.
func TestUpsertTellsOfItsClientsInOneCallEach(t *testing.T) {
	f := newFixture(t)
	rec := &calls{}
	f.svc.UseEvents(rec)
	rows := []Input{
		{ExternalID: "E-1", ServicePointID: f.sp1, LastName: "Ali", Language: "so"},
		{ExternalID: "E-2", ServicePointID: f.sp1, LastName: "Hassan", Language: "ar"},
		{ExternalID: "E-3", ServicePointID: f.sp1, LastName: "Bad", Language: "xx"},
	}
	res, err := f.svc.Upsert(f.ctx, f.lead1, rows)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.got) != 2 || rec.got[0][events.ClientCreated+":client_id"] != res[0].ID ||
		rec.got[1][events.ClientCreated+":client_id"] != res[1].ID || rec.got[0]["call"] != 2 {
		t.Fatalf("first upsert told of %v, want both new clients in one call", rec.got)
	}
	rec.got = nil
	rows[1].Phone = "040 123 4567"
	if _, err := f.svc.Upsert(f.ctx, f.lead1, rows); err != nil {
		t.Fatal(err)
	}
	if len(rec.got) != 1 || rec.got[0][events.ClientUpdated+":client_id"] != res[1].ID {
		t.Errorf("second upsert told of %v, want only the changed client", rec.got)
	}
}

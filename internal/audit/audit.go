// Package audit owns the access log: an append-only record of every read,
// change or export of personal data (who, municipality, subject, action,
// purpose, result, when). It never holds identity codes or secrets. Other
// packages Write to it inside their own transactions; who may read it is
// org's call.
package audit

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/koto-portal/portal/internal/sqldb"
)

// Actions.
const (
	ActionRead   = "read"
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
	ActionExport = "export"
	ActionSignIn = "signin" // a sign-in step: password, second factor, provider
)

// Results.
const (
	ResultOK     = "ok"
	ResultDenied = "denied"
)

// Entry is one access-log row.
type Entry struct {
	ID          int64
	At          time.Time
	Tenant      int64
	StaffID     int64  // 0 when no staff member acted
	APIKeyID    int64  // the API key that acted, when one did
	StaffName   string // or the API key's name
	SubjectKind string // "staff", "client", …
	SubjectID   int64
	Action      string
	Purpose     string
	Result      string
	ClientAddr  netip.Addr // the person's device, when a request carried the access
}

type clientAddrKey struct{}

// WithClientAddr makes every entry written under ctx name the address of
// the person's device: the web layer sets it once per request, so no
// domain call has to pass it along.
func WithClientAddr(ctx context.Context, addr netip.Addr) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

func clientAddr(ctx context.Context) *netip.Addr {
	if a, ok := ctx.Value(clientAddrKey{}).(netip.Addr); ok && a.IsValid() {
		return &a
	}
	return nil
}

// Write appends an entry in the caller's transaction, so the log and the
// access it records commit or fail together.
func Write(ctx context.Context, tx sqldb.Tx, e Entry) error {
	var staff *int64
	if e.StaffID != 0 {
		staff = &e.StaffID
	}
	var subject, key *int64
	if e.SubjectID != 0 {
		subject = &e.SubjectID
	}
	if e.APIKeyID != 0 {
		key = &e.APIKeyID
	}
	_, err := tx.Exec(ctx, `INSERT INTO access_log (municipality_id, staff_id, api_key_id, subject_kind, subject_id, action, purpose, result, client_addr)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, e.Tenant, staff, key, e.SubjectKind, subject, e.Action, e.Purpose, e.Result, clientAddr(ctx))
	return err
}

// Filter narrows a listing; zero values mean any.
type Filter struct {
	StaffID     int64
	SubjectKind string
	SubjectID   int64
	Action      string
	From, To    time.Time
	Limit       int
}

// List reads entries newest first, inside the caller's tenant transaction.
func List(ctx context.Context, tx sqldb.Tx, f Filter) ([]Entry, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 200
	}
	rows, err := tx.Query(ctx, `
		SELECT a.id, a.at, a.municipality_id, coalesce(a.staff_id, 0), coalesce(a.api_key_id, 0),
		       coalesce(s.name, k.name, ''), a.subject_kind, coalesce(a.subject_id, 0), a.action, a.purpose, a.result, a.client_addr
		FROM access_log a LEFT JOIN staff s ON s.id = a.staff_id LEFT JOIN api_keys k ON k.id = a.api_key_id
		WHERE ($1 = 0 OR a.staff_id = $1) AND ($2 = '' OR a.subject_kind = $2) AND ($3 = 0 OR a.subject_id = $3)
		  AND ($4 = '' OR a.action = $4) AND ($5::timestamptz IS NULL OR a.at >= $5) AND ($6::timestamptz IS NULL OR a.at < $6)
		ORDER BY a.at DESC, a.id DESC LIMIT $7`,
		f.StaffID, f.SubjectKind, f.SubjectID, f.Action, nullTime(f.From), nullTime(f.To), f.Limit)
	if err != nil {
		return nil, err
	}
	return sqldb.CollectRows(rows, func(r sqldb.Row) (Entry, error) {
		var e Entry
		var addr *netip.Addr
		err := r.Scan(&e.ID, &e.At, &e.Tenant, &e.StaffID, &e.APIKeyID, &e.StaffName, &e.SubjectKind, &e.SubjectID, &e.Action, &e.Purpose, &e.Result, &addr)
		if addr != nil {
			e.ClientAddr = *addr
		}
		return e, err
	})
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Refusal is a refused access carrying the access-log row that records it.
// The refused transaction rolls back (nothing it did may stay), so the row
// is written afterwards, in a transaction of its own, by InTenant.
type Refusal struct {
	Entry Entry
	Err   error // what the caller sees: the domain's "forbidden"
}

func (r *Refusal) Error() string {
	return "not allowed (" + r.Entry.Action + " " + r.Entry.SubjectKind + ")"
}

// Unwrap makes errors.Is(err, r.Err) true, so the web layer maps a refusal
// like any other "forbidden".
func (r *Refusal) Unwrap() error { return r.Err }

// InTenant runs fn in the tenant's transaction; when fn ends in a Refusal,
// that refusal's row is written once the transaction has rolled back.
func InTenant(ctx context.Context, db sqldb.DB, tenant int64, fn func(tx sqldb.Tx) error) error {
	err := db.InTenant(ctx, tenant, fn)
	var r *Refusal
	if errors.As(err, &r) {
		if lerr := db.InTenant(ctx, r.Entry.Tenant, func(tx sqldb.Tx) error { return Write(ctx, tx, r.Entry) }); lerr != nil {
			return lerr
		}
	}
	return err
}

package auth_test

import (
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/sqldb"
)

// addDevice creates an unpaired device of kind at the fixture's first
// service point.
func (e *env) addDevice(t *testing.T, kind, name string) int64 {
	t.Helper()
	var id int64
	if err := e.owner.QueryRow(e.ctx, `INSERT INTO devices (municipality_id, service_point_id, kind, name) VALUES ($1, $2, $3, $4) RETURNING id`,
		e.tenant, e.sp, kind, name).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func (e *env) issueCode(t *testing.T, device int64) string {
	t.Helper()
	var code string
	if err := e.db.InTenant(e.ctx, e.tenant, func(tx sqldb.Tx) error {
		var err error
		code, err = e.svc.IssuePairCode(e.ctx, tx, device)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return code
}

func (e *env) revoke(t *testing.T, device int64) {
	t.Helper()
	if err := e.db.InTenant(e.ctx, e.tenant, func(tx sqldb.Tx) error { return e.svc.Revoke(e.ctx, tx, device) }); err != nil {
		t.Fatal(err)
	}
}

func TestPairCodeWorksOnce(t *testing.T) {
	e := newEnv(t)
	id := e.addDevice(t, auth.KindKiosk, "Lobby kiosk")
	code := e.issueCode(t, id)
	if !regexp.MustCompile(`^\d{4}-\d{4}$`).MatchString(code) {
		t.Fatalf("code %q is not 1234-5678", code)
	}
	// Typed with spaces instead of the dash, as people do.
	token, d, err := e.svc.Pair(e.ctx, code[:4]+" "+code[5:], auth.KindKiosk, "client-1")
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != id || d.Tenant != e.tenant || d.ServicePointID != e.sp || d.Kind != auth.KindKiosk || d.ServicePoint != "muni-1" || d.Name != "Lobby kiosk" {
		t.Errorf("paired device %+v", d)
	}
	if got, err := e.svc.DeviceByToken(e.ctx, token); err != nil || got.ID != id {
		t.Errorf("DeviceByToken = %+v, %v", got, err)
	}
	if _, _, err := e.svc.Pair(e.ctx, code, auth.KindKiosk, "client-2"); !errors.Is(err, auth.ErrBadPairCode) {
		t.Errorf("the code worked a second time: %v", err)
	}
	var stored int
	if err := e.owner.QueryRow(e.ctx, `SELECT count(*) FROM devices WHERE pair_code_hash IS NOT NULL OR token_hash = $1::text::bytea`, token).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != 0 {
		t.Error("a used code is still stored, or the credential is stored in the clear")
	}
}

func TestPairCodeExpiresAfterTenMinutes(t *testing.T) {
	e := newEnv(t)
	early, late := e.addDevice(t, auth.KindKiosk, "Early"), e.addDevice(t, auth.KindKiosk, "Late")
	earlyCode, lateCode := e.issueCode(t, early), e.issueCode(t, late)
	e.clock.Add(9 * time.Minute)
	if _, _, err := e.svc.Pair(e.ctx, earlyCode, auth.KindKiosk, "c1"); err != nil {
		t.Errorf("after 9 minutes: %v", err)
	}
	e.clock.Add(time.Minute + time.Second)
	if _, _, err := e.svc.Pair(e.ctx, lateCode, auth.KindKiosk, "c2"); !errors.Is(err, auth.ErrBadPairCode) {
		t.Errorf("after 10 minutes 1 s: %v, want ErrBadPairCode", err)
	}
}

// A code is for the kind of device it was made for: a kiosk's code typed
// on a display's pairing page does not pair the display.
func TestPairCodeIsForItsKind(t *testing.T) {
	e := newEnv(t)
	kiosk := e.addDevice(t, auth.KindKiosk, "Kiosk")
	code := e.issueCode(t, kiosk)
	if _, _, err := e.svc.Pair(e.ctx, code, auth.KindDisplay, "c1"); !errors.Is(err, auth.ErrBadPairCode) {
		t.Errorf("kiosk code on /display/pair: %v, want ErrBadPairCode", err)
	}
	var paired bool
	if err := e.owner.QueryRow(e.ctx, `SELECT token_hash IS NOT NULL FROM devices WHERE id = $1`, kiosk).Scan(&paired); err != nil {
		t.Fatal(err)
	}
	if paired {
		t.Error("the refused attempt gave the device a credential")
	}
}

func TestRevokeEndsTheCredential(t *testing.T) {
	e := newEnv(t)
	id := e.addDevice(t, auth.KindDisplay, "Hall TV")
	token, _, err := e.svc.Pair(e.ctx, e.issueCode(t, id), auth.KindDisplay, "c1")
	if err != nil {
		t.Fatal(err)
	}
	e.revoke(t, id)
	if _, err := e.svc.DeviceByToken(e.ctx, token); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("revoked credential: %v, want ErrNoSession", err)
	}
	// A code issued and then revoked before use does not pair.
	code := e.issueCode(t, id)
	e.revoke(t, id)
	if _, _, err := e.svc.Pair(e.ctx, code, auth.KindDisplay, "c2"); !errors.Is(err, auth.ErrBadPairCode) {
		t.Errorf("code of a revoked device: %v, want ErrBadPairCode", err)
	}
}

// Pairing anew ends the old credential: a stolen kiosk is re-paired, not
// left working.
func TestNewPairCodeEndsTheOldCredential(t *testing.T) {
	e := newEnv(t)
	id := e.addDevice(t, auth.KindKiosk, "Kiosk")
	old, _, err := e.svc.Pair(e.ctx, e.issueCode(t, id), auth.KindKiosk, "c1")
	if err != nil {
		t.Fatal(err)
	}
	e.issueCode(t, id)
	if _, err := e.svc.DeviceByToken(e.ctx, old); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("old credential after a new code: %v, want ErrNoSession", err)
	}
}

// Guessing codes is stopped after five misses per client.
func TestPairingIsThrottledPerClient(t *testing.T) {
	e := newEnv(t)
	id := e.addDevice(t, auth.KindKiosk, "Kiosk")
	code := e.issueCode(t, id)
	misses := 0
	for _, guess := range []string{"0000-0000", "1111-1111", "2222-2222", "3333-3333", "4444-4444", "5555-5555"} {
		if guess == code || misses == 5 {
			continue
		}
		misses++
		if _, _, err := e.svc.Pair(e.ctx, guess, auth.KindKiosk, "guesser"); !errors.Is(err, auth.ErrBadPairCode) {
			t.Fatalf("guess %s: %v", guess, err)
		}
	}
	if _, _, err := e.svc.Pair(e.ctx, code, auth.KindKiosk, "guesser"); !errors.Is(err, auth.ErrThrottled) {
		t.Errorf("after 5 misses the right code from the same client: %v, want ErrThrottled", err)
	}
	if _, _, err := e.svc.Pair(e.ctx, code, auth.KindKiosk, "someone-else"); err != nil {
		t.Errorf("another client: %v", err)
	}
}

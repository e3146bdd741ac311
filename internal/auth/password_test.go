package auth_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/koto-portal/portal/internal/auth"
)

func TestHashPassword(t *testing.T) {
	if _, err := auth.HashPassword("too short"); err == nil {
		t.Error("a 9-character password was accepted")
	}
	h1, err := auth.HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := auth.HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	// argon2id with RFC 9106's second option: 64 MiB, 3 passes.
	if !strings.HasPrefix(h1, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Errorf("hash %q is not argon2id with m=65536,t=3,p=2", h1)
	}
	if strings.Contains(h1, testPassword) {
		t.Error("the hash contains the password")
	}
	if h1 == h2 {
		t.Error("two hashes of one password are equal: no random salt")
	}
	for _, h := range []string{h1, h2} {
		if ok, err := argon2id.ComparePasswordAndHash(testPassword, h); err != nil || !ok {
			t.Errorf("the password does not verify against its hash: %v %v", ok, err)
		}
		if ok, _ := argon2id.ComparePasswordAndHash(testPassword+"!", h); ok {
			t.Error("a different password verifies")
		}
	}
}

func TestAuthenticate(t *testing.T) {
	e := newEnv(t)
	st, err := e.svc.Authenticate(e.ctx, e.email, e.password, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if st.ID != e.staffID || st.Tenant != e.tenant {
		t.Errorf("Authenticate = %+v, want staff %d of tenant %d", st, e.staffID, e.tenant)
	}
	// Addresses are stored in lower case; what people type may not be.
	if st, err := e.svc.Authenticate(e.ctx, strings.ToUpper(e.email), e.password, "c1"); err != nil || st.ID != e.staffID {
		t.Errorf("upper-case address: %+v, %v", st, err)
	}

	_, wrongPassword := e.svc.Authenticate(e.ctx, e.email, "wrong password!", "c2")
	_, unknown := e.svc.Authenticate(e.ctx, "nobody@muni.example", e.password, "c3")
	if _, err := e.owner.Exec(e.ctx, `UPDATE staff SET active = false WHERE id = $1`, e.staffID); err != nil {
		t.Fatal(err)
	}
	_, inactive := e.svc.Authenticate(e.ctx, e.email, e.password, "c4")
	for name, err := range map[string]error{"wrong password": wrongPassword, "unknown address": unknown, "inactive account": inactive} {
		if !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("%s: %v, want ErrBadCredentials", name, err)
		}
	}
	// Nothing in the error tells an unknown address from a wrong password.
	if wrongPassword != unknown || wrongPassword.Error() != unknown.Error() || inactive != unknown {
		t.Errorf("errors differ: wrong password %q, unknown %q, inactive %q", wrongPassword, unknown, inactive)
	}
}

// After five failures for an account within fifteen minutes, even the right
// password is refused, from any client, until the window has passed.
func TestAuthenticateThrottlesAnAccount(t *testing.T) {
	e := newEnv(t)
	for i := range 5 {
		if _, err := e.svc.Authenticate(e.ctx, e.email, "wrong password!", fmt.Sprintf("client-%d", i)); !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	if _, err := e.svc.Authenticate(e.ctx, e.email, e.password, "client-fresh"); !errors.Is(err, auth.ErrThrottled) {
		t.Fatalf("after 5 failures the right password from a fresh client gave %v, want ErrThrottled", err)
	}
	// Another account is not affected.
	e.addStaff(t, "other@muni.example", testPassword, auth.RoleExpert, e.sp)
	if _, err := e.svc.Authenticate(e.ctx, "other@muni.example", testPassword, "client-fresh"); err != nil {
		t.Errorf("another account: %v", err)
	}
	e.clock.Add(14 * time.Minute)
	if _, err := e.svc.Authenticate(e.ctx, e.email, e.password, "client-fresh"); !errors.Is(err, auth.ErrThrottled) {
		t.Errorf("14 minutes later: %v, want ErrThrottled", err)
	}
	e.clock.Add(2 * time.Minute)
	if _, err := e.svc.Authenticate(e.ctx, e.email, e.password, "client-fresh"); err != nil {
		t.Errorf("16 minutes after the failures: %v, want success", err)
	}
}

// Four failures are not yet a lock-out.
func TestAuthenticateAllowsFourFailures(t *testing.T) {
	e := newEnv(t)
	for i := range 4 {
		_, _ = e.svc.Authenticate(e.ctx, e.email, "wrong password!", fmt.Sprintf("client-%d", i))
	}
	if _, err := e.svc.Authenticate(e.ctx, e.email, e.password, "client-fresh"); err != nil {
		t.Errorf("after 4 failures: %v, want success", err)
	}
}

// The count lives in the database: two portal instances (two services on
// one database) add up to the same limit.
func TestThrottleIsSharedBetweenInstances(t *testing.T) {
	e := newEnv(t)
	one, two := auth.New(e.db, e.clock.Now), auth.New(e.db, e.clock.Now)
	for i := range 3 {
		_, _ = one.Authenticate(e.ctx, e.email, "wrong password!", fmt.Sprintf("a-%d", i))
	}
	for i := range 2 {
		_, _ = two.Authenticate(e.ctx, e.email, "wrong password!", fmt.Sprintf("b-%d", i))
	}
	for name, s := range map[string]*auth.Service{"first": one, "second": two} {
		if _, err := s.Authenticate(e.ctx, e.email, e.password, "fresh"); !errors.Is(err, auth.ErrThrottled) {
			t.Errorf("%s instance after 3+2 failures: %v, want ErrThrottled", name, err)
		}
	}
}

// The account's count must not depend on how the address was typed: the
// login matches it case-insensitively, so the limit must too.
func TestThrottleIgnoresAddressCase(t *testing.T) {
	e := newEnv(t)
	typed := []string{"Expert@muni.example", "EXPERT@muni.example", "expert@MUNI.example", "eXpert@muni.example", "expert@muni.EXAMPLE"}
	for i, addr := range typed {
		if _, err := e.svc.Authenticate(e.ctx, addr, "wrong password!", fmt.Sprintf("client-%d", i)); !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("%s: %v", addr, err)
		}
	}
	if _, err := e.svc.Authenticate(e.ctx, e.email, e.password, "client-fresh"); !errors.Is(err, auth.ErrThrottled) {
		t.Errorf("after 5 failures typed in different cases: %v, want ErrThrottled (the limit can be dodged by changing case)", err)
	}
}

// One client trying many accounts is stopped after twenty failures.
func TestThrottleLimitsAClient(t *testing.T) {
	e := newEnv(t)
	for i := range 20 {
		_, _ = e.svc.Authenticate(e.ctx, fmt.Sprintf("guess%d@muni.example", i), "wrong password!", "one-client")
	}
	if _, err := e.svc.Authenticate(e.ctx, e.email, e.password, "one-client"); !errors.Is(err, auth.ErrThrottled) {
		t.Errorf("after 20 failures from one client: %v, want ErrThrottled", err)
	}
	if _, err := e.svc.Authenticate(e.ctx, e.email, e.password, "another-client"); err != nil {
		t.Errorf("another client: %v", err)
	}
}

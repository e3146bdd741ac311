package auth_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
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

// wrong tries a wrong password for the fixture's account from client.
func (e *env) wrong(client string) error {
	_, err := e.svc.Authenticate(e.ctx, e.email, "wrong password!", client)
	return err
}

// From one client, five failures are free; then each further try must wait
// twice as long as the last (1 s, 2 s, 4 s …), so guessing slows to a crawl.
func TestAuthenticateSlowsGuessingFromOneClient(t *testing.T) {
	e := newEnv(t)
	e.svc.WrapCompareForTest(fastCompare(nil))
	for i := range 5 {
		if err := e.wrong("guesser"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	for i, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
		if _, err := e.svc.Authenticate(e.ctx, e.email, e.password, "guesser"); !errors.Is(err, auth.ErrThrottled) {
			t.Fatalf("step %d: the right password at once gave %v, want ErrThrottled", i, err)
		}
		e.clock.Add(wait - time.Millisecond)
		if err := e.wrong("guesser"); !errors.Is(err, auth.ErrThrottled) {
			t.Fatalf("step %d: a try before %v passed gave %v", i, wait, err)
		}
		e.clock.Add(time.Millisecond)
		if err := e.wrong("guesser"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("step %d: a try after %v gave %v, want it evaluated", i, wait, err)
		}
	}
	// Meanwhile the account's owner, elsewhere, is not locked out.
	if _, err := e.svc.Authenticate(e.ctx, e.email, e.password, "owner"); err != nil {
		t.Errorf("the owner from another client: %v", err)
	}
}

// A stranger failing from many places makes the account wait, but never
// long: guessing once a second for ten minutes gets about one try a minute
// evaluated, and the owner is in again a minute after the last failure.
func TestAStrangerCannotLockAnAccountOutForLong(t *testing.T) {
	e := newEnv(t)
	e.svc.WrapCompareForTest(fastCompare(nil))
	evaluated := 0
	for i := range 600 {
		switch err := e.wrong(fmt.Sprintf("client-%d", i)); {
		case errors.Is(err, auth.ErrBadCredentials):
			evaluated++
		case !errors.Is(err, auth.ErrThrottled):
			t.Fatalf("try %d: %v", i, err)
		}
		e.clock.Add(time.Second)
	}
	// 10 free, 1+2+4+8+16+32 s of ramp, then one a minute.
	if evaluated > 10+6+10 {
		t.Errorf("%d of 600 guesses in ten minutes were evaluated", evaluated)
	}
	e.clock.Add(time.Minute)
	if _, err := e.svc.Authenticate(e.ctx, e.email, e.password, "owner"); err != nil {
		t.Errorf("a minute after the stranger stopped: %v, want success", err)
	}
	// Success starts the account over: the next mistake is free again.
	if err := e.wrong("owner"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("a mistake after logging in: %v", err)
	}
}

// fastCompare stands in for argon2id where a test needs many comparisons:
// it compares plainly (after the real one on the real password, so a right
// password still works) and counts, if count is not nil.
func fastCompare(count *atomic.Int64) func(func(string, string) (bool, error)) func(string, string) (bool, error) {
	return func(cmp func(string, string) (bool, error)) func(string, string) (bool, error) {
		return func(p, h string) (bool, error) {
			if count != nil {
				count.Add(1)
			}
			if p != testPassword {
				return false, nil
			}
			return cmp(p, h)
		}
	}
}

// Parallel tries cannot slip under the limit: 30 wrong passwords at once
// from one client are checked and counted one after another, so no more
// than the five free ones reach the password comparison.
func TestParallelWrongPasswordsAreCountedBeforeTheyAreChecked(t *testing.T) {
	e := newEnv(t)
	var compared atomic.Int64
	e.svc.WrapCompareForTest(fastCompare(&compared))
	e.svc.SetHashWaitForTest(time.Minute) // every try gets as far as the throttle
	results := parallel(30, func(int) error { return e.wrong("racer") })
	if n := compared.Load(); n > 5 {
		t.Errorf("%d of 30 parallel tries were compared, want at most 5", n)
	}
	if results[auth.ErrThrottled] < 25 || results[auth.ErrBadCredentials] > 5 {
		t.Errorf("results %v, want at least 25 refused unchecked", results)
	}
	// From 30 clients at once, the account's own limit (10) holds.
	compared.Store(0)
	e2 := newEnv(t)
	e2.svc.WrapCompareForTest(fastCompare(&compared))
	e2.svc.SetHashWaitForTest(time.Minute)
	parallel(30, func(i int) error { return e2.wrong(fmt.Sprintf("racer-%d", i)) })
	if n := compared.Load(); n > 10 {
		t.Errorf("%d of 30 parallel tries from 30 clients were compared, want at most 10", n)
	}
}

// However many log in at once, no more than HashSlots comparisons (64 MiB
// each) run together; beyond the wait, a login is told the portal is busy.
func TestConcurrentHashingIsBounded(t *testing.T) {
	e := newEnv(t)
	var running, peak atomic.Int64
	e.svc.WrapCompareForTest(func(cmp func(string, string) (bool, error)) func(string, string) (bool, error) {
		return func(p, h string) (bool, error) {
			n := running.Add(1)
			for {
				old := peak.Load()
				if n <= old || peak.CompareAndSwap(old, n) {
					break
				}
			}
			defer running.Add(-1)
			time.Sleep(20 * time.Millisecond)
			return false, nil
		}
	})
	results := parallel(40, func(i int) error {
		_, err := e.svc.Authenticate(e.ctx, fmt.Sprintf("nobody%d@muni.example", i), "wrong password!", fmt.Sprintf("c%d", i))
		return err
	})
	if p := peak.Load(); p > auth.HashSlots || p < 2 {
		t.Errorf("peak of %d comparisons at once, want 2 to %d", p, auth.HashSlots)
	}
	if results[auth.ErrBadCredentials] != 40 {
		t.Errorf("results %v: with time to wait, every login is checked", results)
	}
	// With no time to wait, a full portal says so rather than queueing.
	e.svc.SetHashWaitForTest(time.Millisecond)
	results = parallel(40, func(i int) error {
		_, err := e.svc.Authenticate(e.ctx, fmt.Sprintf("other%d@muni.example", i), "wrong password!", fmt.Sprintf("d%d", i))
		return err
	})
	if results[auth.ErrBusy] == 0 || peak.Load() > auth.HashSlots {
		t.Errorf("results %v, peak %d: want some ErrBusy and the bound kept", results, peak.Load())
	}
}

// parallel runs fn n times at once and counts the errors it returned.
func parallel(n int, fn func(i int) error) map[error]int {
	var mu sync.Mutex
	counts := map[error]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := fn(i)
			mu.Lock()
			counts[err]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return counts
}

// The count lives in the database: two portal instances (two services on
// one database) add up to the same limit.
func TestThrottleIsSharedBetweenInstances(t *testing.T) {
	e := newEnv(t)
	one, two := auth.New(e.db, e.clock.Now), auth.New(e.db, e.clock.Now)
	one.WrapCompareForTest(fastCompare(nil))
	two.WrapCompareForTest(fastCompare(nil))
	for range 3 {
		_, _ = one.Authenticate(e.ctx, e.email, "wrong password!", "racer")
	}
	for range 2 {
		_, _ = two.Authenticate(e.ctx, e.email, "wrong password!", "racer")
	}
	for name, s := range map[string]*auth.Service{"first": one, "second": two} {
		if _, err := s.Authenticate(e.ctx, e.email, e.password, "racer"); !errors.Is(err, auth.ErrThrottled) {
			t.Errorf("%s instance after 3+2 failures: %v, want ErrThrottled", name, err)
		}
	}
}

// The account's count must not depend on how the address was typed: the
// login matches it case-insensitively, so the limit must too.
func TestThrottleIgnoresAddressCase(t *testing.T) {
	e := newEnv(t)
	e.svc.WrapCompareForTest(fastCompare(nil))
	typed := []string{"Expert@muni.example", "EXPERT@muni.example", "expert@MUNI.example", "eXpert@muni.example", "expert@muni.EXAMPLE"}
	for _, addr := range typed {
		if _, err := e.svc.Authenticate(e.ctx, addr, "wrong password!", "one-client"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("%s: %v", addr, err)
		}
	}
	if _, err := e.svc.Authenticate(e.ctx, e.email, e.password, "one-client"); !errors.Is(err, auth.ErrThrottled) {
		t.Errorf("after 5 failures typed in different cases: %v, want ErrThrottled (the limit can be dodged by changing case)", err)
	}
}

// One client trying many accounts is slowed after twenty failures.
func TestThrottleLimitsAClient(t *testing.T) {
	e := newEnv(t)
	e.svc.WrapCompareForTest(fastCompare(nil))
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

// Logging in all day from one office address does not add up to a limit:
// a success takes back its own count from the client.
func TestSuccessesDoNotCountAgainstAClient(t *testing.T) {
	e := newEnv(t)
	for i := range 3 {
		if _, err := e.svc.Authenticate(e.ctx, e.email, e.password, "office"); err != nil {
			t.Fatalf("login %d from the office: %v", i+1, err)
		}
	}
	var failures int
	if err := e.owner.QueryRow(e.ctx, `SELECT coalesce(sum(failures), 0) FROM login_throttle`).Scan(&failures); err != nil {
		t.Fatal(err)
	}
	if failures != 0 {
		t.Errorf("%d failures counted after three good logins", failures)
	}
}

// 80 logins at once once took the portal to 5 GiB, 64 MiB of argon2id
// each. With real comparisons, 24 at once (1.5 GiB unbounded) keep the
// heap within the slots' share: HashSlots of 64 MiB live, and as much again
// of garbage before the collector runs (GOGC's default doubling).
func TestParallelLoginsKeepMemoryBounded(t *testing.T) {
	const logins = 24
	e := newEnv(t)
	e.svc.SetHashWaitForTest(10 * time.Minute) // all are compared, a few at a time
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	results := parallel(logins, func(i int) error {
		_, err := e.svc.Authenticate(e.ctx, fmt.Sprintf("nobody%d@muni.example", i), "wrong password!", fmt.Sprintf("c%d", i))
		return err
	})
	close(stop)
	<-sampled
	if results[auth.ErrBadCredentials] != logins {
		t.Errorf("results %v, want all %d compared", results, logins)
	}
	grew := int64(peak.Load()) - int64(base.HeapInuse)
	t.Logf("heap in use grew by %d MiB at most during %d parallel logins", grew>>20, logins)
	// Four slots: 256 MiB live, 512 MiB with garbage, and room for the rest.
	if limit := int64(640 << 20); grew > limit {
		t.Errorf("the heap grew by %d MiB, more than %d MiB", grew>>20, limit>>20)
	}
}

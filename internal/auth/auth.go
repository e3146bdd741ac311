// Package auth owns who may do what: staff passwords, login throttling,
// sessions with idle and absolute timeouts, roles per municipality and
// service point, and the credentials of paired kiosk and display devices.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/koto-portal/portal/internal/sqldb"
)

// providerTimeout bounds each request to a sign-in provider: a person
// waits on it.
const providerTimeout = 10 * time.Second

// Timeouts of a staff session.
const (
	IdleTimeout     = 30 * time.Minute
	AbsoluteTimeout = 12 * time.Hour
)

// Errors the web layer turns into messages.
var (
	ErrBadCredentials = errors.New("auth: wrong email or password")
	ErrThrottled      = errors.New("auth: too many failed logins")
	ErrBusy           = errors.New("auth: too many logins at once")
	ErrNoSession      = errors.New("auth: no valid session")
	ErrForbidden      = errors.New("auth: not allowed")
	ErrBadPairCode    = errors.New("auth: unknown or expired pairing code")
)

// Service is the auth use cases over the database.
type Service struct {
	db  sqldb.DB
	now func() time.Time

	hashing  chan struct{} // one token per password comparison running (HashSlots)
	hashWait time.Duration
	compare  func(password, hash string) (bool, error)

	httpClient *http.Client // talks to the municipalities' sign-in providers
}

// New builds the service; now is injectable so tests can move the clock.
func New(db sqldb.DB, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, now: now, hashing: make(chan struct{}, HashSlots), hashWait: hashWait,
		compare: argon2id.ComparePasswordAndHash, httpClient: &http.Client{Timeout: providerTimeout}}
}

// NewToken returns a random secret of 256 bits for cookies and links.
func NewToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // the system's randomness failing is not recoverable
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Hash is how secrets are stored: only their SHA-256.
func Hash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

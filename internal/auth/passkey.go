package auth

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/sqldb"
)

// ErrBadPasskey: the browser's answer did not prove the passkey (wrong
// key, another account's, a changed signature, a stale challenge).
var ErrBadPasskey = errors.New("auth: the passkey was not accepted")

// ErrPasskeysUnavailable: passkeys belong to a host name, and the portal's
// public address is none (an IP address, say).
var ErrPasskeysUnavailable = errors.New("auth: passkeys need a public address with a host name")

// ceremonyTimeout is how long a passkey prompt waits for the person.
const ceremonyTimeout = 5 * time.Minute

// relyingParty is the portal as WebAuthn knows it, at origin (the
// portal's public address): passkeys belong to its host name.
func relyingParty(origin string) (*webauthn.WebAuthn, error) {
	u, err := url.Parse(origin)
	if err != nil || u.Hostname() == "" {
		return nil, ErrPasskeysUnavailable
	}
	rp, err := webauthn.New(&webauthn.Config{RPID: u.Hostname(), RPDisplayName: "Koto Portal",
		RPOrigins: []string{strings.TrimRight(origin, "/")},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: ceremonyTimeout},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: ceremonyTimeout},
		}})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPasskeysUnavailable, err)
	}
	return rp, nil
}

// passkeyUser is an account as WebAuthn sees it. Its handle is the staff
// id, which names nobody.
type passkeyUser struct {
	p     Principal
	creds []webauthn.Credential
}

func (u passkeyUser) WebAuthnID() []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(u.p.StaffID))
}
func (u passkeyUser) WebAuthnName() string                       { return u.p.Email }
func (u passkeyUser) WebAuthnDisplayName() string                { return u.p.Name }
func (u passkeyUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func loadPasskeyUser(ctx context.Context, tx sqldb.Tx, p Principal) (passkeyUser, error) {
	rows, err := tx.Query(ctx, `SELECT credential FROM webauthn_credentials WHERE staff_id = $1 ORDER BY id`, p.StaffID)
	if err != nil {
		return passkeyUser{}, err
	}
	creds, err := sqldb.CollectRows(rows, func(r sqldb.Row) (webauthn.Credential, error) {
		var raw []byte
		var c webauthn.Credential
		if err := r.Scan(&raw); err != nil {
			return c, err
		}
		return c, json.Unmarshal(raw, &c)
	})
	return passkeyUser{p: p, creds: creds}, err
}

// saveCeremony keeps a ceremony's challenge with the session that began it.
func saveCeremony(ctx context.Context, tx sqldb.Tx, sess Session, data *webauthn.SessionData) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE sessions SET ceremony = $2 WHERE id_hash = $1`, Hash(sess.Token), raw)
	return err
}

// takeCeremony reads the session's ceremony and clears it: a challenge is
// answered once.
func takeCeremony(ctx context.Context, tx sqldb.Tx, sess Session) (webauthn.SessionData, error) {
	var raw []byte
	var data webauthn.SessionData
	err := tx.QueryRow(ctx, `UPDATE sessions s SET ceremony = NULL FROM (SELECT ceremony FROM sessions WHERE id_hash = $1 FOR UPDATE) old
		WHERE s.id_hash = $1 RETURNING old.ceremony`, Hash(sess.Token)).Scan(&raw)
	if errors.Is(err, sqldb.ErrNoRows) || err == nil && raw == nil {
		return data, ErrBadPasskey
	} else if err != nil {
		return data, err
	}
	return data, json.Unmarshal(raw, &data)
}

// BeginPasskey starts registering a passkey: the options for the
// browser's navigator.credentials.create, as JSON. Keys the account has
// already are excluded, so one authenticator is not registered twice.
func (s *Service) BeginPasskey(ctx context.Context, sess Session, origin string) ([]byte, error) {
	rp, err := relyingParty(origin)
	if err != nil {
		return nil, err
	}
	p := sess.Principal
	var out []byte
	err = s.db.InTenant(ctx, p.Tenant, func(tx sqldb.Tx) error {
		if err := Authorize(ctx, tx, p, sess.Stage == StageFull || sess.Stage == StageEnrol); err != nil {
			return err
		}
		user, err := loadPasskeyUser(ctx, tx, p)
		if err != nil {
			return err
		}
		exclude := make([]protocol.CredentialDescriptor, len(user.creds))
		for i := range user.creds {
			exclude[i] = user.creds[i].Descriptor()
		}
		creation, data, err := rp.BeginRegistration(user, webauthn.WithExclusions(exclude),
			webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementPreferred))
		if err != nil {
			return err
		}
		if err := saveCeremony(ctx, tx, sess, data); err != nil {
			return err
		}
		out, err = json.Marshal(creation)
		return err
	})
	return out, err
}

// FinishPasskey registers the passkey the browser created (its JSON
// answer), under name.
func (s *Service) FinishPasskey(ctx context.Context, sess Session, origin, name string, answer []byte) (Enrolled, error) {
	rp, err := relyingParty(origin)
	if err != nil {
		return Enrolled{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(answer)
	if err != nil {
		return Enrolled{}, ErrBadPasskey
	}
	p := sess.Principal
	var out Enrolled
	err = s.db.InTenant(ctx, p.Tenant, func(tx sqldb.Tx) error {
		if err := Authorize(ctx, tx, p, sess.Stage == StageFull || sess.Stage == StageEnrol); err != nil {
			return err
		}
		data, err := takeCeremony(ctx, tx, sess)
		if err != nil {
			return err
		}
		user, err := loadPasskeyUser(ctx, tx, p)
		if err != nil {
			return err
		}
		cred, err := rp.CreateCredential(user, data, parsed)
		if err != nil {
			return ErrBadPasskey
		}
		raw, err := json.Marshal(cred)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO webauthn_credentials (municipality_id, staff_id, credential_id, name, credential)
			VALUES ($1, $2, $3, $4, $5)`, p.Tenant, p.StaffID, cred.ID, name, raw); err != nil {
			if sqldb.IsUniqueViolation(err) {
				return ErrBadPasskey
			}
			return err
		}
		if out.RecoveryCodes, err = firstRecoveryCodes(ctx, tx, p); err != nil {
			return err
		}
		return logOwnChange(ctx, tx, p, audit.ActionCreate, PurposeWebAuthn)
	})
	if err != nil {
		return Enrolled{}, err
	}
	return s.finishEnrolment(ctx, sess, out, PurposeWebAuthn)
}

// PasskeyLoginOptions starts the second step of a sign-in with a passkey:
// the options for navigator.credentials.get, as JSON, or nil when the
// account has no passkey (or the portal's address can have none: the
// person then signs in with another factor or a recovery code).
func (s *Service) PasskeyLoginOptions(ctx context.Context, pending Session, origin string) ([]byte, error) {
	if pending.Stage != StageVerify {
		return nil, ErrNoSession
	}
	rp, err := relyingParty(origin)
	if errors.Is(err, ErrPasskeysUnavailable) {
		return nil, nil
	}
	p := pending.Principal
	var out []byte
	err = s.db.InTenant(ctx, p.Tenant, func(tx sqldb.Tx) error {
		user, err := loadPasskeyUser(ctx, tx, p)
		if err != nil || len(user.creds) == 0 {
			return err
		}
		assertion, data, err := rp.BeginLogin(user)
		if err != nil {
			return err
		}
		if err := saveCeremony(ctx, tx, pending, data); err != nil {
			return err
		}
		out, err = json.Marshal(assertion)
		return err
	})
	return out, err
}

// VerifyPasskey completes a half-way sign-in with the browser's answer to
// the passkey prompt.
func (s *Service) VerifyPasskey(ctx context.Context, pending Session, origin string, answer []byte, clientKey string) (Session, error) {
	rp, err := relyingParty(origin)
	if err != nil {
		return Session{}, err
	}
	return s.verify(ctx, pending, clientKey, PurposeWebAuthn, func(tx sqldb.Tx) error {
		data, err := takeCeremony(ctx, tx, pending)
		if err != nil {
			return err
		}
		parsed, err := protocol.ParseCredentialRequestResponseBytes(answer)
		if err != nil {
			return ErrBadPasskey
		}
		user, err := loadPasskeyUser(ctx, tx, pending.Principal)
		if err != nil {
			return err
		}
		cred, err := rp.ValidateLogin(user, data, parsed)
		// A signature counter that went back means a copied key.
		if err != nil || cred.Authenticator.CloneWarning {
			return ErrBadPasskey
		}
		raw, err := json.Marshal(cred)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE webauthn_credentials SET credential = $3, last_used_at = $4 WHERE staff_id = $1 AND credential_id = $2`,
			pending.Principal.StaffID, cred.ID, raw, s.now())
		return err
	})
}

// RemovePasskey removes one of the account's passkeys. Where the
// municipality requires a second factor, the last one cannot go.
func (s *Service) RemovePasskey(ctx context.Context, sess Session, id int64) error {
	p := sess.Principal
	return s.db.InTenant(ctx, p.Tenant, func(tx sqldb.Tx) error {
		if err := Authorize(ctx, tx, p, sess.Stage == StageFull); err != nil {
			return err
		}
		n, err := tx.Exec(ctx, `DELETE FROM webauthn_credentials WHERE id = $1 AND staff_id = $2`, id, p.StaffID)
		if err != nil {
			return err
		}
		if n.RowsAffected() == 0 {
			return sqldb.ErrNotFound
		}
		if err := keepRequiredFactor(ctx, tx, p); err != nil {
			return err
		}
		return logOwnChange(ctx, tx, p, audit.ActionDelete, PurposeWebAuthn)
	})
}

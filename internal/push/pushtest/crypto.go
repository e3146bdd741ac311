package pushtest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"
)

// RFC 8188 header: salt(16) rs(4) idlen(1) keyid(idlen).
const (
	saltLen      = 16
	headerFixed  = saltLen + 4 + 1
	asPublicLen  = 65 // RFC 8291: keyid is the sender's uncompressed P-256 key
	gcmTagLen    = 16
	minRecordLen = 18 // RFC 8188 section 2: rs below this cannot hold a record
)

// decryptAES128GCM opens an RFC 8291 body with the browser's private key and
// auth secret and returns the plaintext without padding.
func decryptAES128GCM(body []byte, uaPriv *ecdh.PrivateKey, authSecret []byte) ([]byte, error) {
	if len(body) < headerFixed {
		return nil, errors.New("body shorter than the aes128gcm header")
	}
	salt := body[:saltLen]
	rs := binary.BigEndian.Uint32(body[saltLen : saltLen+4])
	idLen := int(body[saltLen+4])
	if idLen != asPublicLen {
		return nil, fmt.Errorf("keyid is %d bytes, want the %d-byte sender key", idLen, asPublicLen)
	}
	if len(body) < headerFixed+idLen {
		return nil, errors.New("body shorter than its keyid")
	}
	asPublicBytes := body[headerFixed : headerFixed+idLen]
	record := body[headerFixed+idLen:]
	if rs < minRecordLen {
		return nil, fmt.Errorf("record size %d below %d", rs, minRecordLen)
	}
	// RFC 8291 section 4: a push message is exactly one record.
	if uint64(len(record)) > uint64(rs) {
		return nil, fmt.Errorf("%d bytes of records exceed one record of %d", len(record), rs)
	}
	if len(record) < gcmTagLen+1 {
		return nil, errors.New("record too short for tag and delimiter")
	}

	asPublic, err := ecdh.P256().NewPublicKey(asPublicBytes)
	if err != nil {
		return nil, fmt.Errorf("keyid is not a P-256 point: %w", err)
	}
	ecdhSecret, err := uaPriv.ECDH(asPublic)
	if err != nil {
		return nil, fmt.Errorf("ecdh: %w", err)
	}

	gcm, nonce, err := ContentCipher(ecdhSecret, authSecret, uaPriv.PublicKey().Bytes(), asPublicBytes, salt)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, record, nil)
	if err != nil {
		return nil, errors.New("aes-128-gcm authentication failed")
	}

	// Padding is zeros after a delimiter: 0x02 marks the last record.
	end := len(plain) - 1
	for end >= 0 && plain[end] == 0 {
		end--
	}
	if end < 0 {
		return nil, errors.New("no padding delimiter")
	}
	if plain[end] != 0x02 {
		return nil, fmt.Errorf("padding delimiter is 0x%02x, want 0x02 for the last record", plain[end])
	}
	return plain[:end], nil
}

// vapidClaims are what the fake checks and records from the JWT.
type vapidClaims struct {
	Audience string
	Subject  string
	Expiry   time.Time
}

// parseVAPIDAuthorization splits "vapid t=<jwt>, k=<key>" (RFC 8292 section 3).
func parseVAPIDAuthorization(header string) (token, key string, err error) {
	scheme, params, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "vapid") {
		return "", "", errors.New(`the Authorization scheme is not "vapid"`)
	}
	for _, part := range strings.Split(params, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return "", "", errors.New("malformed vapid parameter")
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "t":
			token = strings.TrimSpace(value)
		case "k":
			key = strings.TrimSpace(value)
		}
	}
	if token == "" || key == "" {
		return "", "", errors.New("vapid header needs both t and k")
	}
	return token, key, nil
}

// verifyVAPIDToken checks an ES256 JWT against the public key k and the
// claims RFC 8292 requires, written here from the RFCs rather than with a JWT
// library so that the fake does not share code with the sender it checks.
func verifyVAPIDToken(token, k, wantAudience string, now time.Time) (vapidClaims, error) {
	var c vapidClaims
	keyBytes, err := base64.RawURLEncoding.DecodeString(k)
	if err != nil {
		return c, errors.New("k is not unpadded base64url")
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), keyBytes)
	if err != nil {
		return c, errors.New("k is not an uncompressed P-256 key")
	}

	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return c, errors.New("JWT does not have three parts")
	}
	headerJSON, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return c, errors.New("JWT header is not base64url")
	}
	var header struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
	}
	if err := json.Unmarshal(headerJSON, &header); err != nil {
		return c, errors.New("JWT header is not JSON")
	}
	if header.Alg != "ES256" {
		return c, fmt.Errorf("JWT alg is %q, want ES256", header.Alg)
	}

	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return c, errors.New("JWT signature is not 64 bytes of base64url")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, digest[:], r, s) {
		return c, errors.New("JWT signature does not verify against k")
	}

	claimsJSON, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return c, errors.New("JWT claims are not base64url")
	}
	var claims struct {
		Aud *string  `json:"aud"`
		Sub *string  `json:"sub"`
		Exp *float64 `json:"exp"`
	}
	if err := json.Unmarshal(claimsJSON, &claims); err != nil {
		return c, errors.New("JWT claims are not JSON")
	}
	if claims.Aud == nil || *claims.Aud != wantAudience {
		return c, fmt.Errorf("aud is %s, want %q", quoteOrMissing(claims.Aud), wantAudience)
	}
	if claims.Exp == nil || math.IsNaN(*claims.Exp) {
		return c, errors.New("exp is missing")
	}
	// Compare as floats first so a huge exp cannot overflow the int64 conversion.
	nowSecs := float64(now.Unix())
	if *claims.Exp <= nowSecs {
		return c, errors.New("exp is not in the future")
	}
	if *claims.Exp > nowSecs+24*60*60 {
		return c, errors.New("exp is more than 24 hours ahead")
	}
	exp := time.Unix(int64(*claims.Exp), 0)
	if claims.Sub == nil {
		return c, errors.New("sub is missing")
	}
	sub := *claims.Sub
	switch {
	case strings.HasPrefix(sub, "mailto:mailto:"):
		return c, fmt.Errorf("sub %q has a doubled mailto: prefix", sub)
	case strings.HasPrefix(sub, "mailto:") && len(sub) > len("mailto:") && strings.Contains(sub, "@"):
	case strings.HasPrefix(sub, "https:") && len(sub) > len("https://"):
	default:
		return c, fmt.Errorf("sub %q is not a mailto: address or https: URL", sub)
	}
	return vapidClaims{Audience: *claims.Aud, Subject: sub, Expiry: exp}, nil
}

func quoteOrMissing(s *string) string {
	if s == nil {
		return "missing"
	}
	return fmt.Sprintf("%q", *s)
}

// equalKeys compares two base64url keys by their bytes so padding differences
// in how a test wrote the expected key do not matter.
func equalKeys(a, b string) bool {
	da, errA := base64.RawURLEncoding.DecodeString(strings.TrimRight(a, "="))
	db, errB := base64.RawURLEncoding.DecodeString(strings.TrimRight(b, "="))
	return errA == nil && errB == nil && bytes.Equal(da, db)
}

// ContentCipher derives the cipher and nonce of a push message's one
// record from the ECDH secret between the browser's (ua) and the sender's
// (as) keys, the browser's auth secret and the body's salt: RFC 8291
// section 3.4, then RFC 8188 sections 2.2 and 2.3. Sealing and opening
// both start here.
func ContentCipher(ecdhSecret, authSecret, uaPublic, asPublic, salt []byte) (cipher.AEAD, []byte, error) {
	// The IKM binds both public keys and the auth secret.
	keyInfo := make([]byte, 0, 14+len(uaPublic)+len(asPublic))
	keyInfo = append(keyInfo, "WebPush: info\x00"...)
	keyInfo = append(keyInfo, uaPublic...)
	keyInfo = append(keyInfo, asPublic...)
	ikm, err := hkdf.Key(sha256.New, ecdhSecret, authSecret, string(keyInfo), 32)
	if err != nil {
		return nil, nil, err
	}
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, nil, err
	}
	cek, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, nil, err
	}
	// The first (and only) record's sequence number is 0, so the nonce is used as is.
	nonce, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, nil, err
	}
	gcm, err := cipher.NewGCM(block)
	return gcm, nonce, err
}

package pushtest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"testing"
)

// seal is a minimal RFC 8291 encoder that, unlike webpush-go, lets a test pick
// the delimiter, padding and record size to reach the decoder's error paths.
func seal(t *testing.T, ua *ecdh.PublicKey, auth, content []byte, rs uint32) []byte {
	t.Helper()
	as, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := as.ECDH(ua)
	if err != nil {
		t.Fatal(err)
	}
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	info := "WebPush: info\x00" + string(ua.Bytes()) + string(as.PublicKey().Bytes())
	ikm, _ := hkdf.Key(sha256.New, secret, auth, info, 32)
	cek, _ := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: aes128gcm\x00", 16)
	nonce, _ := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: nonce\x00", 12)
	block, _ := aes.NewCipher(cek)
	gcm, _ := cipher.NewGCM(block)

	out := append([]byte{}, salt...)
	out = binary.BigEndian.AppendUint32(out, rs)
	out = append(out, 65)
	out = append(out, as.PublicKey().Bytes()...)
	return gcm.Seal(out, nonce, content, nil)
}

func TestDecryptPadding(t *testing.T) {
	ua, _ := ecdh.P256().GenerateKey(rand.Reader)
	auth := make([]byte, 16)
	_, _ = rand.Read(auth)
	cases := []struct {
		content []byte
		rs      uint32
		want    string // plaintext, or "error: substring"
	}{
		{[]byte("hi\x02"), 4096, "hi"},
		{[]byte("hi\x02\x00\x00\x00"), 4096, "hi"},
		{[]byte("\x02"), 4096, ""},
		{[]byte("hi\x00\x02\x00"), 4096, "hi\x00"},
		{[]byte("hi\x01\x00"), 4096, "error: 0x01"},
		{[]byte("\x00\x00"), 4096, "error: no padding delimiter"},
		{[]byte("hi\x02"), 18, "error: exceed one record"},
		{[]byte("hi\x02"), 17, "error: below 18"},
	}
	for _, tc := range cases {
		got, err := decryptAES128GCM(seal(t, ua.PublicKey(), auth, tc.content, tc.rs), ua, auth)
		if msg, isErr := strings.CutPrefix(tc.want, "error: "); isErr {
			if err == nil || !strings.Contains(err.Error(), msg) {
				t.Errorf("%q rs %d: got %q, %v; want error %q", tc.content, tc.rs, got, err, msg)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("%q rs %d: got %q, %v; want %q", tc.content, tc.rs, got, err, tc.want)
		}
	}
}

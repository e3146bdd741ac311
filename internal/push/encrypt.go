package push

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
)

// The body of a push message is one RFC 8188 record behind a header: salt,
// record size, key id length and the sender's public key as the key id; the
// record is the payload, a one-byte delimiter, padding and the AES-GCM tag.
const (
	saltLen      = 16
	keyIDLen     = 65 // uncompressed P-256 point
	headerLen    = saltLen + 4 + 1 + keyIDLen
	gcmTagLen    = 16
	bodyOverhead = headerLen + 1 + gcmTagLen
	// recordSizeField is the rs the header announces: the record fits in it,
	// and 4096 is what every push service accepts.
	recordSizeField = 4096
)

// padBlock is what bodies are padded to a multiple of. The push service sees
// each body's length, so padding hides which text went out; 512 hides it as
// well for our short payloads as padding to 4096 would, at an eighth of the
// work and upload.
const padBlock = 512

// bodySize is the length of the body that carries a payload of n bytes.
func bodySize(n int) int {
	return (n + bodyOverhead + padBlock - 1) / padBlock * padBlock
}

// encrypt seals payload for one browser (RFC 8291): a fresh key pair and salt
// per message, the shared secret bound to both public keys and the browser's
// auth secret, and one aes128gcm record (RFC 8188) padded to bodySize.
func encrypt(ua *ecdh.PublicKey, auth, payload []byte) ([]byte, error) {
	eph, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	secret, err := eph.ECDH(ua)
	if err != nil {
		return nil, err
	}
	ephPublic := eph.PublicKey().Bytes()
	info := make([]byte, 0, 14+2*keyIDLen)
	info = append(info, "WebPush: info\x00"...)
	info = append(info, ua.Bytes()...)
	info = append(info, ephPublic...)
	ikm, err := hkdf.Key(sha256.New, secret, auth, string(info), 32)
	if err != nil {
		return nil, err
	}

	size := bodySize(len(payload))
	body := make([]byte, headerLen, size)
	if _, err := rand.Read(body[:saltLen]); err != nil {
		return nil, err
	}
	prk, err := hkdf.Extract(sha256.New, ikm, body[:saltLen])
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	binary.BigEndian.PutUint32(body[saltLen:], recordSizeField)
	body[saltLen+4] = keyIDLen
	copy(body[saltLen+5:], ephPublic)

	// The plaintext is built in place where the ciphertext will go: payload,
	// the 0x02 that marks the last record, zeros up to the body's size.
	plain := body[headerLen : size-gcmTagLen]
	n := copy(plain, payload)
	plain[n] = 0x02
	clear(plain[n+1:])
	return gcm.Seal(body[:headerLen], nonce, plain, nil), nil
}

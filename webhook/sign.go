package webhook

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"strings"
)

// SecretPrefix marks a Standard Webhooks secret: the key is the base64
// decoding of what follows it.
const SecretPrefix = "whsec_"

// ErrBadSecret is returned for a secret that cannot key a signature. Its
// message never includes the secret.
var ErrBadSecret = errors.New("signing secret is not usable")

// DecodeSecret returns the HMAC key of a secret: the base64 decoding of what
// follows "whsec_", or the raw bytes of a secret without that prefix (such
// as one a client chose through a compatibility API).
func DecodeSecret(secret string) ([]byte, error) {
	if secret == "" {
		return nil, errors.Join(ErrBadSecret, errors.New("the secret is empty"))
	}
	rest, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return []byte(secret), nil
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(key) == 0 {
		// base64's own error names a byte offset only, but say it plainly.
		return nil, errors.Join(ErrBadSecret, errors.New("a whsec_ secret must be followed by standard base64"))
	}
	return key, nil
}

// Sign returns the Standard Webhooks signature "v1,<base64 HMAC-SHA256 of
// id.ts.body>" for one secret.
func Sign(secret, id string, ts int64, body []byte) (string, error) {
	key, err := DecodeSecret(secret)
	if err != nil {
		return "", err
	}
	return string(AppendSignature(nil, key, id, ts, body)), nil
}

// AppendSignature appends "v1,<signature>" made with a decoded key to dst.
// The signed content is written to the MAC piece by piece, never concatenated.
func AppendSignature(dst, key []byte, id string, ts int64, body []byte) []byte {
	return newSigner(key).appendSignature(dst, id, ts, body)
}

// SignCallFire returns the X-CallFire-Signature of a body: the standard
// Base64 (padded) of the HMAC-SHA1 of the exact body bytes, keyed by the
// secret's raw string bytes, which is what CallFire's published verifiers
// compute and compare (CallFire's scheme does not decode whsec_ secrets).
func SignCallFire(secret string, body []byte) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write(body)
	var sum [sha1.Size]byte
	return base64.StdEncoding.EncodeToString(mac.Sum(sum[:0]))
}

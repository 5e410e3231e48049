package verify_test

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookd/hookd/verify"
	"github.com/hookd/hookd/webhook"
)

const (
	vectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTS     = 1614265330
	vectorBody   = `{"test": 2432232314}`
	vectorSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func headers(id, ts, sig string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", sig)
	return h
}

func vectorVerifier(t *testing.T, opts ...verify.Option) *verify.Verifier {
	t.Helper()
	at := time.Unix(vectorTS, 0)
	v, err := verify.New(vectorSecret, append([]verify.Option{verify.WithClock(func() time.Time { return at })}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifyPublishedVector(t *testing.T) {
	t.Parallel()
	v := vectorVerifier(t)
	if err := v.Verify(headers(vectorID, strconv.Itoa(vectorTS), vectorSig), []byte(vectorBody)); err != nil {
		t.Errorf("Verify = %v", err)
	}
	// Any of several signatures may match, in any position.
	multi := "v1,bm90IGl0 v2,whatever " + vectorSig
	if err := v.Verify(headers(vectorID, strconv.Itoa(vectorTS), multi), []byte(vectorBody)); err != nil {
		t.Errorf("Verify with several signatures = %v", err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	ts := strconv.Itoa(vectorTS)
	tests := []struct {
		name string
		h    http.Header
		body string
		want error
	}{
		{"no id", headers("", ts, vectorSig), vectorBody, verify.ErrMissingHeaders},
		{"no timestamp", headers(vectorID, "", vectorSig), vectorBody, verify.ErrMissingHeaders},
		{"no signature", headers(vectorID, ts, ""), vectorBody, verify.ErrMissingHeaders},
		{"timestamp not a number", headers(vectorID, "yesterday", vectorSig), vectorBody, verify.ErrInvalidTimestamp},
		{"too old", headers(vectorID, strconv.Itoa(vectorTS-301), vectorSig), vectorBody, verify.ErrTimestampTooOld},
		{"too new", headers(vectorID, strconv.Itoa(vectorTS+301), vectorSig), vectorBody, verify.ErrTimestampTooNew},
		{"other body", headers(vectorID, ts, vectorSig), `{"test": 2432232315}`, verify.ErrNoMatchingSignature},
		{"other id", headers("msg_other", ts, vectorSig), vectorBody, verify.ErrNoMatchingSignature},
		{"other version", headers(vectorID, ts, "v2,"+vectorSig[3:]), vectorBody, verify.ErrNoMatchingSignature},
		{"bare signature", headers(vectorID, ts, vectorSig[3:]), vectorBody, verify.ErrNoMatchingSignature},
	}
	v := vectorVerifier(t)
	for _, tt := range tests {
		if err := v.Verify(tt.h, []byte(tt.body)); !errors.Is(err, tt.want) {
			t.Errorf("%s: Verify = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestVerifyTolerance(t *testing.T) {
	t.Parallel()
	h := headers(vectorID, strconv.Itoa(vectorTS-3600), vectorSig)
	if err := vectorVerifier(t).Verify(h, []byte(vectorBody)); !errors.Is(err, verify.ErrTimestampTooOld) {
		t.Errorf("an hour old with the default tolerance: %v, want ErrTimestampTooOld", err)
	}
	if err := vectorVerifier(t, verify.WithTolerance(2*time.Hour)).Verify(h, []byte(vectorBody)); !errors.Is(err, verify.ErrNoMatchingSignature) {
		// The timestamp passes; the signature was made for another one.
		t.Errorf("an hour old with a 2 h tolerance: %v, want ErrNoMatchingSignature", err)
	}
	at5m := headers(vectorID, strconv.Itoa(vectorTS), vectorSig)
	v := vectorVerifier(t, verify.WithClock(func() time.Time { return time.Unix(vectorTS+300, 0) }))
	if err := v.Verify(at5m, []byte(vectorBody)); err != nil {
		t.Errorf("exactly 5 minutes old: %v, want accepted", err)
	}
}

func TestNewRefusesBadSecret(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "whsec_", "whsec_%%%"} {
		if _, err := verify.New(s); !errors.Is(err, webhook.ErrBadSecret) {
			t.Errorf("New(%q) = %v, want ErrBadSecret", s, err)
		}
	}
}

// TestInteroperatesWithOfficialLibrary signs with the official library and
// verifies here, and the reverse, for a whsec_ secret and a raw one.
func TestInteroperatesWithOfficialLibrary(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"msg_1","type":"a.b","timestamp":1,"data":{"x":[1,2,3]}}`)
	now := time.Now()
	ts := strconv.FormatInt(now.Unix(), 10)

	official, err := standardwebhooks.NewWebhook(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := official.Sign("msg_1", now, body)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(headers("msg_1", ts, theirs), body); err != nil {
		t.Errorf("verify refused the official library's signature: %v", err)
	}
	ours, err := webhook.Sign(vectorSecret, "msg_1", now.Unix(), body)
	if err != nil {
		t.Fatal(err)
	}
	if err := official.Verify(body, headers("msg_1", ts, ours)); err != nil {
		t.Errorf("the official library refused our signature: %v", err)
	}

	const raw = "a-raw-secret-chosen-by-a-client"
	officialRaw, _ := standardwebhooks.NewWebhookRaw([]byte(raw))
	oursRaw, err := webhook.Sign(raw, "msg_1", now.Unix(), body)
	if err != nil {
		t.Fatal(err)
	}
	if err := officialRaw.Verify(body, headers("msg_1", ts, oursRaw)); err != nil {
		t.Errorf("the official library (raw key) refused our signature: %v", err)
	}
	vRaw, _ := verify.New(raw)
	if err := vRaw.Verify(headers("msg_1", ts, oursRaw), body); err != nil {
		t.Errorf("verify (raw secret): %v", err)
	}
}

func TestVerifyCallFire(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"x"}`)
	const secret = "my-callfire-secret"
	const sig = "6dd5073cd54f6b84f9de873e4499ca41df78be2e" // computed with Python's hmac
	h := http.Header{}
	h.Set("X-CallFire-Signature", sig)
	if err := verify.VerifyCallFire(secret, h, body); err != nil {
		t.Errorf("VerifyCallFire = %v", err)
	}
	h.Set("X-CallFire-Signature", "6DD5073CD54F6B84F9DE873E4499CA41DF78BE2E")
	if err := verify.VerifyCallFire(secret, h, body); err != nil {
		t.Errorf("VerifyCallFire (upper-case hex) = %v", err)
	}
	if err := verify.VerifyCallFire("another-secret", h, body); !errors.Is(err, verify.ErrNoMatchingSignature) {
		t.Errorf("VerifyCallFire with another secret = %v, want ErrNoMatchingSignature", err)
	}
	if err := verify.VerifyCallFire(secret, h, []byte(`{"id":"y"}`)); !errors.Is(err, verify.ErrNoMatchingSignature) {
		t.Errorf("VerifyCallFire with another body = %v, want ErrNoMatchingSignature", err)
	}
	if err := verify.VerifyCallFire(secret, http.Header{}, body); !errors.Is(err, verify.ErrMissingHeaders) {
		t.Errorf("VerifyCallFire without the header = %v, want ErrMissingHeaders", err)
	}
}

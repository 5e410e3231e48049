package verify_test

import (
	"bytes"
	"errors"

	"net/http"
	"strconv"
	"strings"
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
	// CallFire's published vector: its Java and PHP verifiers expect this
	// Base64 HMAC-SHA1 for this body and secret.
	body := []byte(`{"name":"test webhook", "callback":"sms:callfire"}`)
	const secret = "mysecrets"
	const sig = "v14pF7d5C1+CHNIEWlg+sw9v0Xg="
	header := func(v string) http.Header {
		h := http.Header{}
		if v != "" {
			h.Set("X-CallFire-Signature", v)
		}
		return h
	}
	if err := verify.VerifyCallFire(secret, header(sig), body); err != nil {
		t.Errorf("VerifyCallFire(CallFire's vector) = %v", err)
	}
	tests := []struct {
		name, secret, sig, body string
		want                    error
	}{
		{"another secret", "mysecret", sig, string(body), verify.ErrNoMatchingSignature},
		{"another body", secret, sig, `{"name":"test webhook","callback":"sms:callfire"}`, verify.ErrNoMatchingSignature},
		{"hex of the same MAC", secret, "bf5e2917b7790b5f821cd2045a583eb30f6fd178", string(body), verify.ErrNoMatchingSignature},
		{"unpadded", secret, strings.TrimSuffix(sig, "="), string(body), verify.ErrNoMatchingSignature},
		{"URL alphabet", secret, strings.ReplaceAll(sig, "+", "-"), string(body), verify.ErrNoMatchingSignature},
		{"no header", secret, "", string(body), verify.ErrMissingHeaders},
	}
	for _, tt := range tests {
		if err := verify.VerifyCallFire(tt.secret, header(tt.sig), []byte(tt.body)); !errors.Is(err, tt.want) {
			t.Errorf("%s: VerifyCallFire = %v, want %v", tt.name, err, tt.want)
		}
	}
}

// FuzzVerifyCallFire: what SignCallFire makes verifies, and any change of
// the body does not.
func FuzzVerifyCallFire(f *testing.F) {
	f.Add("mysecrets", []byte(`{"name":"test webhook", "callback":"sms:callfire"}`))
	f.Add("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", []byte(`{}`))
	f.Fuzz(func(t *testing.T, secret string, body []byte) {
		h := http.Header{}
		h.Set("X-CallFire-Signature", webhook.SignCallFire(secret, body))
		if err := verify.VerifyCallFire(secret, h, body); err != nil {
			t.Fatalf("VerifyCallFire of its own signature = %v", err)
		}
		if err := verify.VerifyCallFire(secret, h, append(bytes.Clone(body), 'x')); err == nil {
			t.Fatal("a changed body verifies")
		}
	})
}

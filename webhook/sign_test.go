package webhook_test

import (
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

func TestSignPublishedVector(t *testing.T) {
	t.Parallel()
	got, err := webhook.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}

func TestSignRawSecret(t *testing.T) {
	t.Parallel()
	// A secret without the whsec_ prefix keys the MAC with its own bytes
	// (expected value computed independently with Python's hmac module).
	got, err := webhook.Sign("plain-secret-123", "id", 5, []byte("body"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,OMUgImjllgTXSDKG7vBvsX84YMI/M3wYsmRzIOOFC6c="; got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}

func TestSignCallFire(t *testing.T) {
	t.Parallel()
	tests := []struct{ secret, body, want string }{
		// CallFire's published vector (its Java and PHP webhook verifiers).
		{"mysecrets", `{"name":"test webhook", "callback":"sms:callfire"}`, "v14pF7d5C1+CHNIEWlg+sw9v0Xg="},
		// Computed with openssl dgst -sha1 -hmac … -binary | base64.
		{"my-callfire-secret", `{"id":"x"}`, "bdUHPNVPa4T53oc+RJnKQd94vi4="},
	}
	for _, tt := range tests {
		if got := webhook.SignCallFire(tt.secret, []byte(tt.body)); got != tt.want {
			t.Errorf("SignCallFire(%q, %s) = %q, want %q", tt.secret, tt.body, got, tt.want)
		}
	}
}

func TestDecodeSecretRejects(t *testing.T) {
	t.Parallel()
	for _, secret := range []string{"", "whsec_", "whsec_not*base64*at-all", "whsec_abc"} {
		_, err := webhook.DecodeSecret(secret)
		if !errors.Is(err, webhook.ErrBadSecret) {
			t.Errorf("DecodeSecret(%q) = %v, want ErrBadSecret", secret, err)
			continue
		}
		if rest := strings.TrimPrefix(secret, "whsec_"); rest != "" && strings.Contains(err.Error(), rest) {
			t.Errorf("DecodeSecret(%q) error %q contains the secret", secret, err)
		}
		if _, err := webhook.Sign(secret, "id", 1, nil); !errors.Is(err, webhook.ErrBadSecret) {
			t.Errorf("Sign(%q) = %v, want ErrBadSecret", secret, err)
		}
	}
}

// FuzzSign checks that what Sign makes, the official library and package
// verify accept, and that they refuse it for another body.
func FuzzSign(f *testing.F) {
	f.Add("msg_p5jXN8AQM9LWM0D4loKWxJek", int64(1614265330), []byte(`{"test": 2432232314}`))
	f.Add("", int64(0), []byte{})
	f.Add("id with spaces,and.dots", int64(-1), []byte("\x00\xff"))
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	official, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		f.Fatal(err)
	}
	v, err := verify.New(secret, verify.WithTolerance(0))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id string, ts int64, body []byte) {
		if strings.ContainsAny(id, "\r\n") || strings.TrimSpace(id) != id {
			t.Skip() // not representable in an HTTP header
		}
		sig, err := webhook.Sign(secret, id, ts, body)
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
		h.Set("webhook-signature", sig)
		if id != "" {
			if err := official.VerifyIgnoringTimestamp(body, h); err != nil {
				t.Fatalf("official library refused %q: %v", sig, err)
			}
			if err := v.Verify(h, body); err != nil {
				t.Fatalf("verify refused %q: %v", sig, err)
			}
		}
		other := append([]byte("x"), body...)
		if err := v.Verify(h, other); err == nil {
			t.Fatalf("verify accepted a signature for another body")
		}
	})
}

func BenchmarkSign(b *testing.B) {
	key, err := webhook.DecodeSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"id":"msg_p5jXN8AQM9LWM0D4loKWxJek","type":"CallBroadcast.started","timestamp":1614265330,"data":{"broadcastId":1234567,"name":"spring campaign","status":"RUNNING"}}`)
	ts := time.Unix(1614265330, 0).Unix()
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		buf = webhook.AppendSignature(buf[:0], key, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, body)
	}
}

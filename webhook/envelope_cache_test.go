package webhook_test

import (
	"context"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/verify"
	"github.com/hookd/hookd/webhook"
)

// TestSendSharesEventBodySafely sends one event (one *Event, as a claim
// hands it out) to three webhooks: two without a projection, which share the
// cached body, and one with fields, which must get its own body; each
// delivery verifies with its own secret.
func TestSendSharesEventBodySafely(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, nil)
	c := newClient(t, webhook.Config{Policy: loopback})
	base := newJob(rcv.URL)
	secrets := []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", testSecret, "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"}
	for i, s := range secrets {
		j := &hookd.Job{Delivery: &hookd.Delivery{ID: "dlv_" + s[6:9]}, Event: base.Event, Webhook: &hookd.Webhook{
			ID: "wh_" + s[6:9], URL: rcv.URL, Secret: s, TLSVerify: true, Enabled: true, Status: hookd.StatusActive,
		}}
		if i == 1 {
			j.Webhook.Fields = []string{"name"}
		}
		if res := c.Send(context.Background(), j); res.Attempt.ErrorClass != hookd.ClassNone {
			t.Fatalf("Send %d = %+v", i, res.Attempt)
		}
	}
	got := rcv.received()
	if len(got) != 3 {
		t.Fatalf("receiver got %d requests, want 3", len(got))
	}
	if string(got[0].Body) != string(got[2].Body) {
		t.Errorf("the two unprojected deliveries differ:\n%s\n%s", got[0].Body, got[2].Body)
	}
	if want := `{"id":"msg_p5jXN8AQM9LWM0D4loKWxJek","type":"CallBroadcast.started","timestamp":1700000000,"data":{"name":"spring"}}`; string(got[1].Body) != want {
		t.Errorf("projected body = %s, want %s", got[1].Body, want)
	}
	for i, s := range secrets {
		v, err := verify.New(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Verify(got[i].Header, got[i].Body); err != nil {
			t.Errorf("delivery %d does not verify with its secret: %v", i, err)
		}
	}
}

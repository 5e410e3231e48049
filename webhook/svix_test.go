package webhook_test

import (
	"context"
	"testing"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/webhook"
)

// A webhook made through Svix's API is delivered as Svix delivers: the
// event's data (the message payload) as the body, exactly, and svix-*
// headers that Svix's own verifier accepts; a custom header cannot replace
// them.
func TestSendSvix(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, nil)
	c := newClient(t, webhook.Config{Policy: loopback})
	job := newJob(rcv.URL)
	job.Webhook.Source = "svix"
	job.Webhook.Headers = map[string]string{"Svix-Id": "forged", "X-Team": "billing"}
	if res := c.Send(context.Background(), job); res.Attempt.ErrorClass != hookd.ClassNone {
		t.Fatalf("Send = %+v", res.Attempt)
	}
	got := rcv.only(t)
	if string(got.Body) != string(job.Event.Data) {
		t.Errorf("body = %s, want the payload as given: %s", got.Body, job.Event.Data)
	}
	for _, h := range []string{"id", "timestamp", "signature"} {
		if sv, wh := got.Header.Values("svix-"+h), got.Header.Values("webhook-"+h); len(sv) != 1 || len(wh) != 1 || sv[0] != wh[0] {
			t.Errorf("svix-%s = %q, webhook-%s = %q; want one value each, equal", h, sv, h, wh)
		}
	}
	if got.Header.Get("svix-id") != job.Event.ID || got.Header.Get("X-Team") != "billing" {
		t.Errorf("headers = %v", got.Header)
	}
	wh, err := svix.NewWebhook(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.VerifyIgnoringTimestamp(got.Body, got.Header); err != nil {
		t.Errorf("Svix's Webhook.Verify: %v", err)
	}

	// Other webhooks carry no svix-* header.
	plain := newReceiver(t, nil)
	c.Send(context.Background(), newJob(plain.URL))
	if h := plain.only(t).Header.Get("svix-id"); h != "" {
		t.Errorf("a webhook not made through Svix's API got svix-id %q", h)
	}
}

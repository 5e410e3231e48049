package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
)

// TestListen points a webhook at `hookd listen` and checks that the
// listener prints the delivery with a valid signature.
func TestListen(t *testing.T) {
	t.Parallel()
	in := startHookd(t, "--allow-private-networks")
	c := in.client(t, in.liveKey)
	wh := c.must(201, "POST", "/v1/webhooks", map[string]any{"url": "https://example.com/placeholder"}).data(t)

	addr, out := startListen(t, str(wh["secret"]))
	c.must(200, "PATCH", "/v1/webhooks/{id}", map[string]any{"url": addr + "/hook"}, str(wh["id"]))
	msgID := str(c.must(200, "POST", "/v1/webhooks/{id}/test", nil, str(wh["id"])).data(t)["message_id"])
	waitFor(t, "the delivery to be printed", func() bool { return strings.Contains(out.String(), "webhook-id: "+msgID) })
	printed := out.String()
	for _, want := range []string{"POST /hook", "signature: valid", `"type": "webhook.test"`, "answered: 204"} {
		if !strings.Contains(printed, want) {
			t.Errorf("listen printed no %q:\n%s", want, printed)
		}
	}
}

// TestListenCallFire points a webhook made through the CallFire API at
// `hookd listen`, which checks X-CallFire-Signature with the secret the
// client chose.
func TestListenCallFire(t *testing.T) {
	t.Parallel()
	in := startHookd(t, "--allow-private-networks")
	c := in.client(t, in.liveKey)
	const secret = "callfire-listen-secret"
	addr, out := startListen(t, secret)
	c.must(200, "POST", "/compat/callfire/v2/webhooks", map[string]any{
		"name": "listen", "resource": "OutboundText", "events": []string{"Finished"}, "callback": addr + "/cf", "secret": secret,
	})
	c.must(202, "POST", "/v1/events", map[string]any{"type": "OutboundText.finished", "data": map[string]any{"id": 7}})
	waitFor(t, "the delivery to be printed", func() bool { return strings.Contains(out.String(), "POST /cf") })
	waitFor(t, "the verdict", func() bool { return strings.Contains(out.String(), "answered:") })
	printed := out.String()
	for _, want := range []string{"signature: valid; X-CallFire-Signature valid", "answered: 204", `"eventType": "Finished"`} {
		if !strings.Contains(printed, want) {
			t.Errorf("listen printed no %q:\n%s", want, printed)
		}
	}
}

// startListen runs `hookd listen --secret secret` on a free port until the
// test ends and returns its URL and output.
func startListen(t *testing.T, secret string) (string, *syncBuffer) {
	t.Helper()
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"listen", "--addr", "127.0.0.1:0", "--secret", secret}, nil, out, out)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("hookd listen exited with %d: %s", code, out.String())
		}
	})
	var addr string
	waitFor(t, "hookd listen to listen", func() bool {
		m := regexp.MustCompile(`on (http://\S+)`).FindStringSubmatch(out.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	return addr, out
}

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

	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"listen", "--addr", "127.0.0.1:0", "--secret", str(wh["secret"])}, nil, out, out)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("hookd listen exited with %d: %s", code, out.String())
		}
	}()
	var addr string
	waitFor(t, "hookd listen to listen", func() bool {
		m := regexp.MustCompile(`on (http://\S+)`).FindStringSubmatch(out.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
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

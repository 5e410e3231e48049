package hookd_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func validWebhook() *hookd.Webhook {
	return &hookd.Webhook{
		URL:        "https://receiver.example.com/hooks?src=hookd",
		Name:       "calls",
		EventTypes: []string{"CALL_LOGGED", "CallBroadcast.*", "*"},
		Filter:     json.RawMessage(`{"data.disposition": {"$in": [1, 4]}}`),
		Fields:     []string{"disposition", "call.id"},
		Headers:    map[string]string{"Authorization": "Bearer x", "X-Custom_1": "v"},
		Metadata:   map[string]string{"team": "a"},
		Secret:     "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	}
}

func TestWebhookValidate(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Second), now.Add(time.Hour)
	rate := func(n int) *int { return &n }
	many := func(n int) map[string]string {
		m := map[string]string{}
		for i := range n {
			m[fmt.Sprintf("X-H%d", i)] = "v"
		}
		return m
	}
	if err := validWebhook().Validate(now); err != nil {
		t.Fatalf("valid webhook: %v", err)
	}
	ok := []func(*hookd.Webhook){
		func(w *hookd.Webhook) { w.Filter = json.RawMessage("null") },
		func(w *hookd.Webhook) { w.Secret = "" },
		func(w *hookd.Webhook) { w.Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" },
		func(w *hookd.Webhook) { w.ExpiresAt = &future },
		func(w *hookd.Webhook) { w.RateLimit = rate(1) },
		func(w *hookd.Webhook) { w.URL = "http://127.0.0.1:8080/x" }, // addresses are the NetPolicy's business
	}
	for i, edit := range ok {
		w := validWebhook()
		edit(w)
		if err := w.Validate(now); err != nil {
			t.Errorf("valid edit %d: %v", i, err)
		}
	}
	tests := []struct {
		name string
		edit func(*hookd.Webhook)
		want string // the message starts with the field's name
	}{
		{"no url", func(w *hookd.Webhook) { w.URL = "" }, "url"},
		{"relative url", func(w *hookd.Webhook) { w.URL = "/hooks" }, "url"},
		{"ftp url", func(w *hookd.Webhook) { w.URL = "ftp://example.com/" }, "url"},
		{"not a url", func(w *hookd.Webhook) { w.URL = "not a url" }, "url"},
		{"unparseable url", func(w *hookd.Webhook) { w.URL = "http://[::1" }, "url"},
		{"url without host", func(w *hookd.Webhook) { w.URL = "https:///path" }, "url"},
		{"url with user-info", func(w *hookd.Webhook) { w.URL = "https://user:pw@example.com/" }, "url"},
		{"url with a non-ASCII host", func(w *hookd.Webhook) { w.URL = "https://bücher.example/hook" }, "url"},
		{"long url", func(w *hookd.Webhook) { w.URL = "https://example.com/" + strings.Repeat("a", hookd.MaxURLLength) }, "url"},
		{"long name", func(w *hookd.Webhook) { w.Name = strings.Repeat("n", hookd.MaxNameLength+1) }, "name"},
		{"long description", func(w *hookd.Webhook) { w.Description = strings.Repeat("d", hookd.MaxDescriptionLength+1) }, "description"},
		{"too many event types", func(w *hookd.Webhook) { w.EventTypes = make([]string, hookd.MaxEventTypes+1) }, "event_types"},
		{"bad event type", func(w *hookd.Webhook) { w.EventTypes = []string{"ok", "bad type"} }, "event_types[1]"},
		{"bad wildcard", func(w *hookd.Webhook) { w.EventTypes = []string{"*.started"} }, "event_types[0]"},
		{"bad filter", func(w *hookd.Webhook) { w.Filter = json.RawMessage(`{"a": {"$in": 1}}`) }, "filter"},
		{"filter not JSON", func(w *hookd.Webhook) { w.Filter = json.RawMessage(`{`) }, "filter"},
		{"too many fields", func(w *hookd.Webhook) { w.Fields = slices.Repeat([]string{"a"}, hookd.MaxFields+1) }, "fields"},
		{"empty field", func(w *hookd.Webhook) { w.Fields = []string{""} }, "fields[0]"},
		{"bad field", func(w *hookd.Webhook) { w.Fields = []string{"a", "a..b"} }, "fields[1]"},
		{"field with leading dot", func(w *hookd.Webhook) { w.Fields = []string{".a"} }, "fields[0]"},
		{"expired", func(w *hookd.Webhook) { w.ExpiresAt = &past }, "expires_at"},
		{"expires now", func(w *hookd.Webhook) { w.ExpiresAt = &now }, "expires_at"},
		{"too many headers", func(w *hookd.Webhook) { w.Headers = many(hookd.MaxHeaders + 1) }, "headers"},
		{"bad header name", func(w *hookd.Webhook) { w.Headers = map[string]string{"X Bad": "v"} }, "headers"},
		{"empty header name", func(w *hookd.Webhook) { w.Headers = map[string]string{"": "v"} }, "headers"},
		{"reserved header", func(w *hookd.Webhook) { w.Headers = map[string]string{"content-type": "text/plain"} }, "headers"},
		{"connection header", func(w *hookd.Webhook) { w.Headers = map[string]string{"Connection": "close"} }, "headers"},
		{"NUL in name", func(w *hookd.Webhook) { w.Name = "a\x00b" }, "name"},
		{"invalid UTF-8 in description", func(w *hookd.Webhook) { w.Description = "caf\xe9" }, "description"},
		{"NUL in metadata", func(w *hookd.Webhook) { w.Metadata = map[string]string{"k": "v\x00"} }, "metadata"},
		{"invalid UTF-8 in a header value", func(w *hookd.Webhook) { w.Headers = map[string]string{"X-A": "\xff"} }, "headers"},
		{"transfer-encoding header", func(w *hookd.Webhook) { w.Headers = map[string]string{"transfer-encoding": "chunked"} }, "headers"},
		{"user-agent header", func(w *hookd.Webhook) { w.Headers = map[string]string{"User-Agent": "x"} }, "headers"},
		{"webhook- header", func(w *hookd.Webhook) { w.Headers = map[string]string{"Webhook-Signature": "v1,x"} }, "headers"},
		{"header value with newline", func(w *hookd.Webhook) { w.Headers = map[string]string{"X-A": "a\r\nX-B: b"} }, "headers"},
		{"rate limit 0", func(w *hookd.Webhook) { w.RateLimit = rate(0) }, "rate_limit"},
		{"rate limit too high", func(w *hookd.Webhook) { w.RateLimit = rate(hookd.MaxRateLimit + 1) }, "rate_limit"},
		{"too much metadata", func(w *hookd.Webhook) { w.Metadata = many(hookd.MaxMetadata + 1) }, "metadata"},
		{"short secret", func(w *hookd.Webhook) { w.Secret = "short" }, "secret"},
		{"long secret", func(w *hookd.Webhook) { w.Secret = strings.Repeat("s", 257) }, "secret"},
		{"secret with space", func(w *hookd.Webhook) { w.Secret = "has a space" }, "secret"},
		{"whsec_ secret not base64", func(w *hookd.Webhook) { w.Secret = "whsec_not*base64!" }, "secret"},
		{"plain secret", func(w *hookd.Webhook) { w.Secret = "plain-secret-of-a-client" }, "secret"},
		{"whsec_ key too short", func(w *hookd.Webhook) { w.Secret = "whsec_AAAA" }, "secret"},
		{"whsec_ key too long", func(w *hookd.Webhook) { w.Secret = hookd.SecretFromText(strings.Repeat("k", 257)) }, "secret"},
	}
	for _, tt := range tests {
		w := validWebhook()
		tt.edit(w)
		err := w.Validate(now)
		if hookd.ErrorCode(err) != hookd.EINVALID || !strings.HasPrefix(hookd.ErrorMessage(err), tt.want) {
			t.Errorf("%s: Validate = %v, want EINVALID starting with %q", tt.name, err, tt.want)
		}
	}
}

func TestWebhookSecrets(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	until := now.Add(time.Hour)
	w := &hookd.Webhook{Secret: "new", PreviousSecret: "old", PreviousSecretExpiresAt: &until}
	if got := w.Secrets(now); !slices.Equal(got, []string{"new", "old"}) {
		t.Errorf("during the grace period: %q", got)
	}
	if got := w.Secrets(until); !slices.Equal(got, []string{"new"}) {
		t.Errorf("after the grace period: %q", got)
	}
	if s := hookd.NewSecret(); !strings.HasPrefix(s, "whsec_") || hookd.ValidateSecret(s) != nil || hookd.SecretText(s) != s {
		t.Errorf("NewSecret() = %q, not a valid whsec_ secret shown as itself", s)
	}
}

// TestSecretFromText checks that a secret chosen as any string (CallFire)
// becomes a whsec_ secret that shows as that string again, and that a
// whsec_ secret shown as itself is kept.
func TestSecretFromText(t *testing.T) {
	t.Parallel()
	generated := hookd.NewSecret()
	for _, text := range []string{"s3cr3t-token", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", generated, "whsec_not-base64"} {
		s := hookd.SecretFromText(text)
		if err := hookd.ValidateSecret(s); err != nil {
			t.Errorf("SecretFromText(%q) = %q: %v", text, s, err)
		}
		if got := hookd.SecretText(s); got != text {
			t.Errorf("SecretText(SecretFromText(%q)) = %q", text, got)
		}
	}
	if got := hookd.SecretFromText(generated); got != generated {
		t.Errorf("SecretFromText(%q) = %q, want it kept", generated, got)
	}
}

func TestNewIDOrdering(t *testing.T) {
	t.Parallel()
	shape := regexp.MustCompile(`^wh_[0-9a-hjkmnp-tv-z]{26}$`)
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var ids []string
	seen := map[string]bool{}
	for i := range 2000 {
		// Several ids per millisecond, and times that cross byte boundaries.
		at := start.Add(time.Duration(i/3) * time.Millisecond * 97)
		id := hookd.NewIDAt("wh", at)
		if !shape.MatchString(id) {
			t.Fatalf("NewIDAt = %q, want wh_ and 26 lower-case Crockford base32 characters", id)
		}
		if seen[id] {
			t.Fatalf("NewIDAt made %q twice", id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	for i := 3; i < len(ids); i++ {
		if prev := ids[i-3]; prev >= ids[i] {
			t.Fatalf("id %q made a millisecond-step later does not sort after %q", ids[i], prev)
		}
	}
	if a, b := hookd.NewIDAt("evt", time.UnixMilli(1)), hookd.NewIDAt("evt", time.UnixMilli(1<<40)); a >= b {
		t.Errorf("%q does not sort before %q", a, b)
	}
	if id := hookd.NewID("evt"); !strings.HasPrefix(id, "evt_") || len(id) != len("evt_")+26 {
		t.Errorf("NewID = %q", id)
	}
}

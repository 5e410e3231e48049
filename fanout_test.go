package hookd_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hookd/hookd"
)

func TestRecipients(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	past := now.Add(-time.Hour)
	sub := func(id string, types []string, filter string, status hookd.WebhookStatus, exp *time.Time) hookd.Subscriber {
		t.Helper()
		var f []byte
		if filter != "" {
			f = []byte(filter)
		}
		s, err := hookd.NewSubscriber(id, types, f, status, exp, now)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	subs := []hookd.Subscriber{
		sub("all", nil, "", hookd.StatusActive, nil),
		sub("calls", []string{"Call.*"}, "", hookd.StatusActive, nil),
		sub("disp", []string{"Call.logged"}, `{"data.disposition": {"$in": [1, 4]}}`, hookd.StatusActive, nil),
		sub("expired", nil, "", hookd.StatusActive, &past),
		sub("auto", nil, "", hookd.StatusAutoDisabled, nil),
		sub("ops", []string{"webhook.disabled"}, "", hookd.StatusActive, nil),
		sub("webhooks", []string{"webhook.*"}, "", hookd.StatusActive, nil),
	}
	for _, tc := range []struct {
		name      string
		req       hookd.PublishRequest
		want      []string
		wantFound bool
		wantCode  string
	}{
		{"filter matches", hookd.PublishRequest{Event: ev("Call.logged", `{"disposition": 4}`)}, []string{"all", "calls", "disp"}, false, ""},
		{"filter refuses", hookd.PublishRequest{Event: ev("Call.logged", `{"disposition": 2}`)}, []string{"all", "calls"}, false, ""},
		{"other type", hookd.PublishRequest{Event: ev("Text.sent", `{}`)}, []string{"all"}, false, ""},
		{"an ordinary webhook.disabled", hookd.PublishRequest{Event: ev("webhook.disabled", `{}`)}, []string{"all", "ops", "webhooks"}, false, ""},
		{"test event reaches every enabled one", hookd.PublishRequest{Test: true, Event: ev("webhook.test", `{}`)},
			[]string{"all", "calls", "disp", "expired", "auto", "ops", "webhooks"}, false, ""},
		{"test event to one", hookd.PublishRequest{Test: true, WebhookID: "auto", Event: ev("webhook.test", `{}`)}, []string{"auto"}, true, ""},
		{"an operator event reaches only who named it", hookd.PublishRequest{System: true, Event: ev("webhook.disabled", `{}`)}, []string{"ops"}, false, ""},
		{"data a filter cannot read", hookd.PublishRequest{Event: ev("Call.logged", `not json`)}, []string{"all", "calls"}, false, hookd.EINVALID},
	} {
		got, err := hookd.Recipients(nil, &tc.req, subs)
		if code := hookd.ErrorCode(err); code != tc.wantCode {
			t.Errorf("%s: error %v, want code %q", tc.name, err, tc.wantCode)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: recipients (-want +got):\n%s", tc.name, diff)
		}
	}
}

func ev(typ, data string) *hookd.Event {
	return &hookd.Event{ID: "msg_1", Type: typ, Data: json.RawMessage(data)}
}

func TestUndeliverableReason(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	past := now.Add(-time.Second)
	active := &hookd.Webhook{Enabled: true, Status: hookd.StatusActive}
	for _, tc := range []struct {
		name string
		job  hookd.Job
		want string
	}{
		{"deliverable", hookd.Job{Webhook: active, Event: &hookd.Event{}}, ""},
		{"webhook deleted", hookd.Job{Event: &hookd.Event{}}, "webhook deleted"},
		{"event deleted", hookd.Job{Webhook: active}, "event deleted"},
		{"expired", hookd.Job{Webhook: &hookd.Webhook{Enabled: true, Status: hookd.StatusActive, ExpiresAt: &past}, Event: &hookd.Event{}}, "webhook expired"},
		{"disabled", hookd.Job{Webhook: &hookd.Webhook{Status: hookd.StatusDisabled}, Event: &hookd.Event{}}, "webhook disabled"},
		{"disabled but asked for by a person", hookd.Job{Webhook: &hookd.Webhook{Status: hookd.StatusDisabled}, Event: &hookd.Event{}, ManualAttempt: true}, ""},
	} {
		if got := tc.job.UndeliverableReason(now); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

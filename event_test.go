package hookd

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestPublishRequestValidate(t *testing.T) {
	t.Parallel()
	scope := Scope{TenantID: "ten_1", Mode: ModeLive}
	ok := func() *PublishRequest {
		return &PublishRequest{Scope: scope, Event: &Event{Type: "a.b", Data: json.RawMessage(`{}`)}}
	}
	tests := []struct {
		name string
		edit func(r *PublishRequest)
		want string // "" for valid
	}{
		{"valid", func(*PublishRequest) {}, ""},
		{"no event", func(r *PublishRequest) { r.Event = nil }, "event is required"},
		{"no tenant", func(r *PublishRequest) { r.Scope.TenantID = "" }, "scope"},
		{"bad mode", func(r *PublishRequest) { r.Scope.Mode = "prod" }, "scope"},
		{"long id", func(r *PublishRequest) { r.Event.ID = strings.Repeat("x", MaxEventIDLength+1) }, "at most"},
		{"NUL in id", func(r *PublishRequest) { r.Event.ID = "a\x00" }, "id must be valid UTF-8"},
		{"bad key", func(r *PublishRequest) { r.Event.IdempotencyKey = "\xff" }, "Idempotency-Key"},
		{"bad type", func(r *PublishRequest) { r.Event.Type = "" }, "type"},
		{"test event without type", func(r *PublishRequest) { r.Test, r.Event.Type = true, "" }, ""},
	}
	for _, tt := range tests {
		r := ok()
		tt.edit(r)
		err := r.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: Validate = %v, want nil", tt.name, err)
		case tt.want != "" && (ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: Validate = %v, want EINVALID containing %q", tt.name, err, tt.want)
		case tt.want == "" && string(r.Event.BodyHash) != string(ComputeBodyHash(r.Event.Type, r.Event.Data)):
			t.Errorf("%s: BodyHash not filled", tt.name)
		}
	}
}

func TestReplay(t *testing.T) {
	t.Parallel()
	prev := &Event{ID: "msg_1", BodyHash: ComputeBodyHash("a.b", []byte(`{}`))}
	same := &Event{BodyHash: ComputeBodyHash("a.b", []byte(`{}`))}
	if r := Replay(prev, 3, same, "event id msg_1"); r.Err != nil || r.Event != prev || r.Deliveries != 3 || !r.Replayed {
		t.Errorf("Replay of the same body = %+v, want prev's answer, replayed", r)
	}
	other := &Event{BodyHash: ComputeBodyHash("a.b", []byte(`{"x":1}`))}
	if r := Replay(prev, 3, other, "event id msg_1"); ErrorCode(r.Err) != ECONFLICT || !strings.Contains(r.Err.Error(), "event id msg_1") {
		t.Errorf("Replay of another body = %+v, want ECONFLICT naming the id", r)
	}
}

func TestClaimRequestValidate(t *testing.T) {
	t.Parallel()
	valid := ClaimRequest{Owner: "o", Limit: 1, Lease: time.Minute}
	if err := valid.Validate(); err != nil {
		t.Errorf("Validate(%+v) = %v", valid, err)
	}
	for _, r := range []ClaimRequest{{Owner: "o", Lease: 0}, {Owner: "", Lease: time.Minute}} {
		if err := r.Validate(); ErrorCode(err) != EINVALID {
			t.Errorf("Validate(%+v) = %v, want EINVALID", r, err)
		}
	}
}

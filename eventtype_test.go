package hookd_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hookd/hookd"
)

func TestMatchEventType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		patterns []string
		typ      string
		want     bool
	}{
		{nil, "CALL_LOGGED", true},
		{[]string{}, "CallBroadcast.started", true},
		{[]string{"*"}, "CallBroadcast.started", true},
		{[]string{"CALL_LOGGED"}, "CALL_LOGGED", true},
		{[]string{"CALL_LOGGED"}, "CALL_LOGGED_2", false},
		{[]string{"CALL_LOGGED"}, "call_logged", false},
		{[]string{"CallBroadcast.started"}, "CallBroadcast.started", true},
		{[]string{"CallBroadcast.started"}, "CallBroadcast.stopped", false},
		{[]string{"CallBroadcast.*"}, "CallBroadcast.started", true},
		{[]string{"CallBroadcast.*"}, "CallBroadcast.sub.event", true},
		{[]string{"CallBroadcast.*"}, "CallBroadcast", false},
		{[]string{"CallBroadcast.*"}, "CallBroadcastX.started", false},
		{[]string{"CallBroadcast.*"}, "TextBroadcast.started", false},
		{[]string{"Call.*"}, "CallBroadcast.started", false},
		{[]string{"a.b", "Text.*"}, "Text.sent", true},
		{[]string{"a.b", "Text.*"}, "a.c", false},
	}
	for _, tt := range tests {
		if got := hookd.MatchEventType(tt.patterns, tt.typ); got != tt.want {
			t.Errorf("MatchEventType(%q, %q) = %v, want %v", tt.patterns, tt.typ, got, tt.want)
		}
	}
}

func TestValidateEventTypeName(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"CALL_LOGGED", "CallBroadcast.started", "conversation.completed", "a", "a-b:c.d_e", strings.Repeat("x", hookd.MaxEventTypeName)} {
		if err := hookd.ValidateEventTypeName(ok); err != nil {
			t.Errorf("ValidateEventTypeName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".a", "a.", "a..b", "a b", "a*", "*", "é", strings.Repeat("x", hookd.MaxEventTypeName+1)} {
		if err := hookd.ValidateEventTypeName(bad); hookd.ErrorCode(err) != hookd.EINVALID {
			t.Errorf("ValidateEventTypeName(%q) = %v, want EINVALID", bad, err)
		}
	}
	for _, ok := range []string{"*", "CallBroadcast.*", "CALL_LOGGED"} {
		if err := hookd.ValidateEventTypePattern(ok); err != nil {
			t.Errorf("ValidateEventTypePattern(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{".*", "**", "a.**", "*.a", ""} {
		if err := hookd.ValidateEventTypePattern(bad); hookd.ErrorCode(err) != hookd.EINVALID {
			t.Errorf("ValidateEventTypePattern(%q) = %v, want EINVALID", bad, err)
		}
	}
}

func TestResources(t *testing.T) {
	t.Parallel()
	if got := hookd.ResourceOf("CallBroadcast.started"); got != "CallBroadcast" {
		t.Errorf("ResourceOf = %q", got)
	}
	if got := hookd.ResourceOf("CALL_LOGGED"); got != "CALL_LOGGED" {
		t.Errorf("ResourceOf = %q", got)
	}
	for _, tt := range []struct {
		patterns []string
		resource string
		want     bool
	}{
		{nil, "X", true},
		{[]string{"*"}, "X", true},
		{[]string{"X.*"}, "X", true},
		{[]string{"X.a"}, "X", true},
		{[]string{"Y.a"}, "X", false},
	} {
		if got := hookd.SubscribesToResource(tt.patterns, tt.resource); got != tt.want {
			t.Errorf("SubscribesToResource(%q, %q) = %v, want %v", tt.patterns, tt.resource, got, tt.want)
		}
	}
	missing := hookd.MissingEventTypes([]string{"*", "A.*", "A.x", "B.y", "C"}, map[string]bool{"A.x": true})
	if diff := cmp.Diff([]string{"B.y", "C"}, missing); diff != "" {
		t.Errorf("MissingEventTypes (-want +got):\n%s", diff)
	}
	got := hookd.GroupByResource([]*hookd.EventType{{Name: "B.z"}, {Name: "A.b"}, {Name: "CALL"}, {Name: "A.a"}})
	want := []hookd.Resource{{Name: "A", Events: []string{"a", "b"}}, {Name: "B", Events: []string{"z"}}, {Name: "CALL", Events: []string{""}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GroupByResource (-want +got):\n%s", diff)
	}
}

func TestConcreteEventTypes(t *testing.T) {
	t.Parallel()
	got := hookd.ConcreteEventTypes([]string{"a.b", "*", "c.*", "c.d"})
	if diff := cmp.Diff([]string{"a.b", "c.d"}, got); diff != "" {
		t.Errorf("ConcreteEventTypes (-want +got):\n%s", diff)
	}
}

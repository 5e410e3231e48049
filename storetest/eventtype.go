package storetest

import (
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hookd/hookd"
)

var eventTypeTests = []test{
	{"EventType/CRUD", testEventTypeCRUD},
	{"EventType/ListPaging", testEventTypeList},
	{"EventType/Ensure", testEventTypeEnsure},
}

func testEventTypeCRUD(e *env) {
	t := e.t
	s := e.scope("acme")
	et := &hookd.EventType{Name: "CallBroadcast.started", Description: "a broadcast began"}
	if err := e.svc.EventTypes.CreateEventType(e.ctx, s, et); err != nil {
		t.Fatal(err)
	}
	want := &hookd.EventType{Name: "CallBroadcast.started", Description: "a broadcast began", CreatedAt: Start, UpdatedAt: Start}
	got, err := e.svc.EventTypes.FindEventType(e.ctx, s, et.Name)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FindEventType (-want +got):\n%s", diff)
	}
	wantCode(t, e.svc.EventTypes.CreateEventType(e.ctx, s, &hookd.EventType{Name: et.Name}), hookd.ECONFLICT, et.Name)
	for _, bad := range []string{"", "a..b", ".x", "x.", "with space", "star*"} {
		wantCode(t, e.svc.EventTypes.CreateEventType(e.ctx, s, &hookd.EventType{Name: bad}), hookd.EINVALID, "event type name")
	}

	e.clock.Advance(time.Second)
	up, err := e.svc.EventTypes.UpdateEventType(e.ctx, s, et.Name, "changed")
	if err != nil {
		t.Fatal(err)
	}
	want.Description, want.UpdatedAt = "changed", Start.Add(time.Second)
	if diff := cmp.Diff(want, up); diff != "" {
		t.Errorf("UpdateEventType (-want +got):\n%s", diff)
	}
	_, err = e.svc.EventTypes.UpdateEventType(e.ctx, s, "Nope.nothing", "x")
	wantCode(t, err, hookd.ENOTFOUND)

	// Another tenant and the other mode see nothing.
	for _, other := range []hookd.Scope{e.scope("globex"), {TenantID: s.TenantID, Mode: hookd.ModeTest}} {
		_, err = e.svc.EventTypes.FindEventType(e.ctx, other, et.Name)
		wantCode(t, err, hookd.ENOTFOUND)
		_, err = e.svc.EventTypes.UpdateEventType(e.ctx, other, et.Name, "stolen")
		wantCode(t, err, hookd.ENOTFOUND)
		wantCode(t, e.svc.EventTypes.DeleteEventType(e.ctx, other, et.Name), hookd.ENOTFOUND)
		list, total, err := e.svc.EventTypes.FindEventTypes(e.ctx, other, hookd.EventTypeFilter{})
		if err != nil || len(list) != 0 || total != 0 {
			t.Errorf("FindEventTypes in another scope = %d rows, total %d, %v; want none", len(list), total, err)
		}
		// The same name is free in another scope.
		if err := e.svc.EventTypes.CreateEventType(e.ctx, other, &hookd.EventType{Name: et.Name}); err != nil {
			t.Errorf("the same name in another scope: %v", err)
		}
	}

	if err := e.svc.EventTypes.DeleteEventType(e.ctx, s, et.Name); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.EventTypes.FindEventType(e.ctx, s, et.Name)
	wantCode(t, err, hookd.ENOTFOUND)
	wantCode(t, e.svc.EventTypes.DeleteEventType(e.ctx, s, et.Name), hookd.ENOTFOUND)
}

func testEventTypeList(e *env) {
	t := e.t
	s := e.scope("acme")
	e.types(s, "CallBroadcast.stopped", "CALL_LOGGED", "CallBroadcast.started", "TextBroadcast.started", "CallBroadcastX.odd")

	names := func(f hookd.EventTypeFilter) ([]string, int) {
		t.Helper()
		list, total, err := e.svc.EventTypes.FindEventTypes(e.ctx, s, f)
		if err != nil {
			t.Fatalf("FindEventTypes(%+v): %v", f, err)
		}
		out := []string{}
		for _, x := range list {
			out = append(out, x.Name)
		}
		return out, total
	}
	for _, c := range []struct {
		name  string
		f     hookd.EventTypeFilter
		want  []string
		total int
	}{
		{"all", hookd.EventTypeFilter{}, []string{"CALL_LOGGED", "CallBroadcast.started", "CallBroadcast.stopped", "CallBroadcastX.odd", "TextBroadcast.started"}, 5},
		{"resource", hookd.EventTypeFilter{Resource: "CallBroadcast"}, []string{"CallBroadcast.started", "CallBroadcast.stopped"}, 2},
		{"resource without dot", hookd.EventTypeFilter{Resource: "CALL_LOGGED"}, []string{"CALL_LOGGED"}, 1},
		{"limit", hookd.EventTypeFilter{Page: hookd.Page{Limit: 2}}, []string{"CALL_LOGGED", "CallBroadcast.started"}, 5},
		{"offset", hookd.EventTypeFilter{Page: hookd.Page{Limit: 2, Offset: 2}}, []string{"CallBroadcast.stopped", "CallBroadcastX.odd"}, 5},
		{"cursor", hookd.EventTypeFilter{Page: hookd.Page{Limit: 2, Cursor: "CallBroadcast.started"}}, []string{"CallBroadcast.stopped", "CallBroadcastX.odd"}, 5},
		{"cursor wins over offset", hookd.EventTypeFilter{Page: hookd.Page{Limit: 10, Offset: 3, Cursor: "CallBroadcastX.odd"}}, []string{"TextBroadcast.started"}, 5},
	} {
		got, total := names(c.f)
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: names (-want +got):\n%s", c.name, diff)
		}
		if total != c.total {
			t.Errorf("%s: total = %d, want %d", c.name, total, c.total)
		}
	}
	_, _, err := e.svc.EventTypes.FindEventTypes(e.ctx, s, hookd.EventTypeFilter{Page: hookd.Page{Limit: -1}})
	wantCode(t, err, hookd.EINVALID, "limit")
}

func testEventTypeEnsure(e *env) {
	t := e.t
	s := e.scope("acme")
	if err := e.svc.EventTypes.CreateEventType(e.ctx, s, &hookd.EventType{Name: "a.one", Description: "kept"}); err != nil {
		t.Fatal(err)
	}
	err := e.svc.EventTypes.EnsureEventTypes(e.ctx, s, []*hookd.EventType{{Name: "a.one", Description: "ignored"}, {Name: "a.two", Description: "new"}})
	if err != nil {
		t.Fatal(err)
	}
	for name, desc := range map[string]string{"a.one": "kept", "a.two": "new"} {
		got, err := e.svc.EventTypes.FindEventType(e.ctx, s, name)
		if err != nil {
			t.Fatalf("FindEventType(%s): %v", name, err)
		}
		if got.Description != desc {
			t.Errorf("%s description = %q, want %q", name, got.Description, desc)
		}
	}
}

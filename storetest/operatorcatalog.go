package storetest

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hookd/hookd"
)

var operatorCatalogTests = []test{
	{"OperatorCatalog/CRUD", testOperatorCatalogCRUD},
	{"OperatorCatalog/ListArchived", testOperatorCatalogList},
	{"OperatorCatalog/RefusedChangeWritesNothing", testOperatorCatalogRefused},
}

func testOperatorCatalogCRUD(e *env) {
	t := e.t
	cat := e.svc.OperatorCatalog
	in := &hookd.OperatorEventType{Name: "invoice.paid", Description: "paid",
		Schemas: json.RawMessage(`{"1": {"type": "object"}}`), GroupName: "invoice", FeatureFlag: "beta"}
	if err := cat.CreateOperatorEventType(e.ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := cat.FindOperatorEventType(e.ctx, "invoice.paid")
	if err != nil {
		t.Fatal(err)
	}
	if got.Description != "paid" || got.GroupName != "invoice" || got.FeatureFlag != "beta" || got.Archived || !got.CreatedAt.Equal(Start) {
		t.Errorf("FindOperatorEventType = %+v", got)
	}
	var schemas map[string]any
	if err := json.Unmarshal(got.Schemas, &schemas); err != nil || !cmp.Equal(schemas, map[string]any{"1": map[string]any{"type": "object"}}) {
		t.Errorf("schemas read back as %s (%v)", got.Schemas, err)
	}
	wantCode(t, cat.CreateOperatorEventType(e.ctx, &hookd.OperatorEventType{Name: "invoice.paid"}), hookd.ECONFLICT)
	for _, bad := range []*hookd.OperatorEventType{
		{Name: "with space"},
		{Name: "x", Schemas: json.RawMessage(`[1]`)},
		{Name: "x", GroupName: "not a group"},
	} {
		wantCode(t, cat.CreateOperatorEventType(e.ctx, bad), hookd.EINVALID)
	}

	e.clock.Advance(time.Second)
	up, err := cat.UpdateOperatorEventType(e.ctx, "invoice.paid", func(et *hookd.OperatorEventType) {
		et.Name = "renamed" // ignored: the name is the key
		et.Archived, et.Schemas, et.Deprecated = true, nil, true
	})
	if err != nil {
		t.Fatal(err)
	}
	if up.Name != "invoice.paid" || !up.Archived || !up.Deprecated || up.Schemas != nil || !up.UpdatedAt.Equal(Start.Add(time.Second)) {
		t.Errorf("UpdateOperatorEventType = %+v", up)
	}
	again, _ := cat.FindOperatorEventType(e.ctx, "invoice.paid")
	if diff := cmp.Diff(up, again); diff != "" {
		t.Errorf("read after update (-want +got):\n%s", diff)
	}
	_, err = cat.UpdateOperatorEventType(e.ctx, "nope", func(*hookd.OperatorEventType) {})
	wantCode(t, err, hookd.ENOTFOUND)

	if err := cat.DeleteOperatorEventType(e.ctx, "invoice.paid"); err != nil {
		t.Fatal(err)
	}
	_, err = cat.FindOperatorEventType(e.ctx, "invoice.paid")
	wantCode(t, err, hookd.ENOTFOUND)
	wantCode(t, cat.DeleteOperatorEventType(e.ctx, "invoice.paid"), hookd.ENOTFOUND)
}

func testOperatorCatalogList(e *env) {
	t := e.t
	cat := e.svc.OperatorCatalog
	for _, n := range []string{"c.x", "a.x", "b.x", "d.x"} {
		if err := cat.CreateOperatorEventType(e.ctx, &hookd.OperatorEventType{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cat.UpdateOperatorEventType(e.ctx, "b.x", func(et *hookd.OperatorEventType) { et.Archived = true }); err != nil {
		t.Fatal(err)
	}
	names := func(f hookd.OperatorEventTypeFilter) []string {
		t.Helper()
		list, err := cat.FindOperatorEventTypes(e.ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, et := range list {
			out = append(out, et.Name)
		}
		return out
	}
	for _, c := range []struct {
		f    hookd.OperatorEventTypeFilter
		want []string
	}{
		{hookd.OperatorEventTypeFilter{}, []string{"a.x", "c.x", "d.x"}},
		{hookd.OperatorEventTypeFilter{IncludeArchived: true}, []string{"a.x", "b.x", "c.x", "d.x"}},
		{hookd.OperatorEventTypeFilter{Page: hookd.Page{Limit: 2}}, []string{"a.x", "c.x"}},
		{hookd.OperatorEventTypeFilter{IncludeArchived: true, Page: hookd.Page{Limit: 2, Cursor: "b.x"}}, []string{"c.x", "d.x"}},
		{hookd.OperatorEventTypeFilter{Page: hookd.Page{Offset: 1}}, []string{"c.x", "d.x"}},
	} {
		if diff := cmp.Diff(c.want, names(c.f)); diff != "" {
			t.Errorf("FindOperatorEventTypes(%+v) (-want +got):\n%s", c.f, diff)
		}
	}
}

// A change the service refuses inside the store's transaction writes nothing.
func testOperatorCatalogRefused(e *env) {
	t := e.t
	if err := e.svc.OperatorCatalog.CreateOperatorEventType(e.ctx, &hookd.OperatorEventType{Name: "a.b", Description: "kept"}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("refused")
	_, err := e.store.UpdateOperatorEventType(e.ctx, "a.b", func(et *hookd.OperatorEventType) error {
		et.Description = "lost"
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("UpdateOperatorEventType = %v, want the change's error", err)
	}
	_, err = e.svc.OperatorCatalog.UpdateOperatorEventType(e.ctx, "a.b", func(et *hookd.OperatorEventType) { et.Schemas = json.RawMessage(`"no"`) })
	wantCode(t, err, hookd.EINVALID, "schemas")
	got, _ := e.store.FindOperatorEventType(e.ctx, "a.b")
	if got.Description != "kept" || got.Schemas != nil {
		t.Errorf("after refused changes: %+v", got)
	}
}

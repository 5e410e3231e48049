package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
)

// TestSvixSDKOperational drives Svix's Go SDK through operational webhook
// endpoints, channels, list order and eventIds against the real binary, on
// SQLite and on PostgreSQL.
func TestSvixSDKOperational(t *testing.T) {
	t.Parallel()
	onBothStores(t, func(t *testing.T, in *instance) {
		rec := &svixReceiver{got: map[string][]svixDelivery{}, fail: map[string]bool{}}
		recv := httptest.NewServer(rec)
		defer recv.Close()
		base, _ := url.Parse(in.base)
		sdk := svix.New(in.opKey, &svix.SvixOptions{ServerUrl: base})
		if _, err := sdk.EventType.Create(context.Background(), &svix.EventTypeIn{Name: "ping", Description: "a ping"}); err != nil {
			t.Fatal(err)
		}
		t.Run("operational", func(t *testing.T) { testSvixOperational(t, in, sdk, rec, recv.URL) })
		t.Run("channels", func(t *testing.T) { testSvixChannels(t, sdk, rec, recv.URL) })
		t.Run("order", func(t *testing.T) { testSvixOrder(t, sdk, recv.URL) })
		t.Run("eventId", func(t *testing.T) { testSvixEventID(t, sdk, rec, recv.URL) })
	})
}

// opEvent is an operational webhook's body.
type opEvent struct {
	Type string         `json:"type"`
	Data map[string]any `json:"data"`
}

// waitOpEvent returns the first delivery to path whose body has type typ
// (and for which match, if set, holds), checked with the SDK's verifier
// and secret, waiting up to 15 s.
func waitOpEvent(t *testing.T, rec *svixReceiver, path, secret, typ string, match func(opEvent) bool) opEvent {
	t.Helper()
	wh, err := svix.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		rec.mu.Lock()
		got := slices.Clone(rec.got[path])
		rec.mu.Unlock()
		for _, d := range got {
			var ev opEvent
			if err := json.Unmarshal(d.body, &ev); err != nil {
				t.Fatalf("operational webhook body %s: %v", d.body, err)
			}
			if ev.Type != typ || (match != nil && !match(ev)) {
				continue
			}
			if err := wh.Verify(d.body, d.header); err != nil {
				t.Fatalf("Webhook.Verify of %s: %v", d.body, err)
			}
			var keys map[string]json.RawMessage
			json.Unmarshal(d.body, &keys)
			if len(keys) != 2 {
				t.Errorf("operational webhook body %s: want only type and data, as Svix sends", d.body)
			}
			return ev
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s to %s within 15s", typ, path)
	return opEvent{}
}

func testSvixOperational(t *testing.T, in *instance, sdk *svix.Svix, rec *svixReceiver, recv string) {
	ctx := context.Background()
	ops := sdk.OperationalWebhookEndpoint

	// endpoints: some types, all types, and a type Svix has not
	_, err := ops.Create(ctx, &svix.OperationalWebhookEndpointIn{Url: recv + "/ops-bad", FilterTypes: []string{"invoice.paid"}})
	wantSvixError(t, err, 422, "")
	some, err := ops.Create(ctx, &svix.OperationalWebhookEndpointIn{Url: recv + "/ops", Uid: svix.String("ops-1"),
		FilterTypes: []string{"endpoint.created", "endpoint.disabled", "message.attempt.exhausted"}, Metadata: &map[string]string{"team": "sre"}})
	if err != nil {
		t.Fatalf("OperationalWebhookEndpoint.Create: %v", err)
	}
	if !strings.HasPrefix(some.Id, "ep_") || len(some.FilterTypes) != 3 || some.Uid == nil || *some.Uid != "ops-1" || some.Metadata["team"] != "sre" {
		t.Fatalf("operational endpoint = %+v", some)
	}
	all, err := ops.Create(ctx, &svix.OperationalWebhookEndpointIn{Url: recv + "/ops-all", Description: svix.String("everything")})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ops.Get(ctx, all.Id); err != nil || got.FilterTypes != nil || got.Description != "everything" {
		t.Fatalf("Get of an endpoint made without filterTypes = %+v, %v; want filterTypes null", got, err)
	}
	if got, err := ops.Get(ctx, "ops-1"); err != nil || got.Id != some.Id {
		t.Fatalf("Get by uid = %+v, %v", got, err)
	}
	l, err := ops.List(ctx, nil)
	if err != nil || len(l.Data) != 2 || !l.Done {
		t.Fatalf("List = %+v, %v", l, err)
	}
	desc := svix.Ordering("descending")
	ld, err := ops.List(ctx, &svix.OperationalWebhookEndpointListOptions{Order: &desc})
	if err != nil || len(ld.Data) != 2 || ld.Data[0].Id != l.Data[1].Id || ld.Data[1].Id != l.Data[0].Id {
		t.Fatalf("List descending = %+v, %v; want %s, %s", ld, err, l.Data[1].Id, l.Data[0].Id)
	}
	if u, err := ops.Update(ctx, all.Id, &svix.OperationalWebhookEndpointUpdate{Url: recv + "/ops-all", Description: svix.String("all of them")}); err != nil ||
		u.Description != "all of them" || u.FilterTypes != nil {
		t.Fatalf("Update = %+v, %v", u, err)
	}
	secret, err := ops.GetSecret(ctx, some.Id)
	if err != nil || !strings.HasPrefix(secret.Key, "whsec_") {
		t.Fatalf("GetSecret = %+v, %v", secret, err)
	}
	allSecret, err := ops.GetSecret(ctx, all.Id)
	if err != nil {
		t.Fatal(err)
	}
	if err := ops.RotateSecret(ctx, all.Id, &svix.OperationalWebhookEndpointSecretIn{}); err != nil {
		t.Fatal(err)
	}
	if rotated, err := ops.GetSecret(ctx, all.Id); err != nil || rotated.Key == allSecret.Key {
		t.Fatalf("secret after rotation = %+v, %v", rotated, err)
	} else {
		allSecret = rotated
	}
	// A tenant key reaches no operational endpoint.
	base, _ := url.Parse(in.base)
	_, err = svix.New(in.liveKey, &svix.SvixOptions{ServerUrl: base}).OperationalWebhookEndpoint.List(ctx, nil)
	wantSvixError(t, err, 403, "")

	// what happens to an application's endpoints reaches them in Svix's shape
	app, err := sdk.Application.Create(ctx, &svix.ApplicationIn{Name: "Ops", Uid: svix.String("ops-app")})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := sdk.Endpoint.Create(ctx, "ops-app", &svix.EndpointIn{Url: recv + "/watched", Uid: svix.String("watched")})
	if err != nil {
		t.Fatal(err)
	}
	isEP := func(ev opEvent) bool { return ev.Data["endpointId"] == ep.Id }
	created := waitOpEvent(t, rec, "/ops", secret.Key, "endpoint.created", isEP)
	want := map[string]any{"appId": app.Id, "appUid": "ops-app", "endpointId": ep.Id, "endpointUid": "watched"}
	if fmt.Sprint(created.Data) != fmt.Sprint(want) {
		t.Errorf("endpoint.created data = %v, want %v", created.Data, want)
	}
	waitOpEvent(t, rec, "/ops-all", allSecret.Key, "endpoint.created", isEP)
	yes := true
	if _, err := sdk.Endpoint.Patch(ctx, "ops-app", ep.Id, &svix.EndpointPatch{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	disabled := waitOpEvent(t, rec, "/ops", secret.Key, "endpoint.disabled", isEP)
	if disabled.Data["trigger"] != "manual" || disabled.Data["appId"] != app.Id || disabled.Data["endpointUid"] != "watched" {
		t.Errorf("endpoint.disabled data = %v", disabled.Data)
	}
	waitOpEvent(t, rec, "/ops-all", allSecret.Key, "endpoint.updated", isEP)

	// a message whose delivery fails for good: message.attempt.exhausted
	rec.setFail("/dead", true)
	dead, err := sdk.Endpoint.Create(ctx, "ops-app", &svix.EndpointIn{Url: recv + "/dead"})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := sdk.Message.Create(ctx, "ops-app", &svix.MessageIn{EventType: "ping", Payload: map[string]any{"n": 1}, EventId: svix.String("ping-1")})
	if err != nil {
		t.Fatal(err)
	}
	ex := waitOpEvent(t, rec, "/ops", secret.Key, "message.attempt.exhausted", func(ev opEvent) bool { return ev.Data["msgId"] == msg.Id })
	last, _ := ex.Data["lastAttempt"].(map[string]any)
	if ex.Data["endpointId"] != dead.Id || ex.Data["msgEventId"] != "ping-1" || ex.Data["appUid"] != "ops-app" ||
		last["responseStatusCode"] != 500.0 || !strings.HasPrefix(fmt.Sprint(last["id"]), "atmpt_") || last["timestamp"] == nil {
		t.Errorf("message.attempt.exhausted data = %v", ex.Data)
	}
	if atts := waitAttempts(t, sdk, "ops-app", msg.Id, 2); !slices.ContainsFunc(atts, func(a svix.MessageAttemptOut) bool { return a.Id == last["id"] }) {
		t.Errorf("lastAttempt.id %v is none of the message's attempts", last["id"])
	}
	// /ops named neither endpoint.updated nor endpoint.deleted
	if err := sdk.Endpoint.Delete(ctx, "ops-app", dead.Id); err != nil {
		t.Fatal(err)
	}
	waitOpEvent(t, rec, "/ops-all", allSecret.Key, "endpoint.deleted", func(ev opEvent) bool { return ev.Data["endpointId"] == dead.Id })
	rec.mu.Lock()
	for _, d := range rec.got["/ops"] {
		var ev opEvent
		json.Unmarshal(d.body, &ev)
		if !slices.Contains(some.FilterTypes, ev.Type) {
			t.Errorf("/ops received %s, which it did not name", ev.Type)
		}
	}
	rec.mu.Unlock()

	if err := ops.Delete(ctx, some.Id); err != nil {
		t.Fatal(err)
	}
	_, err = ops.Get(ctx, some.Id)
	wantSvixError(t, err, 404, "not_found")
	// Operational endpoints are not an application's.
	_, err = sdk.Endpoint.Get(ctx, "app_operator", all.Id)
	wantSvixError(t, err, 404, "not_found")
}

// testSvixChannels checks Svix's routing by channel: an endpoint with
// channels gets only messages carrying one of them; one without gets all.
func testSvixChannels(t *testing.T, sdk *svix.Svix, rec *svixReceiver, recv string) {
	ctx := context.Background()
	if _, err := sdk.Application.Create(ctx, &svix.ApplicationIn{Name: "Channels", Uid: svix.String("chan")}); err != nil {
		t.Fatal(err)
	}
	eps := map[string]string{}
	for name, ch := range map[string][]string{"none": nil, "a": {"a"}, "ab": {"a", "b"}} {
		ep, err := sdk.Endpoint.Create(ctx, "chan", &svix.EndpointIn{Url: recv + "/c-" + name, Channels: ch})
		if err != nil {
			t.Fatal(err)
		}
		eps[ep.Id] = name
	}
	_, err := sdk.Message.Create(ctx, "chan", &svix.MessageIn{EventType: "ping", Payload: map[string]any{}, Channels: []string{"1", "2", "3", "4", "5", "6"}})
	wantSvixError(t, err, 422, "")
	reached := func(channels []string) string {
		t.Helper()
		m, err := sdk.Message.Create(ctx, "chan", &svix.MessageIn{EventType: "ping", Payload: map[string]any{}, Channels: channels})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(m.Channels) != fmt.Sprint(channels) {
			t.Errorf("message channels = %v, want %v", m.Channels, channels)
		}
		l, err := sdk.MessageAttempt.ListAttemptedDestinations(ctx, "chan", m.Id, nil)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, d := range l.Data {
			names = append(names, eps[d.Id])
		}
		slices.Sort(names)
		return strings.Join(names, ",")
	}
	for _, c := range []struct {
		channels []string
		want     string
	}{
		{[]string{"a"}, "a,ab,none"},
		{[]string{"b"}, "ab,none"},
		{[]string{"b", "c"}, "ab,none"},
		{[]string{"c"}, "none"},
		{nil, "none"},
	} {
		if got := reached(c.channels); got != c.want {
			t.Errorf("a message on channels %v reached %q, want %q", c.channels, got, c.want)
		}
	}
	// Its channels removed, an endpoint receives every message again.
	for id, name := range eps {
		if name == "a" {
			if _, err := sdk.Endpoint.Update(ctx, "chan", id, &svix.EndpointUpdate{Url: recv + "/c-a"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := reached(nil); got != "a,none" {
		t.Errorf("after channels removed, a message without channels reached %q, want a,none", got)
	}
	rec.wait(t, "/c-ab", 3) // the deliveries went out, too
}

// testSvixOrder checks order=descending on the lists that offer it.
func testSvixOrder(t *testing.T, sdk *svix.Svix, recv string) {
	ctx := context.Background()
	if _, err := sdk.Application.Create(ctx, &svix.ApplicationIn{Name: "Order", Uid: svix.String("order")}); err != nil {
		t.Fatal(err)
	}
	var made []string
	for i := range 5 {
		ep, err := sdk.Endpoint.Create(ctx, "order", &svix.EndpointIn{Url: fmt.Sprintf("%s/o/%d", recv, i)})
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, ep.Id)
	}
	asc, err := sdk.Endpoint.List(ctx, "order", nil)
	if err != nil || len(asc.Data) != 5 {
		t.Fatalf("Endpoint.List = %+v, %v", asc, err)
	}
	listed := map[string]bool{}
	for _, e := range asc.Data {
		listed[e.Id] = true
	}
	for _, id := range made {
		if !listed[id] {
			t.Errorf("Endpoint.List lacks the endpoint %s made", id)
		}
	}
	desc := svix.Ordering("descending")
	var got []string
	opts := &svix.EndpointListOptions{Order: &desc, Limit: svix.Int32(2)}
	for pages := 0; ; pages++ {
		l, err := sdk.Endpoint.List(ctx, "order", opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range l.Data {
			got = append(got, e.Id)
		}
		if l.Done || pages > 4 {
			break
		}
		opts.Iterator = l.Iterator.Get()
	}
	var want []string
	for i := len(asc.Data) - 1; i >= 0; i-- {
		want = append(want, asc.Data[i].Id)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("descending pages of 2 = %v, want %v", got, want)
	}
	apps, err := sdk.Application.List(ctx, &svix.ApplicationListOptions{Order: &desc})
	if err != nil || len(apps.Data) < 2 || apps.Data[0].Id < apps.Data[len(apps.Data)-1].Id {
		t.Errorf("Application.List descending = %+v, %v", apps, err)
	}
	if _, err := sdk.EventType.Create(ctx, &svix.EventTypeIn{Name: "zzz.last", Description: "last"}); err != nil {
		t.Fatal(err)
	}
	ets, err := sdk.EventType.List(ctx, &svix.EventTypeListOptions{Order: &desc, Limit: svix.Int32(1)})
	if err != nil || len(ets.Data) != 1 || ets.Data[0].Name != "zzz.last" || ets.Done {
		t.Errorf("EventType.List descending, limit 1 = %+v, %v; want zzz.last and more", ets, err)
	}
	bad := svix.Ordering("sideways")
	_, err = sdk.Endpoint.List(ctx, "order", &svix.EndpointListOptions{Order: &bad})
	wantSvixError(t, err, 422, "")
}

// testSvixEventID checks that a message has its own msg_ id beside its
// eventId, is found by either, and that an eventId is used once.
func testSvixEventID(t *testing.T, sdk *svix.Svix, rec *svixReceiver, recv string) {
	ctx := context.Background()
	if _, err := sdk.Application.Create(ctx, &svix.ApplicationIn{Name: "Events", Uid: svix.String("evid")}); err != nil {
		t.Fatal(err)
	}
	ep, err := sdk.Endpoint.Create(ctx, "evid", &svix.EndpointIn{Url: recv + "/evid"})
	if err != nil {
		t.Fatal(err)
	}
	payload := map[string]any{"order": 7}
	msg, err := sdk.Message.Create(ctx, "evid", &svix.MessageIn{EventType: "ping", Payload: payload, EventId: svix.String("order-7")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(msg.Id, "msg_") || msg.EventId == nil || *msg.EventId != "order-7" {
		t.Fatalf("message = %+v; want a msg_ id and eventId order-7", msg)
	}
	for _, ref := range []string{msg.Id, "order-7"} {
		if got, err := sdk.Message.Get(ctx, "evid", ref); err != nil || got.Id != msg.Id || got.EventId == nil || *got.EventId != "order-7" {
			t.Errorf("Message.Get(%s) = %+v, %v", ref, got, err)
		}
	}
	if atts := waitAttempts(t, sdk, "evid", "order-7", 1); atts[0].MsgId != msg.Id || atts[0].EndpointId != ep.Id {
		t.Errorf("attempts by eventId = %+v", atts)
	}
	if d := rec.wait(t, "/evid", 1); d.header.Get("svix-id") != msg.Id {
		t.Errorf("svix-id = %q, want the message id %s", d.header.Get("svix-id"), msg.Id)
	}
	// The same eventId again is 409, with the same payload or another.
	for _, p := range []map[string]any{payload, {"order": 8}} {
		_, err = sdk.Message.Create(ctx, "evid", &svix.MessageIn{EventType: "ping", Payload: p, EventId: svix.String("order-7")})
		wantSvixError(t, err, 409, "conflict")
	}
	// Another application may use it.
	if _, err := sdk.Application.Create(ctx, &svix.ApplicationIn{Name: "Events 2", Uid: svix.String("evid2")}); err != nil {
		t.Fatal(err)
	}
	other, err := sdk.Message.Create(ctx, "evid2", &svix.MessageIn{EventType: "ping", Payload: payload, EventId: svix.String("order-7")})
	if err != nil || other.EventId == nil || *other.EventId != "order-7" {
		t.Fatalf("the same eventId in another application = %+v, %v", other, err)
	}
	_, err = sdk.Message.Get(ctx, "evid", "order-8")
	wantSvixError(t, err, 404, "not_found")
}

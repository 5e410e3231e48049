package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	svix "github.com/svix/svix-webhooks/go"
)

// testSvixLabels checks a message's channels and tags through Svix's SDK:
// kept, read back, and the channel= and tag= filters of the message list
// (paged with the SDK's iterator) and of the attempt lists.
func testSvixLabels(t *testing.T, in *instance) {
	ctx := context.Background()
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer recv.Close()
	base, _ := url.Parse(in.base)
	sdk := svix.New(in.opKey, &svix.SvixOptions{ServerUrl: base})
	const app = "labels"
	if _, err := sdk.Application.GetOrCreate(ctx, &svix.ApplicationIn{Name: "Labels", Uid: svix.String(app)}); err != nil {
		t.Fatalf("Application.GetOrCreate: %v", err)
	}
	ep, err := sdk.Endpoint.Create(ctx, app, &svix.EndpointIn{Url: recv.URL + "/all"})
	if err != nil {
		t.Fatalf("Endpoint.Create: %v", err)
	}

	msgs := []struct{ channels, tags []string }{
		{[]string{"c1"}, []string{"a"}},
		{nil, []string{"b", "a"}},
		{nil, nil},
		{[]string{"c2", "c1"}, []string{"a"}},
		{[]string{"c2"}, []string{"b"}},
		{nil, []string{"a", "a"}}, // a tag given twice is kept once
		{[]string{"c1"}, nil},
	}
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		out, err := sdk.Message.Create(ctx, app, &svix.MessageIn{EventType: "label.test", Payload: map[string]any{"i": i},
			Channels: m.channels, Tags: m.tags})
		if err != nil {
			t.Fatalf("Message.Create %d: %v", i, err)
		}
		ids[i] = out.Id
	}
	// what a filter should answer: the messages (by index) that have it
	with := func(want func(channels, tags []string) bool) []string {
		var out []string
		for i, m := range msgs {
			if want(m.channels, m.tags) {
				out = append(out, ids[i])
			}
		}
		slices.Sort(out)
		return out
	}

	// read back, from get and from the list
	for i, m := range []struct{ channels, tags []string }{msgs[0], {nil, []string{"a", "b"}}, msgs[2], {[]string{"c1", "c2"}, []string{"a"}}, msgs[4], {nil, []string{"a"}}, msgs[6]} {
		got, err := sdk.Message.Get(ctx, app, ids[i])
		if err != nil {
			t.Fatalf("Message.Get %d: %v", i, err)
		}
		if !slices.Equal(sorted(got.Channels), m.channels) || !slices.Equal(sorted(got.Tags), m.tags) {
			t.Errorf("message %d: channels %v tags %v, want %v %v", i, got.Channels, got.Tags, m.channels, m.tags)
		}
	}
	all := listMessages(t, sdk, app, nil, nil)
	if len(all) != len(msgs) {
		t.Fatalf("Message.List = %d messages, want %d", len(all), len(msgs))
	}
	for _, m := range all {
		if m.Id == ids[3] && (!slices.Equal(sorted(m.Channels), []string{"c1", "c2"}) || !slices.Equal(m.Tags, []string{"a"})) {
			t.Errorf("listed message 3: channels %v tags %v", m.Channels, m.Tags)
		}
	}

	// the filters, paged two at a time
	has := func(l []string, v string) bool { return slices.Contains(l, v) }
	for _, c := range []struct {
		name         string
		channel, tag *string
		want         []string
	}{
		{"tag a", nil, svix.String("a"), with(func(_, tags []string) bool { return has(tags, "a") })},
		{"tag b", nil, svix.String("b"), with(func(_, tags []string) bool { return has(tags, "b") })},
		{"channel c1", svix.String("c1"), nil, with(func(ch, _ []string) bool { return has(ch, "c1") })},
		{"channel c2 tag a", svix.String("c2"), svix.String("a"), with(func(ch, tags []string) bool { return has(ch, "c2") && has(tags, "a") })},
		{"tag none", nil, svix.String("none"), nil},
	} {
		got := listMessages(t, sdk, app, c.channel, c.tag)
		gotIDs := make([]string, len(got))
		for i, m := range got {
			gotIDs[i] = m.Id
		}
		if !slices.IsSortedFunc(gotIDs, func(a, b string) int { return strings.Compare(b, a) }) {
			t.Errorf("%s: %v not newest first", c.name, gotIDs)
		}
		if slices.Sort(gotIDs); !slices.Equal(gotIDs, c.want) {
			t.Errorf("%s: listed %v, want %v", c.name, gotIDs, c.want)
		}
	}

	// attempts: by message (its own labels) and by endpoint
	for _, id := range ids {
		waitAttempts(t, sdk, app, id, 1)
	}
	if l, err := sdk.MessageAttempt.ListByMsg(ctx, app, ids[1], &svix.MessageAttemptListOptions{Tag: svix.String("b")}); err != nil || len(l.Data) != 1 {
		t.Errorf("ListByMsg(tag b) of a message tagged b = %+v, %v", l, err)
	}
	if l, err := sdk.MessageAttempt.ListByMsg(ctx, app, ids[0], &svix.MessageAttemptListOptions{Channel: svix.String("c2")}); err != nil || len(l.Data) != 0 {
		t.Errorf("ListByMsg(channel c2) of a message without it = %+v, %v", l, err)
	}
	l, err := sdk.MessageAttempt.ListByEndpoint(ctx, app, ep.Id, &svix.MessageAttemptListOptions{Tag: svix.String("b")})
	if err != nil {
		t.Fatalf("ListByEndpoint(tag b): %v", err)
	}
	var attempted []string
	for _, a := range l.Data {
		attempted = append(attempted, a.MsgId)
	}
	if slices.Sort(attempted); !slices.Equal(attempted, with(func(_, tags []string) bool { return has(tags, "b") })) {
		t.Errorf("ListByEndpoint(tag b) = attempts of %v", attempted)
	}
}

// listMessages pages through an application's messages two at a time.
func listMessages(t *testing.T, sdk *svix.Svix, app string, channel, tag *string) []svix.MessageOut {
	t.Helper()
	var out []svix.MessageOut
	opts := &svix.MessageListOptions{Limit: svix.Int32(2), Channel: channel, Tag: tag}
	for range 20 {
		l, err := sdk.Message.List(context.Background(), app, opts)
		if err != nil {
			t.Fatalf("Message.List: %v", err)
		}
		if len(l.Data) > 2 {
			t.Fatalf("Message.List: a page of %d, limit 2", len(l.Data))
		}
		out = append(out, l.Data...)
		if l.Done {
			return out
		}
		opts.Iterator = l.Iterator.Get()
	}
	t.Fatal("Message.List: not done after 20 pages")
	return nil
}

func sorted(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	l = slices.Clone(l)
	slices.Sort(l)
	return l
}

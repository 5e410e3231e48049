package hookd_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// The fan-out of every publish runs these for each enabled webhook of the
// scope, inside the write transaction: they must stay in nanoseconds.

func BenchmarkMatchEventType(b *testing.B) {
	for _, c := range []struct {
		name     string
		patterns []string
		typ      string
	}{
		{"all", nil, "CallBroadcast.started"},
		{"exact", []string{"CallBroadcast.started"}, "CallBroadcast.started"},
		{"wildcard", []string{"Text.*", "CallBroadcast.*"}, "CallBroadcast.started"},
		{"miss of 8", []string{"a.1", "b.2", "c.3", "d.4", "e.5", "f.6", "g.7", "h.8"}, "CallBroadcast.started"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				hookd.MatchEventType(c.patterns, c.typ)
			}
		})
	}
}

const benchEventData = `{"call_id": 12345, "disposition": 4, "to": "+15555550100", "campaign": {"id": 7, "name": "spring"}, "tags": ["vip", "new"]}`

func benchEvent() *hookd.Event {
	return &hookd.Event{ID: "msg_1", Type: "CALL_LOGGED", Data: json.RawMessage(benchEventData), CreatedAt: time.Unix(1700000000, 0)}
}

// BenchmarkFilterMatch is one filter against a decoded document; the
// decoding, done once per event whatever the number of filters, is
// BenchmarkNewFilterDocument.
func BenchmarkFilterMatch(b *testing.B) {
	doc, err := hookd.NewFilterDocument(benchEvent())
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, filter string }{
		{"eq", `{"type": "CALL_LOGGED"}`},
		{"in", `{"data.disposition": {"$in": [1, 4]}}`},
		{"design example", `{"$or": [{"type": {"$ne": "CALL_LOGGED"}}, {"data.disposition": {"$in": [1, 4]}}]}`},
		{"nested and contains", `{"data.campaign.name": {"$prefix": "spr"}, "data.tags": {"$contains": "vip"}}`},
	} {
		f, err := hookd.ParseFilter([]byte(c.filter))
		if err != nil {
			b.Fatalf("%s: %v", c.name, err)
		}
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if !f.Match(doc) {
					b.Fatal("no match")
				}
			}
		})
	}
}

func BenchmarkNewFilterDocument(b *testing.B) {
	e := benchEvent()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := hookd.NewFilterDocument(e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecipients is the fan-out of one event over a scope's webhooks:
// all subscribed to everything, or half of them filtering on the data.
func BenchmarkRecipients(b *testing.B) {
	filter, err := hookd.ParseFilter([]byte(`{"data.disposition": {"$in": [1, 4]}}`))
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{10, 10000} {
		for _, filtered := range []bool{false, true} {
			subs := make([]hookd.Subscriber, n)
			for i := range subs {
				subs[i] = hookd.Subscriber{ID: fmt.Sprintf("wh_%d", i), Deliverable: true}
				if filtered && i%2 == 0 {
					subs[i].Filter = filter
				}
			}
			r := &hookd.PublishRequest{Event: benchEvent()}
			b.Run(fmt.Sprintf("%d webhooks filtered=%v", n, filtered), func(b *testing.B) {
				b.ReportAllocs()
				dst := make([]string, 0, n)
				for b.Loop() {
					ids, err := hookd.Recipients(dst[:0], r, subs)
					if err != nil || len(ids) != n {
						b.Fatalf("Recipients = %d ids, %v", len(ids), err)
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "webhooks/s")
			})
		}
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/postgres/pgtest"
)

func TestHistogramQuantiles(t *testing.T) {
	t.Parallel()
	var h histogram
	if got := h.quantile(0.99); got != 0 {
		t.Errorf("empty quantile = %v, want 0", got)
	}
	// 1..1000 µs: the q-quantile is about q·1000 µs.
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {1, 1000 * time.Microsecond}} {
		got := h.quantile(c.q)
		if rel := math.Abs(float64(got-c.want)) / float64(c.want); rel > 0.005 {
			t.Errorf("quantile(%v) = %v, want %v within 0.5 %%", c.q, got, c.want)
		}
	}
	if got := time.Duration(h.max.Load()); got != time.Millisecond {
		t.Errorf("max = %v, want 1ms", got)
	}
}

func TestHistBucketBounds(t *testing.T) {
	t.Parallel()
	for _, v := range []uint64{0, 1, 255, 511, 512, 513, 1000, 1 << 20, 123456789, 1 << 40} {
		i := histBucket(v)
		lo, hi := histValue(i), histValue(i+1)
		if uint64(lo) > v || v >= uint64(hi) {
			t.Errorf("value %d in bucket %d = [%d, %d)", v, i, lo, hi)
		}
	}
}

func TestIntField(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"msg_1","data":{"seq":42,"sent_ns":-7,"pad":"x"}}`)
	for _, c := range []struct {
		key  string
		want int64
		ok   bool
	}{{`"seq":`, 42, true}, {`"sent_ns":`, -7, true}, {`"pad":`, 0, false}, {`"nope":`, 0, false}} {
		got, ok := intField(body, c.key)
		if got != c.want || ok != c.ok {
			t.Errorf("intField(%s) = %d, %v; want %d, %v", c.key, got, ok, c.want, c.ok)
		}
	}
}

func TestSlowestBusySecond(t *testing.T) {
	t.Parallel()
	// Owed 10,000 from the start: 4,000 in the first second, then 200 (a
	// stall), then 5,300 that leave less than busyBacklog owed.
	ss := []sample{{0, 10000}, {4000, 10000}, {4200, 10000}, {9500, 10000}}
	got, ok := slowestBusySecond(ss)
	if !ok || got != 200 {
		t.Errorf("slowestBusySecond = %v, %v; want 200, true", got, ok)
	}
	if _, ok := slowestBusySecond(ss[2:]); ok {
		t.Error("slowestBusySecond without a backlog reported a second")
	}
}

func TestSlowSeconds(t *testing.T) {
	t.Parallel()
	var none *slowSeconds
	none.record(time.Unix(100, 0), time.Second) // a nil one records nothing
	s := newSlowSeconds(50 * time.Millisecond)
	if got := s.String(); got != "none" {
		t.Errorf("empty = %q, want none", got)
	}
	at := func(sec int64, ms int) time.Time { return time.Unix(sec, int64(ms)*int64(time.Millisecond)) }
	s.record(at(3600, 0), 50*time.Millisecond) // at the threshold: not over it
	s.record(at(3600, 10), 80*time.Millisecond)
	s.record(at(3600, 999), 120*time.Millisecond)
	s.record(at(3602, 0), 51*time.Millisecond)
	if got, want := s.String(), "01:00:00 2 (max 120 ms), 01:00:02 1 (max 51 ms)"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	// Past the limit, the seconds with the most are kept, in time order.
	for sec := int64(4000); sec < 4020; sec++ {
		for range sec - 3990 {
			s.record(at(sec, 0), 60*time.Millisecond)
		}
	}
	if got := s.seconds(); got != 22 {
		t.Errorf("seconds = %d, want 22", got)
	}
	parts := strings.Split(s.String(), ", ")
	if len(parts) != 12 || !strings.HasPrefix(parts[0], "01:06:48 18 ") || !strings.HasPrefix(parts[11], "01:06:59 29 ") {
		t.Errorf("String past the limit = %q, want the 12 fullest seconds, 01:06:48 to 01:06:59", s.String())
	}
}

func TestEventBodySize(t *testing.T) {
	t.Parallel()
	b := newEventBody(1024)
	got := len(b.append(nil, 1000000, time.Unix(1700000000, 0)))
	if got != 1024 {
		t.Errorf("event body is %d bytes, want 1024", got)
	}
}

func TestBenchConfigInvalid(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		edit func(*benchConfig)
	}{
		{"unknown scenario", func(c *benchConfig) { c.Scenarios = []string{"speed"} }},
		{"target without key", func(c *benchConfig) { c.Target = "http://x" }},
		{"target and database", func(c *benchConfig) { c.Target, c.Key, c.DatabaseURL = "http://x", "k", "postgres://x" }},
		{"no runs", func(c *benchConfig) { c.Runs = 0 }},
		{"fail share", func(c *benchConfig) { c.FailShare = 1 }},
		{"tiny body", func(c *benchConfig) { c.BodySize = 10 }},
		{"isolation with one webhook", func(c *benchConfig) { c.Webhooks = 1 }},
		{"unknown api", func(c *benchConfig) { c.API = "stripe" }},
		{"svix api with latency", func(c *benchConfig) { c.API, c.Scenarios = "svix", []string{"throughput", "latency"} }},
		{"svix api as operator", func(c *benchConfig) { c.API, c.Scenarios, c.AsOperator = "svix", []string{"throughput"}, true }},
		{"growth phase", func(c *benchConfig) { c.GrowthPhase = 0 }},
		{"growth idle", func(c *benchConfig) { c.GrowthIdle = -time.Second }},
		{"growth rate", func(c *benchConfig) { c.GrowthRate = 0 }},
		{"neighbour rate", func(c *benchConfig) { c.NeighbourRate = 0 }},
		{"neighbour backlog", func(c *benchConfig) { c.NeighbourBacklog = 0 }},
		{"neighbour duration", func(c *benchConfig) { c.NeighbourDuration = 0 }},
		{"no crowd", func(c *benchConfig) { c.CrowdTenants = 0 }},
		{"crowd without webhooks", func(c *benchConfig) { c.CrowdWebhooks = 0 }},
		{"no instance counts", func(c *benchConfig) { c.Instances = nil }},
		{"zero instances", func(c *benchConfig) { c.Instances = []int{1, 0} }},
	} {
		cfg := defaultBenchConfig()
		c.edit(&cfg)
		if err := cfg.validate(); err == nil {
			t.Errorf("%s: validate() = nil, want an error", c.name)
		}
	}
	smoke := defaultBenchConfig()
	smoke.smoke()
	if err := smoke.validate(); err != nil {
		t.Errorf("smoke config: %v", err)
	}
	// baseline touches no API: --api svix runs it, for the ratios.
	svixBase := defaultBenchConfig()
	svixBase.API, svixBase.Scenarios = "svix", []string{"baseline", "throughput"}
	if err := svixBase.validate(); err != nil {
		t.Errorf("--api svix --scenarios baseline,throughput: %v", err)
	}
}

// The Svix form of an event body carries the same data as its payload,
// which is what the receivers read.
func TestEventBodySvix(t *testing.T) {
	t.Parallel()
	b := newEventBody(256)
	var v, s struct {
		Type      string          `json:"type"`
		Data      json.RawMessage `json:"data"`
		EventType string          `json:"eventType"`
		Payload   json.RawMessage `json:"payload"`
	}
	at := time.Unix(1700000000, 0)
	if err := json.Unmarshal(b.append(nil, 7, at), &v); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b.appendSvix([]byte("prefix"), 7, at)[len("prefix"):], &s); err != nil {
		t.Fatal(err)
	}
	if s.EventType != v.Type || string(s.Payload) != string(v.Data) {
		t.Errorf("svix body %s/%s, want %s/%s", s.EventType, s.Payload, v.Type, v.Data)
	}
}

// TestBenchSmokePostgres is CI's smoke of the scenarios on PostgreSQL
// (`hookd bench --smoke` runs on SQLite, where instances skips): throughput,
// latency and neighbours, each on a fresh database of the server (neighbours, which
// needs the first start's operator key, failed on a used one), growth, crowd on two
// fresh databases, and instances with 1, 2 and 3 real hookd processes,
// every delivery arriving once. The URL carries a pool setting, as
// docs/operations.md tells operators to pass one: the bench's own
// connections must take it too.
func TestBenchSmokePostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t) + "&pool_max_conns=6"
	var out, errb bytes.Buffer
	err := runBench(context.Background(), []string{"--smoke", "--scenarios", "throughput,latency,neighbours,growth,crowd,instances", "--database-url", url,
		"--hookd-binary", hookdBinary(t), "--work-dir", t.TempDir()}, nil, &out, &errb)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, errb.String())
	}
	for _, want := range []string{"end-to-end delivered/s", "first second's p99", "publish accepted p99 ", "big tenant drained/s", "publish accepted p99, big busy", "drain delivered/s", "crowd: published/s", "one tenant: published/s", "1 instance: delivered/s",
		"2 instances: instance 2 cpu", "3 instances: lost or duplicated"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in the results:\n%s", want, out.String())
		}
	}
}

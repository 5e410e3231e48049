package storetest

import (
	"sync"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hookd/hookd"
)

// queueHistoryTests are the dashboard's queue health over time.
var queueHistoryTests = []test{
	{"QueueHistory/Samples", testQueueSamples},
	{"QueueHistory/Service", testQueueHistory},
}

// testQueueSamples: the first sample of an interval sets the queue's
// depth and age, every later one (another instance's) adds its attempts,
// concurrent adds lose nothing, and samples are read from a time and
// pruned before one.
func testQueueSamples(e *env) {
	t := e.t
	at := func(m int) time.Time { return Start.Add(time.Duration(m) * time.Minute) }
	add := func(s hookd.QueueSample) {
		t.Helper()
		if err := e.store.AddQueueSample(e.ctx, s); err != nil {
			t.Fatalf("AddQueueSample(%+v): %v", s, err)
		}
	}
	add(hookd.QueueSample{At: at(1), Pending: 5, Due: 2, OldestDueAge: 3500 * time.Millisecond, Succeeded: 10, Failed: 1})
	add(hookd.QueueSample{At: at(1), Pending: 99, Due: 98, OldestDueAge: time.Hour, Succeeded: 4, Failed: 2})
	add(hookd.QueueSample{At: at(2), Pending: 7})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := e.store.AddQueueSample(e.ctx, hookd.QueueSample{At: at(3), Pending: 1, Succeeded: 2, Failed: 1}); err != nil {
				t.Errorf("concurrent AddQueueSample: %v", err)
			}
		})
	}
	wg.Wait()

	got, err := e.store.QueueSamples(e.ctx, at(1))
	if err != nil {
		t.Fatal(err)
	}
	want := []hookd.QueueSample{
		{At: at(1), Pending: 5, Due: 2, OldestDueAge: 3500 * time.Millisecond, Succeeded: 14, Failed: 3},
		{At: at(2), Pending: 7},
		{At: at(3), Pending: 1, Succeeded: 16, Failed: 8},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("QueueSamples (-want +got):\n%s", diff)
	}
	if got, err = e.store.QueueSamples(e.ctx, at(2)); err != nil || len(got) != 2 || !got[0].At.Equal(at(2)) {
		t.Errorf("QueueSamples since the second = %+v, %v", got, err)
	}
	n, err := e.store.PruneQueueSamples(e.ctx, at(3))
	if err != nil || n != 2 {
		t.Errorf("PruneQueueSamples = %d, %v; want 2", n, err)
	}
	if got, err = e.store.QueueSamples(e.ctx, at(0)); err != nil || len(got) != 1 || !got[0].At.Equal(at(3)) {
		t.Errorf("after pruning: %+v, %v", got, err)
	}
}

// testQueueHistory: the service buckets the samples of a window before
// now, largest depth and age and summed attempts, with empty buckets where
// nothing sampled.
func testQueueHistory(e *env) {
	t := e.t
	// Now is 5:30:30 on Start's day; an hour in 4 buckets of 15 minutes
	// ends at 5:45 and starts at 4:45.
	now := Start.Truncate(time.Hour).Add(30*time.Minute + 30*time.Second)
	e.clock.Set(now)
	end := now.Truncate(15 * time.Minute).Add(15 * time.Minute)
	since := end.Add(-time.Hour)
	for _, s := range []hookd.QueueSample{
		{At: since, Pending: 1000, Succeeded: 1000},                                                         // covers the minute before the window
		{At: since.Add(time.Minute), Pending: 4, Due: 1, Succeeded: 60, Failed: 20},                         // bucket 0
		{At: since.Add(15 * time.Minute), Pending: 9, Due: 3, OldestDueAge: 2 * time.Second, Succeeded: 30}, // bucket 0: its end
		{At: since.Add(31 * time.Minute), Pending: 2, OldestDueAge: 5 * time.Second, Failed: 9},             // bucket 2
		{At: end, Pending: 8, Succeeded: 9, Failed: 0},                                                      // bucket 3: its end
	} {
		if err := e.store.AddQueueSample(e.ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.svc.Stats.QueueHistory(e.ctx, time.Hour, 4)
	if err != nil {
		t.Fatal(err)
	}
	w := 15 * time.Minute
	want := []hookd.QueuePoint{
		{At: since, Width: w, Samples: 2, Pending: 9, Due: 3, OldestDueAge: 2 * time.Second, Succeeded: 90, Failed: 20},
		{At: since.Add(w), Width: w},
		{At: since.Add(2 * w), Width: w, Samples: 1, Pending: 2, OldestDueAge: 5 * time.Second, Failed: 9},
		{At: since.Add(3 * w), Width: w, Samples: 1, Pending: 8, Succeeded: 9},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("QueueHistory (-want +got):\n%s", diff)
	}
	if r := got[0].DeliveredPerSecond(); r != 0.1 {
		t.Errorf("delivered per second = %v, want 0.1 (90 in 15 minutes)", r)
	}
	if r, ok := got[0].FailureRate(); !ok || r != 20.0/110 {
		t.Errorf("failure rate = %v, %v", r, ok)
	}
	if _, ok := got[1].FailureRate(); ok {
		t.Error("a bucket without attempts has a failure rate")
	}
	// The newest sample within a age, or none.
	if r, err := e.svc.Stats.RecentQueue(e.ctx, time.Hour); err != nil || r == nil || !r.At.Equal(end) || r.Pending != 8 {
		t.Errorf("RecentQueue(1h) = %+v, %v; want the sample at %s", r, err, end)
	}
	e.clock.Set(end.Add(2 * time.Minute))
	if r, err := e.svc.Stats.RecentQueue(e.ctx, time.Minute); err != nil || r != nil {
		t.Errorf("RecentQueue(1m) two minutes after the last sample = %+v, %v; want none", r, err)
	}
	for _, n := range []int{0, 1001} {
		if _, err := e.svc.Stats.QueueHistory(e.ctx, time.Hour, n); hookd.ErrorCode(err) != hookd.EINVALID {
			t.Errorf("QueueHistory with %d buckets: %v, want EINVALID", n, err)
		}
	}
}

package hookd

import (
	"context"
	"time"
)

// QueueSample is the queue at one moment and the attempts of the interval
// that ended then. Every instance's maintenance loop writes one each
// interval, into the same row: the first to write an At sets Pending, Due
// and OldestDueAge (the queue is shared, so one reading is enough), and
// each adds the attempts it made since its last sample (they are counted
// in memory, where the outcomes are written).
type QueueSample struct {
	At           time.Time     // the interval's end, a multiple of the sampling interval
	Pending      int           // deliveries waiting, due or not
	Due          int           // pending, due and not leased
	OldestDueAge time.Duration // how long the oldest due delivery had waited
	Succeeded    int           // attempts that succeeded in the interval
	Failed       int           // attempts that failed (to be retried, or for good)
}

// QueueHistoryStore keeps the queue's samples, a row an interval.
type QueueHistoryStore interface {
	// AddQueueSample records s. If a sample at s.At exists, its Pending,
	// Due and OldestDueAge stay and s's Succeeded and Failed are added to
	// it: several instances write one row.
	AddQueueSample(ctx context.Context, s QueueSample) error
	// QueueSamples returns the samples at or after since, oldest first.
	QueueSamples(ctx context.Context, since time.Time) ([]QueueSample, error)
	// PruneQueueSamples deletes the samples before t and returns how many.
	PruneQueueSamples(ctx context.Context, before time.Time) (int, error)
}

// QueuePoint is the queue over one bucket of a history: the largest
// depth and age its samples saw, and the attempts they counted.
type QueuePoint struct {
	At           time.Time     // the bucket's start
	Width        time.Duration // the bucket's width
	Samples      int           // samples in the bucket; 0: no instance was sampling
	Pending      int           // the largest of its samples'
	Due          int           // the largest of its samples'
	OldestDueAge time.Duration // the largest of its samples'
	Succeeded    int           // attempts that succeeded, summed
	Failed       int           // attempts that failed, summed
}

// DeliveredPerSecond is the bucket's successful attempts per second.
func (p QueuePoint) DeliveredPerSecond() float64 {
	if p.Width <= 0 {
		return 0
	}
	return float64(p.Succeeded) / p.Width.Seconds()
}

// FailureRate is the share of the bucket's attempts that failed, and false
// when there were none.
func (p QueuePoint) FailureRate() (float64, bool) {
	n := p.Succeeded + p.Failed
	if n == 0 {
		return 0, false
	}
	return float64(p.Failed) / float64(n), true
}

// queueHistory buckets samples taken at or after since into n buckets of
// width, oldest first.
func queueHistory(samples []QueueSample, since time.Time, width time.Duration, n int) []QueuePoint {
	out := make([]QueuePoint, n)
	for i := range out {
		out[i].At, out[i].Width = since.Add(time.Duration(i)*width), width
	}
	for _, s := range samples {
		// A sample at At covers the interval that ended at At: it belongs
		// to the bucket that holds the instant before.
		if !s.At.After(since) {
			continue
		}
		i := int(s.At.Add(-time.Nanosecond).Sub(since) / width)
		if i >= n {
			continue
		}
		p := &out[i]
		p.Samples++
		p.Pending = max(p.Pending, s.Pending)
		p.Due = max(p.Due, s.Due)
		p.OldestDueAge = max(p.OldestDueAge, s.OldestDueAge)
		p.Succeeded += s.Succeeded
		p.Failed += s.Failed
	}
	return out
}

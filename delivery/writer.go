package delivery

import (
	"context"
	"log/slog"
	"time"

	"github.com/hookd/hookd"
)

// writer writes outcomes back in batches: one CompleteDeliveries per
// FlushEvery outcomes or per FlushInterval, whichever comes first.
type writer struct {
	queue    hookd.Queue
	every    int
	interval time.Duration
	log      *slog.Logger
	metrics  *Metrics

	in       chan hookd.Outcome
	stopping chan struct{} // closed when Stop begins: give up retrying sooner
	done     chan struct{}
}

// stoppingRetries is how many times a failed write is retried once Stop has
// begun; after that the batch is dropped with an error logged, and its
// leases expire so that the deliveries are claimed again.
const stoppingRetries = 3

func newWriter(q hookd.Queue, cfg Config) *writer {
	return &writer{
		queue:    q,
		every:    cfg.FlushEvery,
		interval: cfg.FlushInterval,
		log:      cfg.Logger,
		metrics:  cfg.Metrics,
		in:       make(chan hookd.Outcome, 4*cfg.FlushEvery),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
}

// put queues one outcome; it blocks while the writer is behind, which slows
// the workers down rather than piling outcomes up in memory.
func (w *writer) put(o hookd.Outcome) { w.in <- o }

// close flushes what is queued and waits for the writer to end. Nothing may
// be put after it.
func (w *writer) close() {
	close(w.in)
	<-w.done
}

func (w *writer) run(ctx context.Context) {
	defer close(w.done)
	batch := make([]hookd.Outcome, 0, w.every)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		o, ok := <-w.in
		if !ok {
			return
		}
		batch = append(batch[:0], o)
		open := w.fill(&batch, timer)
		w.flush(ctx, batch)
		if !open {
			return
		}
	}
}

// fill adds to batch until it is full, the interval has passed, or the
// input is closed (then it returns false).
func (w *writer) fill(batch *[]hookd.Outcome, timer *time.Timer) bool {
	// Take what is already waiting before starting the clock.
	for len(*batch) < w.every {
		select {
		case o, ok := <-w.in:
			if !ok {
				return false
			}
			*batch = append(*batch, o)
			continue
		default:
		}
		break
	}
	if len(*batch) >= w.every {
		return true
	}
	timer.Reset(w.interval)
	defer timer.Stop()
	for len(*batch) < w.every {
		select {
		case o, ok := <-w.in:
			if !ok {
				return false
			}
			*batch = append(*batch, o)
		case <-timer.C:
			return true
		}
	}
	return true
}

// flush writes a batch, retrying while the process runs: an outcome is
// never dropped silently. The leases protect the rows meanwhile.
func (w *writer) flush(ctx context.Context, batch []hookd.Outcome) {
	backoff := 50 * time.Millisecond
	stopRetries := 0
	for {
		err := w.queue.CompleteDeliveries(ctx, batch)
		if err == nil {
			w.metrics.countOutcomes(batch)
			return
		}
		wait, stopping := backoff, w.stopping
		select {
		case <-w.stopping:
			stopping = nil // already closed: wait out the short pause below
			stopRetries++
			if stopRetries > stoppingRetries {
				w.log.Error("dropping delivery outcomes at shutdown; their leases will expire and they will be sent again",
					"outcomes", len(batch), "err", err)
				return
			}
			wait = min(wait, 200*time.Millisecond)
		default:
		}
		w.log.Error("write delivery outcomes; retrying", "outcomes", len(batch), "err", err, "retry_in", wait)
		select {
		case <-time.After(wait):
		case <-stopping:
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

package delivery

import (
	"fmt"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd"
)

// Metrics are the delivery engine's Prometheus metrics. One value is shared
// by the Publisher, the Dispatcher and Maintenance of a process.
type Metrics struct {
	deliveries      *prometheus.CounterVec
	succeeded       prometheus.Counter
	retried         prometheus.Counter
	failed          prometheus.Counter
	released        prometheus.Counter
	attemptDuration prometheus.Histogram
	queuePending    prometheus.Gauge
	queueDue        prometheus.Gauge
	queueOldestDue  prometheus.Gauge
	publishBatch    prometheus.Histogram
	eventsPublished prometheus.Counter
	handedOff       prometheus.Counter
	queueReclaims   prometheus.Counter

	// Attempts since Maintenance last took them for the queue's history.
	sampleSucceeded, sampleFailed atomic.Int64
}

// NewMetrics makes the metrics and registers them with reg, unless reg is
// nil (then they count but are not exported).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := newMetrics()
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{
		m.deliveries, m.attemptDuration, m.queuePending, m.queueDue,
		m.queueOldestDue, m.publishBatch, m.eventsPublished, m.handedOff, m.queueReclaims,
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register delivery metrics: %w", err)
		}
	}
	return m, nil
}

func newMetrics() *Metrics {
	m := &Metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookd_deliveries_total",
			Help: "Delivery outcomes written back, by outcome.",
		}, []string{"outcome"}),
		attemptDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hookd_attempt_duration_seconds",
			Help:    "Duration of delivery attempts (HTTP requests).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15},
		}),
		queuePending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hookd_queue_pending",
			Help: "Deliveries waiting for an attempt, due or not.",
		}),
		queueDue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hookd_queue_due",
			Help: "Pending deliveries that are due now.",
		}),
		queueOldestDue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hookd_queue_oldest_due_age_seconds",
			Help: "How long the oldest due delivery has waited.",
		}),
		publishBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hookd_publish_batch_size",
			Help:    "Publish requests committed together (group commit).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
		}),
		eventsPublished: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookd_events_published_total",
			Help: "Events accepted (replays not counted).",
		}),
		handedOff: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookd_deliveries_handed_off_total",
			Help: "Deliveries leased to this process's dispatcher by the publish that made them, sent without a claim.",
		}),
		queueReclaims: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookd_queue_reclaims_total",
			Help: "Times this process reclaimed the space of removed queue rows (PostgreSQL: VACUUM of the queue table).",
		}),
	}
	m.succeeded = m.deliveries.WithLabelValues("succeeded")
	m.retried = m.deliveries.WithLabelValues("retry")
	m.failed = m.deliveries.WithLabelValues("failed")
	m.released = m.deliveries.WithLabelValues("released")
	return m
}

// countOutcomes counts a written batch.
func (m *Metrics) countOutcomes(outs []hookd.Outcome) {
	var s, r, f, rel int
	for i := range outs {
		switch outs[i].Kind {
		case hookd.OutcomeSucceeded:
			s++
		case hookd.OutcomeRetry:
			r++
		case hookd.OutcomeFailed:
			f++
		case hookd.OutcomeReleased:
			rel++
		}
	}
	m.succeeded.Add(float64(s))
	m.retried.Add(float64(r))
	m.failed.Add(float64(f))
	m.released.Add(float64(rel))
	m.sampleSucceeded.Add(int64(s))
	m.sampleFailed.Add(int64(r + f))
}

// takeAttempts returns the attempts that succeeded and failed since the
// last take, and starts counting again.
func (m *Metrics) takeAttempts() (succeeded, failed int) {
	return int(m.sampleSucceeded.Swap(0)), int(m.sampleFailed.Swap(0))
}

// giveBackAttempts returns counts that could not be written.
func (m *Metrics) giveBackAttempts(succeeded, failed int) {
	m.sampleSucceeded.Add(int64(succeeded))
	m.sampleFailed.Add(int64(failed))
}

func (m *Metrics) setQueueStats(st hookd.QueueStats) {
	m.queuePending.Set(float64(st.Pending))
	m.queueDue.Set(float64(st.Due))
	m.queueOldestDue.Set(st.OldestDueAge.Seconds())
}

package delivery

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// countingQueue counts the outcomes written back.
type countingQueue struct {
	hookd.Queue
	written             atomic.Int64
	completes           atomic.Int64
	claims, claimed     atomic.Int64
	claimNS, completeNS atomic.Int64
}

func (q *countingQueue) ClaimDeliveries(ctx context.Context, r hookd.ClaimRequest) ([]*hookd.Job, error) {
	st := time.Now()
	jobs, err := q.Queue.ClaimDeliveries(ctx, r)
	q.claimNS.Add(int64(time.Since(st)))
	q.claims.Add(1)
	q.claimed.Add(int64(len(jobs)))
	return jobs, err
}

func (q *countingQueue) CompleteDeliveries(ctx context.Context, outs []hookd.Outcome) error {
	st := time.Now()
	err := q.Queue.CompleteDeliveries(ctx, outs)
	q.completeNS.Add(int64(time.Since(st)))
	q.completes.Add(1)
	if err == nil {
		q.written.Add(int64(len(outs)))
	}
	return err
}

// BenchmarkDispatch measures claim → send → write back on SQLite with a
// loopback receiver that answers 204 at once; events are published before
// the clock starts.
func BenchmarkDispatch(b *testing.B) {
	for _, hooks := range []int{1, 8} {
		b.Run(fmt.Sprintf("webhooks=%d", hooks), func(b *testing.B) {
			h := newHarness(b)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNoContent)
			}))
			b.Cleanup(srv.Close)
			for i := range hooks {
				h.webhook(fmt.Sprintf("%s/%d", srv.URL, i), nil)
			}
			events := max(1, b.N/hooks)
			for done := 0; done < events; done += 1000 {
				h.publish(min(1000, events-done), "order.created")
			}
			total := int64(events * hooks)
			q := &countingQueue{Queue: h.db}
			b.ResetTimer()
			start := time.Now()
			d := startDispatcher(b, q, Config{})
			for q.written.Load() < total {
				time.Sleep(time.Millisecond)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			d.Stop()
			b.ReportMetric(float64(total)/elapsed.Seconds(), "deliveries/s")
			b.ReportMetric(float64(q.written.Load())/float64(q.completes.Load()), "outcomes/write")
			b.ReportMetric(float64(q.claimed.Load())/float64(q.claims.Load()), "jobs/claim")
			b.ReportMetric(float64(q.claimNS.Load())/elapsed.Seconds()/1e9, "claim-busy")
			b.ReportMetric(float64(q.completeNS.Load())/elapsed.Seconds()/1e9, "complete-busy")
		})
	}
}

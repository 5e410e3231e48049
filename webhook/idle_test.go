package webhook_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/webhook"
)

// Receivers close kept-alive connections long before hookd's 90 s: Node
// after 5 s, gunicorn after 2 s, load balancers after 60–75 s. None of that
// may cost a delivery a failed attempt.

// wave is a burst of concurrent sends after a pause.
type wave struct {
	pause time.Duration
	sends int
}

// aroundIdle is a workload for a receiver that closes connections idle for
// idle: bursts of varying size (so that the pool holds many connections,
// and the oldest of them idle longest) after pauses shorter and longer than
// idle, and close to it.
func aroundIdle(idle time.Duration) []wave {
	return []wave{
		{0, 24},
		{idle + idle/4, 3},
		{idle / 2, 12},
		{idle - idle/20, 1},
		{idle + idle/20, 16},
		{idle - idle/100, 6},
		{idle + idle/100, 24},
		{2 * idle, 1},
	}
}

// aroundLongIdle is aroundIdle for idle timeouts of seconds, in fewer
// pauses.
func aroundLongIdle(idle time.Duration) []wave {
	return []wave{
		{0, 24},
		{idle + 50*time.Millisecond, 3},
		{idle - 50*time.Millisecond, 12},
		{idle + 10*time.Millisecond, 16},
	}
}

// sendWaves sends job in waves and reports every attempt that did not get
// a 2xx. It returns how many sends it made.
func sendWaves(t *testing.T, c *webhook.Client, job *hookd.Job, waves []wave) int {
	t.Helper()
	sent := 0
	for _, w := range waves {
		time.Sleep(w.pause)
		var wg sync.WaitGroup
		for range w.sends {
			wg.Go(func() {
				res := c.Send(context.Background(), job)
				if a := res.Attempt; a.ErrorClass != hookd.ClassNone || a.StatusCode/100 != 2 {
					t.Errorf("after a pause of %v, a send failed: %s %q (status %d)", w.pause, a.ErrorClass, a.Error, a.StatusCode)
				}
			})
		}
		wg.Wait()
		sent += w.sends
	}
	return sent
}

// idleServer is an http.Server with IdleTimeout idle that counts the
// requests it answered.
type idleServer struct {
	*httptest.Server
	answered atomic.Int64
}

func newIdleServer(t *testing.T, idle time.Duration, useTLS bool) *idleServer {
	t.Helper()
	s := &idleServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Config.IdleTimeout = idle
	if useTLS {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

func (s *idleServer) serve(w http.ResponseWriter, r *http.Request) {
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		return
	}
	s.answered.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

// TestSendIdleClosingReceivers: receivers that close idle connections,
// with a FIN or a reset, after 200 ms, 1 s or 5 s, or as the next request
// arrives, see every delivery once and hookd records no failed attempt.
func TestSendIdleClosingReceivers(t *testing.T) {
	t.Parallel()
	const short = 200 * time.Millisecond
	tests := []struct {
		name   string
		start  func(t *testing.T) (url string, answered func() int)
		useTLS bool
		waves  []wave
		long   bool // skipped with -short
	}{
		{name: "http.Server idle 200ms", start: httpIdle(short, false), waves: aroundIdle(short)},
		{name: "http.Server over TLS idle 200ms", start: httpIdle(short, true), useTLS: true, waves: aroundIdle(short)},
		{name: "http.Server idle 1s", start: httpIdle(time.Second, false), waves: aroundLongIdle(time.Second)},
		{name: "http.Server idle 5s (Node)", start: httpIdle(5*time.Second, false), waves: []wave{{0, 24}, {5*time.Second + 20*time.Millisecond, 16}, {0, 24}}, long: true},
		{name: "FIN after 200ms idle", start: rawIdle(keepAlive{idle: short}), waves: aroundIdle(short)},
		{name: "reset after 200ms idle", start: rawIdle(keepAlive{idle: short, reset: true}), waves: aroundIdle(short)},
		{name: "408 and FIN after 200ms idle", start: rawIdle(keepAlive{idle: short, farewell: "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"}), waves: aroundIdle(short)},
		{name: "reset after 1s idle", start: rawIdle(keepAlive{idle: time.Second, reset: true}), waves: aroundLongIdle(time.Second)},
		{name: "FIN as the next request arrives", start: rawIdle(keepAlive{perConn: 1}), waves: aroundIdle(20 * time.Millisecond)},
		{name: "reset as the third request arrives", start: rawIdle(keepAlive{perConn: 2, reset: true}), waves: aroundIdle(20 * time.Millisecond)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.long && testing.Short() {
				t.Skip("takes over 5 s")
			}
			url, answered := tt.start(t)
			c := newClient(t, webhook.Config{Policy: loopback})
			job := newJob(url)
			job.Webhook.TLSVerify = !tt.useTLS
			sent := sendWaves(t, c, job, tt.waves)
			if n := answered(); n != sent {
				t.Errorf("the receiver answered %d requests, want %d (one per send)", n, sent)
			}
		})
	}
}

func httpIdle(idle time.Duration, useTLS bool) func(t *testing.T) (string, func() int) {
	return func(t *testing.T) (string, func() int) {
		s := newIdleServer(t, idle, useTLS)
		return s.URL + "/hook", func() int { return int(s.answered.Load()) }
	}
}

func rawIdle(keep keepAlive) func(t *testing.T) (string, func() int) {
	return func(t *testing.T) (string, func() int) {
		s := startScripted(t, func(int) (string, bool) { return ok204, false }, keep)
		return s.url, func() int { return len(s.requests()) }
	}
}

// TestSendAfterReceiverRestart: a receiver that restarts closes every
// kept-alive connection at once; the next send (a manual retry) and the
// next burst succeed all the same.
func TestSendAfterReceiverRestart(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	var counter idleServer // its handler, before and after the restart
	h := http.HandlerFunc(counter.serve)
	before := &http.Server{Handler: h}
	go before.Serve(ln) //nolint:errcheck // ends with Close
	t.Cleanup(func() { before.Close() })

	c := newClient(t, webhook.Config{Policy: loopback})
	job := newJob("http://" + addr + "/hook")
	sent := sendWaves(t, c, job, []wave{{0, 24}, {0, 12}})

	before.Close() // the listener and every connection
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	after := &http.Server{Handler: h}
	go after.Serve(ln) //nolint:errcheck // ends with Close
	t.Cleanup(func() { after.Close() })

	sent += sendWaves(t, c, job, []wave{{0, 1}, {0, 1}, {0, 24}})
	if n := counter.answered.Load(); n != int64(sent) {
		t.Errorf("the receivers answered %d requests, want %d (one per send)", n, sent)
	}
}

// TestSendNoRetryAfterPartOfAnAnswer: a kept-alive connection that breaks
// after part of the answer arrived is a failed attempt, not a second
// request: the receiver may have acted on the first.
func TestSendNoRetryAfterPartOfAnAnswer(t *testing.T) {
	t.Parallel()
	rcv := newScripted(t, func(n int) (string, bool) {
		if n == 0 {
			return ok204, false
		}
		return "HTTP/1.1 200 OK\r\nContent-Le", true
	})
	c := newClient(t, webhook.Config{Policy: loopback})
	if res := c.Send(context.Background(), newJob(rcv.url)); res.Attempt.StatusCode != 204 {
		t.Fatalf("first Send = %+v, want 204", res.Attempt)
	}
	if res := c.Send(context.Background(), newJob(rcv.url)); res.Attempt.ErrorClass != hookd.ClassConnection {
		t.Errorf("second Send = %+v, want a connection failure", res.Attempt)
	}
	if n := len(rcv.requests()); n != 2 {
		t.Errorf("receiver got %d requests, want 2 (no resend)", n)
	}
}

// TestSendReusesTLSConnections: what a TLS 1.3 server sends after its
// handshake (session tickets) does not make the check before reuse take a
// kept-alive connection for closed.
func TestSendReusesTLSConnections(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	conns := countConns(srv)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c := newClient(t, webhook.Config{Policy: loopback})
	job := newJob(srv.URL)
	job.Webhook.TLSVerify = false
	for i := range 5 {
		time.Sleep(10 * time.Millisecond) // let anything sent after an answer arrive
		if res := c.Send(context.Background(), job); res.Attempt.StatusCode != 204 {
			t.Fatalf("send %d = %+v, want 204", i+1, res.Attempt)
		}
	}
	if n := conns.opened.Load(); n != 1 {
		t.Errorf("5 sequential sends opened %d connections, want 1", n)
	}
}

// TestSendResendsAfter408: a 408 on a kept-alive connection is the
// farewell of a receiver whose keep-alive timeout ran out as the request
// went out; it did not take the request, which goes out once more on a new
// connection. On a new connection a 408 is the receiver's answer.
func TestSendResendsAfter408(t *testing.T) {
	t.Parallel()
	const timeout408 = "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
	rcv := newScripted(t, func(n int) (string, bool) {
		switch n {
		case 1, 3:
			return timeout408, true
		}
		return ok204, false
	})
	c := newClient(t, webhook.Config{Policy: loopback})
	for i := range 2 {
		if res := c.Send(context.Background(), newJob(rcv.url)); res.Attempt.StatusCode != 204 {
			t.Errorf("send %d = %+v, want 204", i+1, res.Attempt)
		}
	}
	fresh := newClient(t, webhook.Config{Policy: loopback}) // nothing kept alive
	if res := fresh.Send(context.Background(), newJob(rcv.url)); res.Attempt.StatusCode != 408 {
		t.Errorf("send on a new connection = %+v, want 408", res.Attempt)
	}
	if n := len(rcv.requests()); n != 4 {
		t.Errorf("receiver got %d requests, want 4 (one resent after the 408 on a kept-alive connection)", n)
	}
}

// TestSendLooksBeforeReuse: a kept-alive connection the receiver closed
// while it idled carries no request: hookd sees the close and dials anew.
// The receiver closes only its side, and counts the connections a request
// still arrived on.
func TestSendLooksBeforeReuse(t *testing.T) {
	t.Parallel()
	// Well above the client's lookAfterIdle, so that no connection the
	// receiver closed is taken unlooked-at.
	const idle = 500 * time.Millisecond
	rcv := startScripted(t, func(int) (string, bool) { return ok204, false }, keepAlive{idle: idle, halfClose: true})
	c := newClient(t, webhook.Config{Policy: loopback})
	sent := sendWaves(t, c, newJob(rcv.url), []wave{{0, 24}, {2 * idle, 1}, {0, 24}, {2 * idle, 24}})
	if n := len(rcv.requests()); n != sent {
		t.Errorf("the receiver answered %d requests, want %d (one per send)", n, sent)
	}
	c.CloseIdleConnections()
	rcv.stop()
	if n := rcv.late.Load(); n != 0 {
		t.Errorf("%d connections the receiver had closed still carried a request", n)
	}
}

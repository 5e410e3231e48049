package webhook_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/webhook"
)

// scripted is a raw TCP receiver: it reads each HTTP/1.1 request (headers
// and a Content-Length body) and writes what answer returns for the n-th
// request (counted from 0 over all connections), closing the connection
// afterwards if asked. It records the raw request heads.
type scripted struct {
	url    string
	conns  atomic.Int32
	mu     sync.Mutex
	heads  []string
	answer func(n int) (raw string, closeAfter bool)
	keep   keepAlive
	late   atomic.Int32 // connections written on after an idle close (keep.halfClose)
	stop   func()       // closes the listener and waits for every connection to end
}

// keepAlive is how a scripted receiver ends kept-alive connections, as
// real servers do; the zero value keeps them open.
type keepAlive struct {
	// idle closes a connection that waited this long for its next request.
	idle time.Duration
	// perConn closes a connection when the request after its perConn-th
	// arrives, unread: the race of a keep-alive timeout with a request.
	perConn int
	// reset closes with a TCP reset (SO_LINGER 0) rather than a FIN.
	reset bool
	// farewell is written before an idle connection is closed, as servers
	// that answer 408 to a connection without a request do.
	farewell string
	// halfClose ends an idle connection with a FIN but reads on, until the
	// client closes, to count requests sent after that FIN in late.
	halfClose bool
}

func newScripted(t *testing.T, answer func(n int) (string, bool)) *scripted {
	t.Helper()
	return startScripted(t, answer, keepAlive{})
}

func startScripted(t *testing.T, answer func(n int) (string, bool), keep keepAlive) *scripted {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scripted{url: "http://" + ln.Addr().String() + "/hook", answer: answer, keep: keep}
	var wg sync.WaitGroup
	s.stop = sync.OnceFunc(func() {
		ln.Close()
		wg.Wait()
	})
	t.Cleanup(s.stop)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				s.serve(conn)
			}()
		}
	}()
	return s
}

func (s *scripted) serve(conn net.Conn) {
	r := bufio.NewReader(conn)
	for served := 0; ; served++ {
		if (s.keep.idle > 0 || s.keep.perConn > 0) && !s.awaitRequest(conn.(*net.TCPConn), r, served) {
			return
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck // a test guard
		req, err := http.ReadRequest(r)
		if err != nil {
			return
		}
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return
		}
		var head strings.Builder
		req.Header.Write(&head) //nolint:errcheck // a strings.Builder does not fail
		s.mu.Lock()
		n := len(s.heads)
		s.heads = append(s.heads, head.String())
		s.mu.Unlock()
		raw, closeAfter := s.answer(n)
		if _, err := io.WriteString(conn, raw); err != nil || closeAfter {
			return
		}
	}
}

// awaitRequest waits for the next request on conn as s.keep says, having
// served served requests on it, and reports whether to read it; if not,
// the caller closes conn.
func (s *scripted) awaitRequest(conn *net.TCPConn, r *bufio.Reader, served int) bool {
	wait := 10 * time.Second
	if s.keep.idle > 0 {
		wait = s.keep.idle
	}
	conn.SetReadDeadline(time.Now().Add(wait)) //nolint:errcheck // a failed read ends the connection either way
	_, err := r.Peek(1)
	if err == nil && (s.keep.perConn == 0 || served < s.keep.perConn) {
		return true
	}
	if err != nil && s.keep.farewell != "" {
		io.WriteString(conn, s.keep.farewell) //nolint:errcheck // closing anyway
	}
	if err != nil && s.keep.halfClose {
		conn.CloseWrite()                                      //nolint:errcheck // then nothing is seen closed
		conn.SetReadDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck // a test guard
		if n, _ := io.Copy(io.Discard, r); n > 0 {
			s.late.Add(1)
		}
	}
	if s.keep.reset {
		conn.SetLinger(0) //nolint:errcheck // without it, a FIN
	}
	return false
}

func (s *scripted) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.heads...)
}

const ok204 = "HTTP/1.1 204 No Content\r\n\r\n"

// TestSendRetriesConnectionClosedWhileIdle: a receiver that closes a
// kept-alive connection after each answer (as one whose keep-alive timeout
// ran out would) still gets every delivery, once, on a new connection.
func TestSendRetriesConnectionClosedWhileIdle(t *testing.T) {
	t.Parallel()
	rcv := newScripted(t, func(int) (string, bool) {
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true // no Connection: close, closes anyway
	})
	c := newClient(t, webhook.Config{Policy: loopback})
	for i := range 3 {
		// Let the close reach the client's side, so that the pooled
		// connection is dead when the next send takes it.
		time.Sleep(20 * time.Millisecond)
		if res := c.Send(context.Background(), newJob(rcv.url)); res.Attempt.ErrorClass != hookd.ClassNone || res.Attempt.StatusCode != 200 {
			t.Fatalf("send %d = %+v, want 200", i+1, res.Attempt)
		}
	}
	if n := len(rcv.requests()); n != 3 {
		t.Errorf("receiver got %d requests, want 3 (one per send)", n)
	}
	if n := rcv.conns.Load(); n != 3 {
		t.Errorf("receiver saw %d connections, want 3", n)
	}
}

// TestSendNoRetryOnFreshConnection: a new connection closed without an
// answer is a failed attempt, not silently sent twice.
func TestSendNoRetryOnFreshConnection(t *testing.T) {
	t.Parallel()
	rcv := newScripted(t, func(int) (string, bool) { return "", true })
	c := newClient(t, webhook.Config{Policy: loopback})
	res := c.Send(context.Background(), newJob(rcv.url))
	if res.Attempt.ErrorClass != hookd.ClassConnection || !strings.Contains(res.Attempt.Error, "without answering") {
		t.Errorf("Send = %+v, want connection error saying the receiver closed without answering", res.Attempt)
	}
	if n := len(rcv.requests()); n != 1 {
		t.Errorf("receiver got %d requests, want 1", n)
	}
}

// TestSendConnectionReuseRules: which answers leave the connection
// reusable. Each case makes two sequential sends and counts connections.
func TestSendConnectionReuseRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		answer string
		status int
		conns  int32
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, 1},
		{"chunked with trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n", 200, 1},
		{"interim 100 Continue first", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n", 202, 1},
		{"Connection: close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 200, 2},
		{"HTTP/1.0 without keep-alive", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 200, 2},
		{"unsolicited bytes after the answer", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n", 200, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rcv := newScripted(t, func(int) (string, bool) { return tt.answer, false })
			c := newClient(t, webhook.Config{Policy: loopback})
			for i := range 2 {
				res := c.Send(context.Background(), newJob(rcv.url))
				if res.Attempt.StatusCode != tt.status {
					t.Fatalf("send %d = %+v, want status %d", i+1, res.Attempt, tt.status)
				}
			}
			if n := rcv.conns.Load(); n != tt.conns {
				t.Errorf("two sends used %d connections, want %d", n, tt.conns)
			}
		})
	}
}

// TestSendCloseDelimitedBody: an answer without a length ends when the
// receiver closes; its excerpt is kept and the connection is not reused.
func TestSendCloseDelimitedBody(t *testing.T) {
	t.Parallel()
	rcv := newScripted(t, func(int) (string, bool) {
		return "HTTP/1.1 500 Internal Server Error\r\n\r\nit broke", true
	})
	c := newClient(t, webhook.Config{Policy: loopback})
	res := c.Send(context.Background(), newJob(rcv.url))
	if res.Attempt.StatusCode != 500 || res.Attempt.ResponseExcerpt != "it broke" {
		t.Errorf("Send = %+v, want 500 with excerpt %q", res.Attempt, "it broke")
	}
}

func TestSendRefusesHugeResponseHeaders(t *testing.T) {
	t.Parallel()
	big := "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", 70<<10) + "\r\nContent-Length: 0\r\n\r\n"
	rcv := newScripted(t, func(int) (string, bool) { return big, false })
	c := newClient(t, webhook.Config{Policy: loopback})
	res := c.Send(context.Background(), newJob(rcv.url))
	if res.Attempt.ErrorClass != hookd.ClassConnection || !strings.Contains(res.Attempt.Error, "64 KiB") {
		t.Errorf("Send = %+v, want connection error about 64 KiB of headers", res.Attempt)
	}
}

// TestSendHeaderInjection: nothing a webhook or an event carries can add
// a header line or change the framing of the request.
func TestSendHeaderInjection(t *testing.T) {
	t.Parallel()
	rcv := newScripted(t, func(int) (string, bool) { return ok204, false })
	c := newClient(t, webhook.Config{Policy: loopback})
	job := newJob(rcv.url)
	job.Event.ID = "msg_1\r\nX-Injected: event"
	job.Webhook.Headers = map[string]string{
		"X-Custom":          "v\r\nX-Injected: header",
		"Connection":        "close",
		"Transfer-Encoding": "chunked",
		"expect":            "100-continue",
		"authorization":     "Bearer token",
	}
	if res := c.Send(context.Background(), job); res.Attempt.StatusCode != 204 {
		t.Fatalf("Send = %+v, want 204", res.Attempt)
	}
	head := rcv.requests()[0]
	for _, bad := range []string{"X-Injected", "Connection", "Transfer-Encoding", "Expect"} {
		if strings.Contains(head, "\n"+bad+":") || strings.HasPrefix(head, bad+":") {
			t.Errorf("request carried a %s header:\n%s", bad, head)
		}
	}
	for _, want := range []string{"Authorization: Bearer token", "X-Custom: v  X-Injected: header", "Webhook-Id: msg_1  X-Injected: event"} {
		if !strings.Contains(head, want) {
			t.Errorf("request lacks %q:\n%s", want, head)
		}
	}
}

// TestSendLargeBody goes out uncopied (writev) and still verifies.
func TestSendLargeBody(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, nil)
	c := newClient(t, webhook.Config{Policy: loopback})
	job := newJob(rcv.URL)
	job.Event.Data = json.RawMessage(`{"blob":"` + strings.Repeat("z", 200<<10) + `"}`)
	if res := c.Send(context.Background(), job); res.Attempt.ErrorClass != hookd.ClassNone {
		t.Fatalf("Send = %+v", res.Attempt)
	}
	got := rcv.only(t)
	if len(got.Body) < 200<<10 {
		t.Fatalf("receiver got %d bytes, want the whole envelope", len(got.Body))
	}
	checkSignature(t, got)
}

// TestSendAnswerBeforeBodyRead: a receiver that answers 413 and closes
// after the headers, without reading a large body, is recorded as its 413,
// not as a broken connection.
func TestSendAnswerBeforeBodyRead(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		for { // the headers only
			line, err := r.ReadSlice('\n')
			if err != nil || len(line) <= 2 {
				break
			}
		}
		io.WriteString(conn, "HTTP/1.1 413 Content Too Large\r\nConnection: close\r\nContent-Length: 8\r\n\r\ntoo big!") //nolint:errcheck // the client's result is the check
		conn.(*net.TCPConn).CloseWrite()                                                                                 //nolint:errcheck // as above
		time.Sleep(100 * time.Millisecond)
		conn.(*net.TCPConn).SetLinger(0) //nolint:errcheck // a reset, as a server closing with unread data sends
	}()
	c := newClient(t, webhook.Config{Policy: loopback})
	job := newJob("http://" + ln.Addr().String() + "/hook")
	job.Event.Data = json.RawMessage(`{"blob":"` + strings.Repeat("z", 8<<20) + `"}`)
	res := c.Send(context.Background(), job)
	if res.Attempt.StatusCode != 413 || res.Attempt.ResponseExcerpt != "too big!" {
		t.Errorf("Send = %+v, want the receiver's 413 and its body", res.Attempt)
	}
}

func TestSendRefusesNonASCIIHost(t *testing.T) {
	t.Parallel()
	c := newClient(t, webhook.Config{Policy: loopback})
	res := c.Send(context.Background(), newJob("http://bücher.example/hook"))
	if res.Attempt.ErrorClass != hookd.ClassInvalid || !strings.Contains(res.Attempt.Error, "xn--") {
		t.Errorf("Send = %+v, want invalid_request naming the xn-- form", res.Attempt)
	}
}

// TestSendCancelInterrupts: cancelling the context (shutdown) ends a send
// that waits on a hanging receiver at once, not at the request timeout.
func TestSendCancelInterrupts(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	rcv := newReceiver(t, func(http.ResponseWriter, *http.Request) { <-release })
	t.Cleanup(func() { close(release) })
	c := newClient(t, webhook.Config{Policy: loopback, RequestTimeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan hookd.AttemptResult, 1)
	go func() { done <- c.Send(ctx, newJob(rcv.URL)) }()
	for len(rcv.received()) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case res := <-done:
		if res.Attempt.ErrorClass != hookd.ClassTimeout || !strings.Contains(res.Attempt.Error, "cancelled") {
			t.Errorf("Send = %+v, want timeout class saying cancelled", res.Attempt)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Send did not return after its context was cancelled")
	}
}

// TestSendClosesIdleConnections: a connection idle past IdleConnTimeout is
// closed by the client, and the next send dials a new one.
func TestSendClosesIdleConnections(t *testing.T) {
	t.Parallel()
	srv, conns := newCountingServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
	c := newClient(t, webhook.Config{Policy: loopback, IdleConnTimeout: 50 * time.Millisecond})
	if res := c.Send(context.Background(), newJob(srv.URL)); res.Attempt.StatusCode != 204 {
		t.Fatalf("Send = %+v", res.Attempt)
	}
	select {
	case <-conns.closed:
	case <-time.After(30 * time.Second):
		t.Fatal("the idle connection was never closed")
	}
	if res := c.Send(context.Background(), newJob(srv.URL)); res.Attempt.StatusCode != 204 {
		t.Fatalf("second Send = %+v", res.Attempt)
	}
	if n := conns.opened.Load(); n != 2 {
		t.Errorf("opened %d connections, want 2", n)
	}
}

// TestSendIdlePoolCap: at most MaxIdleConnsPerHost connections stay open
// per receiver after a burst.
func TestSendIdlePoolCap(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	var arrived atomic.Int32
	srv, conns := newCountingServer(t, func(w http.ResponseWriter, _ *http.Request) {
		arrived.Add(1)
		<-gate
		w.WriteHeader(204)
	})
	c := newClient(t, webhook.Config{Policy: loopback, MaxIdleConnsPerHost: 2})
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		wg.Go(func() {
			if res := c.Send(context.Background(), newJob(srv.URL)); res.Attempt.StatusCode != 204 {
				errs <- errors.New(res.Attempt.Error + " (status " + strconv.Itoa(res.Attempt.StatusCode) + ")")
			}
		})
	}
	for arrived.Load() < 5 {
		time.Sleep(5 * time.Millisecond)
	}
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Send: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for conns.open.Load() > 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := conns.open.Load(); n != 2 {
		t.Errorf("%d connections open after the burst, want 2 (the idle cap)", n)
	}
}

// connCounts counts a test server's connections.
type connCounts struct {
	opened, open atomic.Int32
	closed       chan struct{} // one value per closed connection, up to 16 unread
}

// newCountingServer starts an httptest server that counts its connections.
func newCountingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *connCounts) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	cc := countConns(srv)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, cc
}

// countConns counts the connections of srv, which has not started.
func countConns(srv *httptest.Server) *connCounts {
	cc := &connCounts{closed: make(chan struct{}, 16)}
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			cc.opened.Add(1)
			cc.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			cc.open.Add(-1)
			select {
			case cc.closed <- struct{}{}:
			default:
			}
		}
	}
	return cc
}

package webhook

import (
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

// connPair returns a kept-alive-like client conn and the server's end of
// it, on loopback.
func connPair(tb testing.TB) (*conn, *net.TCPConn) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		nc.Close()
		sc.Close()
	})
	return newConn(nc, poolKey{}), sc.(*net.TCPConn)
}

// TestClosedWhileIdle: the look before reuse tells an open, quiet
// connection from one the receiver closed, reset or wrote on.
func TestClosedWhileIdle(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no look at the socket here")
	}
	const farewell = "HTTP/1.1 408 Request Timeout\r\n\r\n"
	tests := []struct {
		name string
		peer func(*net.TCPConn)
		left string // still to be read after the look
	}{
		{"FIN", func(sc *net.TCPConn) { sc.Close() }, ""},
		{"reset", func(sc *net.TCPConn) {
			sc.SetLinger(0) //nolint:errcheck // a FIN then, which fails the test
			sc.Close()
		}, ""},
		{"unasked bytes", func(sc *net.TCPConn) { sc.Write([]byte(farewell)) }, farewell}, //nolint:errcheck // the look is the check
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, sc := connPair(t)
			if c.closedWhileIdle() {
				t.Fatal("an open, quiet connection was taken for closed")
			}
			tt.peer(sc)
			// Loopback delivers at once, but nothing promises it: wait
			// for the look to see it rather than for a time.
			deadline := time.Now().Add(10 * time.Second)
			for !c.closedWhileIdle() {
				if time.Now().After(deadline) {
					t.Fatal("never seen closed")
				}
				time.Sleep(time.Millisecond)
			}
			if tt.left != "" {
				buf := make([]byte, len(tt.left))
				if _, err := io.ReadFull(c.nc, buf); err != nil || string(buf) != tt.left {
					t.Errorf("after the look, read %q, %v; want %q", buf, err, tt.left)
				}
			}
		})
	}
}

// BenchmarkClosedWhileIdle is the cost the look adds to a send on a
// kept-alive connection that idled lookAfterIdle or more.
func BenchmarkClosedWhileIdle(b *testing.B) {
	c, _ := connPair(b)
	b.ReportAllocs()
	for b.Loop() {
		if c.closedWhileIdle() {
			b.Fatal("an open, quiet connection was taken for closed")
		}
	}
}

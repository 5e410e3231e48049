package webhook

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math"
	"net"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A delivery is one POST and one answer on a kept-alive HTTP/1.1
// connection, and hookd makes them by the tens of thousands per second. The
// client does that exchange itself, on the sending goroutine: it writes the
// request with one write and reads the answer with http.ReadResponse.
// net/http's Transport would hand every request to a writer and a reader
// goroutine of the connection and back: goroutine switches and 33 more
// allocations per request, a fifth more time per send
// (BenchmarkSendClientOnly, docs/benchmarks.md). It gives up nothing a delivery
// uses: webhooks were only ever sent over HTTP/1.1, never through a proxy,
// and redirects are not followed. What the Transport's reader goroutine also
// did, noticing that a receiver closed an idle connection, is a look at the
// socket before reuse (closedWhileIdle): one system call, no goroutine. And
// where the Transport resends a POST only if none of it was written (a
// receiver closing the connection as the request arrives fails it), this
// client resends it on a new connection: webhook-id makes it idempotent.

// poolKey names the connections that may carry a request: same address,
// same TLS settings.
type poolKey struct {
	addr       string // host:port dialled
	tls        bool
	skipVerify bool
	serverName string // TLS server name (the host without the port)
}

// target is a webhook URL parsed for sending.
type target struct {
	key        poolKey
	host       string // the Host header
	requestURI string
}

// targetCacheSize bounds the parsed-URL cache; it is cleared when full.
const targetCacheSize = 4096

// targetCache keeps parsed webhook URLs, so that a send parses its URL
// once rather than per request.
type targetCache struct {
	mu sync.RWMutex
	m  map[string]*target
}

func (c *targetCache) get(raw string, skipVerify bool) (*target, error) {
	key := raw
	if skipVerify {
		key = "!" + raw // not a URL's first character: no clash with a verified one
	}
	c.mu.RLock()
	t := c.m[key]
	c.mu.RUnlock()
	if t != nil {
		return t, nil
	}
	t, err := parseTarget(raw, skipVerify)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= targetCacheSize {
		c.m = make(map[string]*target)
	}
	c.m[key] = t
	c.mu.Unlock()
	return t, nil
}

// parseTarget checks a webhook URL as net/http would send it: absolute
// http or https, an ASCII host (internationalized names go in their xn--
// form), no user-info.
func parseTarget(raw string, skipVerify bool) (*target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is the customer's own; say what is wrong with it
		}
		return nil, err
	}
	var port string
	switch u.Scheme {
	case "http":
		port = "80"
	case "https":
		port = "443"
	default:
		return nil, errors.New("the URL must be absolute http or https")
	}
	hostname := u.Hostname()
	switch {
	case hostname == "":
		return nil, errors.New("the URL names no host")
	case u.User != nil:
		return nil, errors.New("the URL must not carry user-info")
	}
	for i := 0; i < len(u.Host); i++ {
		if c := u.Host[i]; c <= ' ' || c >= 0x7f {
			return nil, errors.New("the host must be ASCII (write an internationalized name in its xn-- form)")
		}
	}
	if p := u.Port(); p != "" {
		port = p
	}
	host := u.Host
	if i := strings.Index(host, "%25"); i >= 0 && strings.HasPrefix(host, "[") {
		// An IPv6 zone names an interface of this machine, not the receiver.
		if j := strings.LastIndexByte(host, ']'); j > i {
			host = host[:i] + host[j:]
		}
	}
	return &target{
		key: poolKey{
			addr:       net.JoinHostPort(hostname, port),
			tls:        u.Scheme == "https",
			skipVerify: skipVerify && u.Scheme == "https",
			serverName: hostname,
		},
		host:       host,
		requestURI: u.RequestURI(),
	}, nil
}

// conn is one kept-alive connection. Its reads go through a budget so that
// a receiver cannot make the client buffer unbounded response headers.
type conn struct {
	nc     net.Conn
	br     *bufio.Reader
	budget budgetReader
	wbuf   []byte
	key    poolKey
	idleAt time.Time
	// socket is the TCP socket (under TLS, if any), for the look before
	// reuse; nil if there is none. peek and peeked are that look, made
	// once per connection so that each look allocates nothing.
	socket syscall.RawConn
	peek   func(fd uintptr) bool
	peeked bool
}

// budgetReader reads from r at most n bytes, then fails with errTooLarge,
// and counts what it read.
type budgetReader struct {
	r    io.Reader
	n    int64
	read int64
}

var errHeadersTooLarge = errors.New("the response headers are larger than 64 KiB")

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, errHeadersTooLarge
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	b.read += int64(n)
	return n, err
}

const (
	readBufferSize = 4 << 10
	// maxHeaderBytes bounds a response's status line and headers, as
	// net/http's MaxResponseHeaderBytes did.
	maxHeaderBytes = 64 << 10
)

func newConn(nc net.Conn, key poolKey) *conn {
	c := &conn{nc: nc, key: key}
	c.budget.r = nc
	c.br = bufio.NewReaderSize(&c.budget, readBufferSize)
	tcp := nc
	if tc, ok := nc.(*tls.Conn); ok {
		tcp = tc.NetConn()
	}
	if sc, ok := tcp.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.socket = raw
			c.peek = func(fd uintptr) bool {
				c.peeked = peekClosed(fd)
				return true // done: never wait for the socket
			}
		}
	}
	return c
}

// closedWhileIdle reports whether the receiver closed or reset c while it
// was idle, or sent something unasked on it (a TLS alert, a 408): a look
// at the socket that neither blocks nor reads. A receiver's keep-alive
// timeout is often shorter than hookd's (Node closes after 5 s, gunicorn
// after 2 s), so kept-alive connections are often dead when taken. c's
// deadline must not have passed.
func (c *conn) closedWhileIdle() bool {
	if c.socket == nil {
		return false
	}
	c.peeked = false
	if err := c.socket.Read(c.peek); err != nil {
		return false // not looked at; the request will tell
	}
	return c.peeked
}

// limitHeaders starts the budget of reading one response's headers:
// the bytes already buffered were counted when they were read.
func (c *conn) limitHeaders() {
	c.budget.n = maxHeaderBytes + readBufferSize
	c.budget.read = 0
}

// unlimit lifts the budget for the body, whose read the caller caps.
func (c *conn) unlimit() { c.budget.n = math.MaxInt64 }

// received reports whether any byte of the answer arrived since
// limitHeaders (buffered bytes of an earlier answer would make the
// connection unusable, and are refused before reuse).
func (c *conn) received() bool { return c.budget.read > 0 }

// connPool keeps idle connections per poolKey, newest first out, and
// closes those idle longer than timeout.
type connPool struct {
	max     int
	timeout time.Duration
	now     func() time.Time

	mu      sync.Mutex
	idle    map[poolKey][]*conn
	count   int
	janitor *time.Timer // armed while any connection is idle
}

func newConnPool(maxPerHost int, timeout time.Duration, now func() time.Time) *connPool {
	return &connPool{max: maxPerHost, timeout: timeout, now: now, idle: map[poolKey][]*conn{}}
}

// get returns the newest idle connection for k that has not idled too
// long, or nil.
func (p *connPool) get(k poolKey) *conn {
	cut := p.now().Add(-p.timeout)
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.idle[k]
	n := len(list)
	if n == 0 {
		return nil
	}
	c := list[n-1]
	list[n-1] = nil
	p.idle[k] = list[:n-1]
	p.count--
	if c.idleAt.Before(cut) {
		// The newest is too old, so are the others under it.
		for _, old := range p.idle[k] {
			old.nc.Close()
		}
		p.count -= len(p.idle[k])
		delete(p.idle, k)
		c.nc.Close()
		return nil
	}
	return c
}

// put keeps c for reuse, or closes it if its host's pool is full.
func (p *connPool) put(c *conn) {
	c.idleAt = p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle[c.key]) >= p.max {
		c.nc.Close()
		return
	}
	p.idle[c.key] = append(p.idle[c.key], c)
	p.count++
	if p.janitor == nil {
		p.janitor = time.AfterFunc(p.timeout, p.sweep)
	}
}

// sweep closes connections idle longer than the timeout, so that a
// receiver no longer delivered to does not keep sockets open.
func (p *connPool) sweep() {
	cut := p.now().Add(-p.timeout)
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, list := range p.idle {
		i := 0
		for i < len(list) && list[i].idleAt.Before(cut) {
			list[i].nc.Close()
			i++
		}
		p.count -= i
		if i == len(list) {
			delete(p.idle, k)
		} else if i > 0 {
			p.idle[k] = append(list[:0], list[i:]...)
			clear(list[len(list)-i:])
		}
	}
	p.janitor = nil
	if p.count > 0 {
		p.janitor = time.AfterFunc(p.timeout/2, p.sweep)
	}
}

// closeIdle closes every idle connection.
func (p *connPool) closeIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, list := range p.idle {
		for _, c := range list {
			c.nc.Close()
		}
	}
	clear(p.idle)
	p.count = 0
	if p.janitor != nil {
		p.janitor.Stop()
		p.janitor = nil
	}
}

// dial opens a connection for k: the policy-checked TCP connect, then the
// TLS handshake for https, both within the connect timeout and before the
// attempt's deadline, which then bounds the connection's reads and writes.
func (c *Client) dial(ctx context.Context, k poolKey, deadline time.Time) (*conn, error) {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	ctx, cancelConnect := context.WithTimeout(ctx, c.cfg.ConnectTimeout)
	defer cancelConnect()
	nc, err := c.dialer.DialContext(ctx, "tcp", k.addr)
	if err != nil {
		return nil, err
	}
	if k.tls {
		cfg := c.tlsSecure
		if k.skipVerify {
			cfg = c.tlsInsecure
		}
		cfg = cfg.Clone()
		cfg.ServerName = k.serverName
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	if err := nc.SetDeadline(deadline); err != nil {
		nc.Close()
		return nil, err
	}
	return newConn(nc, k), nil
}

// lookAfterIdle is how long a connection idles before it is looked at
// (closedWhileIdle) on reuse. Receivers close idle connections after a
// second or more; the look costs a system call, about 2 µs here, which a
// connection reused at once, as at full speed, does not pay. One closed
// sooner fails the request, which is sent again on a new connection.
const lookAfterIdle = 100 * time.Millisecond

// idleConn returns a kept-alive connection for k that the receiver has not
// closed, with its deadline set, or nil. Those it finds closed it closes
// and passes over: after a receiver's restart, all of them.
func (c *Client) idleConn(k poolKey, deadline time.Time) *conn {
	for {
		cn := c.pool.get(k)
		if cn == nil {
			return nil
		}
		if cn.nc.SetDeadline(deadline) == nil &&
			(c.pool.now().Sub(cn.idleAt) < lookAfterIdle || !cn.closedWhileIdle()) {
			return cn
		}
		cn.nc.Close()
	}
}

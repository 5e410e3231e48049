package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hookd/hookd"
)

// Client sends deliveries. It is safe for concurrent use and keeps
// connections alive per receiver, so make one and share it.
type Client struct {
	cfg    Config
	dialer *net.Dialer
	// tlsSecure verifies certificates; tlsInsecure serves only webhooks
	// whose TLSVerify is false, and their connections are pooled apart.
	tlsSecure, tlsInsecure *tls.Config
	pool                   *connPool
	targets                targetCache
	// excerpts holds response read buffers of excerptLen bytes.
	excerpts   sync.Pool
	excerptLen int
	// macs keeps keyed HMACs per secret, so that signing does not decode the
	// secret and set up the HMAC on every send.
	macs macCache
	// envelopes shares an event's body among its deliveries.
	envelopes envelopeCache
}

var _ hookd.Sender = (*Client)(nil)

// New returns a Client for cfg, or EINVALID if cfg is not valid.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	sessions := tls.NewLRUClientSessionCache(0)
	c := &Client{
		cfg:         cfg,
		dialer:      newDialer(cfg.ConnectTimeout, cfg.Policy),
		tlsSecure:   &tls.Config{MinVersion: tls.VersionTLS12, ClientSessionCache: sessions},
		tlsInsecure: &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}, //nolint:gosec // only for webhooks whose owner turned verification off
		pool:        newConnPool(cfg.MaxIdleConnsPerHost, cfg.IdleConnTimeout, time.Now),
		excerptLen:  int(min(int64(hookd.MaxResponseExcerpt), cfg.MaxResponseRead)),
	}
	c.excerpts.New = func() any {
		b := make([]byte, c.excerptLen)
		return &b
	}
	return c, nil
}

// CloseIdleConnections closes the kept-alive connections.
func (c *Client) CloseIdleConnections() { c.pool.closeIdle() }

// Timeout is the most one Send takes: its RequestTimeout, which bounds the
// connect, the request and the capped read of the answer.
func (c *Client) Timeout() time.Duration { return c.cfg.RequestTimeout }

// outbound is one signed request, ready to write.
type outbound struct {
	t        *target
	e        *hookd.Event
	w        *hookd.Webhook
	body     []byte
	sig      []byte // the timestamp, then the signatures
	tsLen    int
	callfire string // X-CallFire-Signature, for webhooks made through that API
}

// answer is what the receiver said.
type answer struct {
	status     int
	retryAfter string
	excerpt    string
}

// Send makes one attempt of j: it builds and signs the request, posts it
// within RequestTimeout, reads at most MaxResponseRead of the answer and
// classifies what happened. It never returns an error: every failure is an
// Attempt with an ErrorClass, and messages never contain a secret.
func (c *Client) Send(ctx context.Context, j *hookd.Job) hookd.AttemptResult {
	start := c.cfg.Now()
	// The attempt's deadline bounds the connection's reads and writes
	// directly; a derived context (and its timer) is made only to dial.
	deadline := time.Now().Add(c.cfg.RequestTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	var sigBuf [24 + 2*64]byte
	o := outbound{sig: sigBuf[:0]}
	if err := c.prepare(&o, j, start); err != nil {
		return c.result(start, hookd.ClassInvalid, err.Error())
	}
	// A 3xx is a failed attempt, never followed: following it would leave
	// the URL the customer registered and bypass the check of where we
	// deliver.
	a, err := c.exchange(ctx, &o, deadline)
	if err != nil {
		class, msg := c.classifyError(ctx, err, deadline)
		return c.result(start, class, msg)
	}
	r := c.result(start, hookd.ClassNone, "")
	r.Attempt.StatusCode = a.status
	r.Attempt.ResponseExcerpt = a.excerpt
	code := a.status
	switch {
	case code >= 200 && code < 300:
	case code >= 300 && code < 400:
		r.Attempt.ErrorClass = hookd.ClassHTTPStatus
		r.Attempt.Error = statusMessage(code) + ": redirects are not followed"
	case code == http.StatusGone:
		r.Attempt.ErrorClass = hookd.ClassGone
		r.Attempt.Error = statusMessage(code) + ": the receiver asked to stop deliveries"
	default:
		r.Attempt.ErrorClass = hookd.ClassHTTPStatus
		r.Attempt.Error = statusMessage(code)
		if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
			r.RetryAfter = parseRetryAfter(a.retryAfter, start)
		}
	}
	return r
}

func (c *Client) result(start time.Time, class hookd.ErrorClass, msg string) hookd.AttemptResult {
	d := c.cfg.Now().Sub(start)
	return hookd.AttemptResult{Attempt: hookd.Attempt{
		At:         start,
		Duration:   d,
		DurationMS: d.Milliseconds(),
		ErrorClass: class,
		Error:      msg,
	}}
}

func statusMessage(code int) string {
	if t := http.StatusText(code); t != "" {
		return "HTTP " + strconv.Itoa(code) + " " + t
	}
	return "HTTP " + strconv.Itoa(code)
}

// prepare parses the target, builds the body and signs it. Its errors are
// the invalid_request class.
func (c *Client) prepare(o *outbound, j *hookd.Job, now time.Time) error {
	if j == nil || j.Event == nil || j.Webhook == nil {
		return errors.New("the job has no event or no webhook")
	}
	e, w := j.Event, j.Webhook
	t, err := c.targets.get(w.URL, !w.TLSVerify)
	if err != nil {
		return fmt.Errorf("bad webhook URL: %w", err)
	}
	o.t, o.e, o.w = t, e, w
	switch {
	case w.Source == callFireSource:
		data := []byte(e.Data)
		if len(w.Fields) > 0 {
			if data, err = project(data, w.Fields); err != nil {
				return err
			}
		}
		o.body = appendCallFireNotification(make([]byte, 0, len(data)+len(w.Name)+len(e.Type)+192), e, w, data)
	case w.Source == svixSource:
		o.body = []byte(e.Data)
		if len(w.Fields) > 0 {
			if o.body, err = project(o.body, w.Fields); err != nil {
				return err
			}
		}
	case len(w.Fields) > 0 || w.Source == backendSource:
		data := []byte(e.Data)
		if len(w.Fields) > 0 {
			if data, err = project(data, w.Fields); err != nil {
				return err
			}
		}
		o.body = appendEnvelopeWith(make([]byte, 0, len(data)+len(e.ID)+2*len(e.Type)+80), e, data, w.Source == backendSource)
	default:
		o.body = c.envelopes.body(e)
	}
	ts := now.Unix()
	o.sig = strconv.AppendInt(o.sig, ts, 10)
	o.tsLen = len(o.sig)
	for i, s := range w.Secrets(now) {
		sg, err := c.macs.get(s)
		if err != nil {
			return fmt.Errorf("sign: %w", err)
		}
		if i > 0 {
			o.sig = append(o.sig, ' ')
		}
		o.sig = sg.appendSignature(o.sig, e.ID, ts, o.body)
		c.macs.put(s, sg)
	}
	if w.Source == callFireSource {
		o.callfire = SignCallFire(hookd.SecretText(w.Secret), o.body)
	}
	return nil
}

// inlineBody is the largest body copied behind the headers into one
// write; a larger one goes out with writev, uncopied.
const inlineBody = 16 << 10

var errNoAnswer = errors.New("the receiver closed the connection without answering")

// aLongTimeAgo is a deadline that has passed: setting it interrupts a
// connection's blocked read or write.
var aLongTimeAgo = time.Unix(1, 0)

// exchange sends o and reads the answer, on a kept-alive connection if
// one is idle and still open, else on a new one.
func (c *Client) exchange(ctx context.Context, o *outbound, deadline time.Time) (answer, error) {
	if err := ctx.Err(); err != nil {
		return answer{}, err
	}
	cn := c.idleConn(o.t.key, deadline)
	for {
		reused := cn != nil
		if !reused {
			var err error
			if cn, err = c.dial(ctx, o.t.key, deadline); err != nil {
				return answer{}, err
			}
		}
		a, keep, err := c.roundTrip(ctx, cn, o)
		if keep {
			c.pool.put(cn)
		} else {
			cn.nc.Close()
		}
		// Once, and never on another idle connection, which may have been
		// closed in the same way; the body is in memory.
		if !reused || !closedAsSent(ctx, cn, a, err) {
			return a, err
		}
		cn = nil
	}
}

// closedAsSent reports whether the receiver closed a kept-alive connection
// as the request went out (its keep-alive timeout ran out just then), so
// that the request may be sent again on a new connection: the exchange
// failed before any byte of an answer arrived, and not by the deadline or a
// cancellation; or the answer was 408, which servers send as they close a
// connection that brought no request in time, and which says that the
// request was not taken.
func closedAsSent(ctx context.Context, cn *conn, a answer, err error) bool {
	switch {
	case ctx.Err() != nil:
		return false
	case err == nil:
		return a.status == http.StatusRequestTimeout
	}
	return !cn.received() && !errors.Is(err, os.ErrDeadlineExceeded)
}

// roundTrip writes o on cn, whose deadline is set, and reads the answer
// within ctx. keep says whether cn may carry another request.
func (c *Client) roundTrip(ctx context.Context, cn *conn, o *outbound) (a answer, keep bool, err error) {
	// Cancellation (shutdown) interrupts the exchange at once; a
	// connection it interrupted is not reused.
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() {
			cn.nc.SetDeadline(aLongTimeAgo) //nolint:errcheck // the exchange fails either way
		})
		defer func() {
			if !stop() {
				keep = false
			}
		}()
	}

	cn.wbuf = appendHead(cn.wbuf[:0], o, c.cfg.UserAgent)
	if len(o.body) <= inlineBody {
		cn.wbuf = append(cn.wbuf, o.body...)
		_, err = cn.nc.Write(cn.wbuf)
	} else {
		bufs := net.Buffers{cn.wbuf, o.body}
		_, err = bufs.WriteTo(cn.nc)
	}
	// A receiver may answer and close before reading the whole body (a 413
	// for a body over its limit): after a failed write the answer, if one
	// came, is still read, as net/http does; the connection is not reused.
	writeErr := err

	cn.limitHeaders()
	resp, err := http.ReadResponse(cn.br, nil)
	// Interim answers (100 Continue, 103 Early Hints) precede the real one.
	for err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
		resp, err = http.ReadResponse(cn.br, nil)
	}
	if err != nil {
		if writeErr != nil {
			return a, false, writeErr
		}
		if !cn.received() && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
			err = errNoAnswer
		}
		return a, false, err
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return a, false, errors.New("the receiver answered 101 Switching Protocols to a webhook POST")
	}
	cn.unlimit()
	a.status = resp.StatusCode
	if a.status == http.StatusTooManyRequests || a.status == http.StatusServiceUnavailable {
		a.retryAfter = resp.Header.Get("Retry-After")
	}
	var ended bool
	a.excerpt, ended = c.readBody(resp.Body)
	// Reuse only a connection whose answer was read to its framed end, with
	// nothing unasked-for behind it.
	keep = writeErr == nil && ended && !resp.Close && cn.br.Buffered() == 0 &&
		(resp.ContentLength >= 0 || len(resp.TransferEncoding) > 0)
	return a, keep, nil
}

// appendHead appends the request line and headers of o.
func appendHead(dst []byte, o *outbound, userAgent string) []byte {
	dst = append(dst, "POST "...)
	dst = append(dst, o.t.requestURI...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, o.t.host...)
	dst = appendHeader(dst, "User-Agent", userAgent)
	dst = append(dst, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(o.body)), 10)
	dst = appendHeader(dst, "Webhook-Id", o.e.ID)
	dst = appendHeader(dst, "Webhook-Timestamp", o.sig[:o.tsLen])
	dst = appendHeader(dst, "Webhook-Signature", o.sig[o.tsLen:])
	if o.callfire != "" {
		dst = appendHeader(dst, "X-Callfire-Signature", o.callfire)
	}
	if o.w.Source == svixSource {
		dst = appendSvixHeaders(dst, o)
	}
	for k, v := range o.w.Headers {
		k = textproto.CanonicalMIMEHeaderKey(k)
		if ownedHeader(k) || (o.callfire != "" && k == "X-Callfire-Signature") || svixOwned(o.w, k) {
			continue // hookd's own win; validation refuses them anyway
		}
		dst = appendHeader(dst, k, v)
	}
	return append(dst, "\r\n\r\n"...)
}

// appendHeader appends "\r\nname: value". A control character in the value
// (which validation refuses) becomes a space, so a value can never start a
// header of its own.
func appendHeader[S string | []byte](dst []byte, name string, value S) []byte {
	dst = append(dst, "\r\n"...)
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	for i := 0; i < len(value); i++ {
		b := value[i]
		if (b < ' ' && b != '\t') || b == 0x7f {
			b = ' '
		}
		dst = append(dst, b)
	}
	return dst
}

// ownedHeader reports a header hookd writes itself, or one about the
// connection rather than the delivery, which a webhook cannot set.
func ownedHeader(canon string) bool {
	switch canon {
	case "Host", "User-Agent", "Content-Type", "Content-Length", "Transfer-Encoding", "Trailer", "Te",
		"Connection", "Keep-Alive", "Proxy-Connection", "Upgrade", "Expect":
		return true
	}
	return strings.HasPrefix(canon, "Webhook-")
}

// readBody keeps the first excerptLen bytes of the body as text and reads
// and discards the rest up to MaxResponseRead, so that the connection can
// be reused. ended says whether the body was read to its end.
func (c *Client) readBody(body io.Reader) (excerptText string, ended bool) {
	bp := c.excerpts.Get().(*[]byte)
	defer c.excerpts.Put(bp)
	buf := *bp
	var n int
	var err error
	for n < len(buf) && err == nil {
		var m int
		m, err = body.Read(buf[n:])
		n += m
	}
	excerptText = excerpt(buf[:n])
	// Drain into the same buffer. Errors while draining do not change
	// the answer the receiver gave; they only forbid reuse.
	for left := c.cfg.MaxResponseRead - int64(n); err == nil && left > 0; {
		var m int
		m, err = body.Read(buf[:min(int64(len(buf)), left)])
		left -= int64(m)
	}
	return excerptText, err == io.EOF
}

// classifyError names the class of a failed round trip and a message
// for the tenant, who may read it in the attempt log: it never shows an
// address the host resolved to, the resolver's address, a local address or
// any other detail of hookd's network (describeNetError).
func (c *Client) classifyError(ctx context.Context, err error, deadline time.Time) (hookd.ErrorClass, string) {
	var blocked *BlockedError
	if errors.As(err, &blocked) {
		return hookd.ClassDestinationBlocked, "the URL's host is a private or reserved address, which hookd does not deliver to"
	}
	var op *net.OpError
	dialing := errors.As(err, &op) && op.Op == "dial"
	switch {
	case errors.Is(ctx.Err(), context.Canceled) || errors.Is(err, context.Canceled):
		return hookd.ClassTimeout, "cancelled before the receiver answered"
	case dialing && ctx.Err() == nil && time.Now().Before(deadline) && isTimeout(err):
		return hookd.ClassTimeout, "no connection within " + c.cfg.ConnectTimeout.String()
	case ctx.Err() != nil || !time.Now().Before(deadline):
		return hookd.ClassTimeout, "no complete answer within " + c.cfg.RequestTimeout.String()
	case errors.Is(err, errNoAnswer):
		return hookd.ClassConnection, errNoAnswer.Error()
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return hookd.ClassConnection, "the receiver closed the connection in the middle of its answer"
	}
	if isTimeout(err) {
		return hookd.ClassTimeout, "no complete answer within " + c.cfg.RequestTimeout.String()
	}
	return hookd.ClassConnection, describeNetError(err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// describeNetError says what failed in words of its own: the errors of
// net, crypto/tls and the system name the addresses involved (resolved,
// local, the resolver's), which are hookd's network and not the tenant's.
func describeNetError(err error) string {
	var dns *net.DNSError
	var host x509.HostnameError
	var authority x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var record tls.RecordHeaderError
	var alert tls.AlertError
	switch {
	case errors.As(err, &dns) && dns.IsNotFound:
		return "the URL's host name does not resolve (no such host)"
	case errors.As(err, &dns):
		return "the DNS lookup of the URL's host name failed"
	case errors.As(err, &host):
		return "the receiver's TLS certificate is not valid for the URL's host name"
	case errors.As(err, &authority):
		return "the receiver's TLS certificate is signed by an unknown authority"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "the receiver's TLS certificate has expired or is not yet valid"
	case errors.As(err, &invalid):
		return "the receiver's TLS certificate is invalid"
	case errors.As(err, &record):
		return "the receiver did not answer in TLS (an https URL on a plain HTTP port?)"
	case errors.As(err, &alert):
		return "the receiver refused the TLS handshake (" + alert.Error() + ")"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the receiver refused the connection (nothing listens on the URL's port)"
	case errors.Is(err, syscall.ECONNRESET):
		return "the receiver reset the connection"
	case errors.Is(err, syscall.EPIPE):
		return "the receiver closed the connection while the request was being sent"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "the receiver's host is unreachable"
	}
	var op *net.OpError
	if errors.As(err, &op) {
		switch op.Op {
		case "dial":
			return "could not connect to the receiver"
		case "write":
			return "the connection failed while the request was being sent"
		}
		return "the connection failed while the answer was being read"
	}
	if strings.Contains(err.Error(), "tls:") {
		return "the TLS handshake with the receiver failed"
	}
	// What is left comes from reading the answer (a malformed status
	// line, headers over the limit): the receiver's, not hookd's.
	return err.Error()
}

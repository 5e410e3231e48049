package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/hookd/hookd"
)

// Client sends deliveries. It is safe for concurrent use and keeps
// connections alive per host, so make one and share it.
type Client struct {
	cfg Config
	// secure verifies certificates; insecure serves only webhooks whose
	// TLSVerify is false. Each keeps its own connection pool. Send calls
	// their RoundTrip directly: an http.Client would only add redirect
	// bookkeeping (a copy of the URL and of the headers per request) for
	// redirects that are never followed.
	secure, insecure *http.Transport
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
	c := &Client{
		cfg:        cfg,
		secure:     newTransport(cfg, false),
		insecure:   newTransport(cfg, true),
		excerptLen: int(min(int64(hookd.MaxResponseExcerpt), cfg.MaxResponseRead)),
	}
	c.excerpts.New = func() any {
		b := make([]byte, c.excerptLen)
		return &b
	}
	return c, nil
}

func newTransport(cfg Config, skipVerify bool) *http.Transport {
	return &http.Transport{
		// Never a proxy: the policy must judge the receiver's address, and a
		// proxy taken from the environment would be dialled instead.
		Proxy:                  nil,
		DialContext:            newDialer(cfg.ConnectTimeout, cfg.Policy).DialContext,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: skipVerify},
		TLSHandshakeTimeout:    cfg.ConnectTimeout,
		MaxIdleConns:           0, // no global cap; the per-host cap bounds each receiver
		MaxIdleConnsPerHost:    cfg.MaxIdleConnsPerHost,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		ExpectContinueTimeout:  0,
		// No "Accept-Encoding: gzip" on every delivery: answers are a few
		// bytes, and the stored excerpt should be the bytes the receiver sent.
		DisableCompression: true,
		// The defaults (4 KiB each) already carry the headers and a delivery
		// of about 1.3 KiB in one write, and a receiver's answer in one read.
	}
}

// CloseIdleConnections closes the keep-alive connections of both pools.
func (c *Client) CloseIdleConnections() {
	c.secure.CloseIdleConnections()
	c.insecure.CloseIdleConnections()
}

// Timeout is the most one Send takes: its RequestTimeout, which bounds the
// connect, the request and the capped read of the answer.
func (c *Client) Timeout() time.Duration { return c.cfg.RequestTimeout }

// Send makes one attempt of j: it builds and signs the request, posts it
// within RequestTimeout, reads at most MaxResponseRead of the answer and
// classifies what happened. It never returns an error: every failure is an
// Attempt with an ErrorClass, and messages never contain a secret.
func (c *Client) Send(ctx context.Context, j *hookd.Job) hookd.AttemptResult {
	start := c.cfg.Now()
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	req, err := c.newRequest(ctx, j, start)
	if err != nil {
		return c.result(start, hookd.ClassInvalid, err.Error())
	}

	t := c.secure
	if !j.Webhook.TLSVerify {
		t = c.insecure
	}
	// A 3xx is a failed attempt, never followed: following it would leave
	// the URL the customer registered and bypass the check of where we
	// deliver. RoundTrip does not follow redirects.
	resp, err := t.RoundTrip(req)
	if err != nil {
		class, msg := c.classifyError(err)
		return c.result(start, class, msg)
	}
	excerpt := c.readExcerpt(resp.Body)
	r := c.result(start, hookd.ClassNone, "")
	r.Attempt.StatusCode = resp.StatusCode
	r.Attempt.ResponseExcerpt = excerpt
	code := resp.StatusCode
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
			r.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), start)
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

// newRequest builds the signed POST. Its errors are the invalid_request class.
func (c *Client) newRequest(ctx context.Context, j *hookd.Job, now time.Time) (*http.Request, error) {
	if j == nil || j.Event == nil || j.Webhook == nil {
		return nil, errors.New("the job has no event or no webhook")
	}
	e, w := j.Event, j.Webhook
	var body []byte
	if len(w.Fields) > 0 {
		data, err := project([]byte(e.Data), w.Fields)
		if err != nil {
			return nil, err
		}
		body = appendEnvelope(make([]byte, 0, len(data)+len(e.ID)+len(e.Type)+64), e, data)
	} else {
		body = c.envelopes.body(e)
	}

	// The timestamp and the signatures share one string: one allocation
	// for both header values.
	ts := now.Unix()
	var hvBuf [24 + 2*64]byte
	hv := strconv.AppendInt(hvBuf[:0], ts, 10)
	tsLen := len(hv)
	for i, s := range w.Secrets(now) {
		sg, err := c.macs.get(s)
		if err != nil {
			return nil, fmt.Errorf("sign: %w", err)
		}
		if i > 0 {
			hv = append(hv, ' ')
		}
		hv = sg.appendSignature(hv, e.ID, ts, body)
		c.macs.put(s, sg)
	}
	tsSig := string(hv)

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body)) // sets ContentLength and GetBody
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is the customer's own; say what is wrong with it
		}
		return nil, fmt.Errorf("bad webhook URL: %w", err)
	}
	h := make(http.Header, len(w.Headers)+6)
	for k, v := range w.Headers {
		h.Set(k, v) // first, so that hookd's own headers below win
	}
	// One backing array for hookd's header values instead of one per header.
	vals := [...]string{"application/json", c.cfg.UserAgent, e.ID, tsSig[:tsLen], tsSig[tsLen:], ""}
	vs := vals[:]
	h["Content-Type"] = vs[0:1:1]
	h["User-Agent"] = vs[1:2:2]
	h["Webhook-Id"] = vs[2:3:3]
	h["Webhook-Timestamp"] = vs[3:4:4]
	h["Webhook-Signature"] = vs[4:5:5]
	if w.Source == "callfire" {
		vs[5] = SignCallFire(w.Secret, body)
		h["X-Callfire-Signature"] = vs[5:6:6]
	}
	req.Header = h
	return req, nil
}

// readExcerpt keeps the first excerptLen bytes of the body as text, reads
// and discards the rest up to MaxResponseRead so the connection can be
// reused, and closes the body (a body longer than the cap closes the
// connection instead).
func (c *Client) readExcerpt(body io.ReadCloser) string {
	defer body.Close()
	bp := c.excerpts.Get().(*[]byte)
	defer c.excerpts.Put(bp)
	buf := *bp
	n, err := io.ReadFull(body, buf)
	out := excerpt(buf[:n])
	if err == nil {
		// Drain into the same buffer (no io.CopyN: it allocates a
		// LimitReader per send). Errors while draining do not change the
		// answer the receiver gave.
		for left := c.cfg.MaxResponseRead - int64(n); left > 0; {
			m, err := body.Read(buf[:min(int64(len(buf)), left)])
			left -= int64(m)
			if err != nil {
				break
			}
		}
	}
	return out
}

// classifyError names the class of a failed round trip and a message
// without the URL (which the attempt's delivery already shows).
func (c *Client) classifyError(err error) (hookd.ErrorClass, string) {
	var blocked *BlockedError
	if errors.As(err, &blocked) {
		return hookd.ClassDestinationBlocked, blocked.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return hookd.ClassTimeout, "no complete answer within " + c.cfg.RequestTimeout.String()
	case errors.Is(err, context.Canceled):
		return hookd.ClassTimeout, "cancelled before the receiver answered"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return hookd.ClassTimeout, err.Error()
	}
	return hookd.ClassConnection, err.Error()
}

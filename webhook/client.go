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
	// TLSVerify is false. Each keeps its own connection pool.
	secure, insecure *http.Client
	// excerpts holds response read buffers of excerptLen bytes.
	excerpts   sync.Pool
	excerptLen int
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
		secure:     newHTTPClient(cfg, false),
		insecure:   newHTTPClient(cfg, true),
		excerptLen: int(min(int64(hookd.MaxResponseExcerpt), cfg.MaxResponseRead)),
	}
	c.excerpts.New = func() any {
		b := make([]byte, c.excerptLen)
		return &b
	}
	return c, nil
}

func newHTTPClient(cfg Config, skipVerify bool) *http.Client {
	t := &http.Transport{
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
	}
	return &http.Client{
		Transport: t,
		// A 3xx is a failed attempt: following it would leave the URL the
		// customer registered and bypass the check of where we deliver.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// CloseIdleConnections closes the keep-alive connections of both pools.
func (c *Client) CloseIdleConnections() {
	c.secure.CloseIdleConnections()
	c.insecure.CloseIdleConnections()
}

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

	hc := c.secure
	if !j.Webhook.TLSVerify {
		hc = c.insecure
	}
	resp, err := hc.Do(req)
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
	data := []byte(e.Data)
	if len(w.Fields) > 0 {
		var err error
		if data, err = project(data, w.Fields); err != nil {
			return nil, err
		}
	}
	body := appendEnvelope(make([]byte, 0, len(data)+len(e.ID)+len(e.Type)+64), e, data)

	ts := now.Unix()
	var sigBuf [2 * 64]byte
	sig := sigBuf[:0]
	for i, s := range w.Secrets(now) {
		key, err := DecodeSecret(s)
		if err != nil {
			return nil, fmt.Errorf("sign: %w", err)
		}
		if i > 0 {
			sig = append(sig, ' ')
		}
		sig = AppendSignature(sig, key, e.ID, ts, body)
	}

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
	vals := [...]string{"application/json", c.cfg.UserAgent, e.ID, strconv.FormatInt(ts, 10), string(sig), ""}
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
	n, err := io.ReadFull(body, *bp)
	out := excerpt((*bp)[:n])
	if err == nil {
		// Errors while draining do not change the answer the receiver gave.
		_, _ = io.CopyN(io.Discard, body, c.cfg.MaxResponseRead-int64(n))
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

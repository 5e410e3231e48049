package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/hookd/hookd"
)

// screen refuses, before any handler or store sees it, a routed request
// whose body the API would otherwise mangle or wait on, or could not hold:
// a body that is not JSON, larger than the limit, over the memory that
// bodies in flight may take (503), or with strings that are not text. A
// body it accepts is read whole and put back. It reports whether the
// request may go on, and release, to call when it is answered.
func (s *Server) screen(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	if !hasBody(r) {
		return func() {}, true
	}
	publish := r.Method == http.MethodPost && (r.URL.Path == "/v1/events" || r.URL.Path == "/v1/events/batch")
	limit := s.cfg.MaxBodyBytes
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/events":
		limit = s.cfg.MaxEventBytes
	case r.Method == http.MethodPost && r.URL.Path == "/v1/events/batch":
		limit = s.cfg.MaxBatchBytes
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" && !(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		if ct == "" {
			s.writeErr(w, hookd.Errorf(hookd.EUNSUPPORTED, "a request body must be sent with Content-Type: application/json"))
		} else {
			s.writeErr(w, hookd.Errorf(hookd.EUNSUPPORTED, "a request body must be application/json, got %q", ct))
		}
		return nil, false
	}
	tooLarge := hookd.Errorf(hookd.ETOOLARGE, "request body is larger than the limit of %d bytes", limit)
	// A declared length over the limit is refused before a byte of the body
	// is read, and the connection closed, rather than waiting for a body
	// that will not be used.
	if r.ContentLength > limit {
		w.Header().Set("Connection", "close")
		s.writeErr(w, tooLarge)
		return nil, false
	}
	// What the body will take is charged before a byte is read: nothing
	// is accepted that cannot be held.
	need := r.ContentLength
	if need < 0 {
		need = limit
	}
	// One body is always taken when no other is held, however large, so
	// that every limit stays reachable whatever the bound.
	if held := s.bodies.Add(need); held > s.cfg.MaxBodyMemory && held != need {
		s.bodies.Add(-need)
		// The body is read and dropped, a buffer at a time, so that the
		// client, still sending it, reads the 503 rather than a reset.
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, limit))
		w.Header().Set("Retry-After", "1")
		s.writeErr(w, hookd.Errorf(hookd.EUNAVAILABLE, "the server holds as many request bodies as it may (%d bytes); retry after a second", s.cfg.MaxBodyMemory))
		return nil, false
	}
	release = func() { s.bodies.Add(-need) }
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooMuch *http.MaxBytesError
		if errors.As(err, &tooMuch) {
			s.writeErr(w, tooLarge)
		} else {
			s.writeErr(w, hookd.Errorf(hookd.EMALFORMED, "the request body could not be read"))
		}
		release()
		return nil, false
	}
	if path, bad := hookd.BadJSONText(body); bad {
		// Inside an event's data this is the producer's document being
		// malformed; anywhere else it is a field with a wrong value.
		if publish && inData(path) {
			s.writeErr(w, hookd.Errorf(hookd.EMALFORMED, "data: the string at %s is not valid Unicode text (invalid UTF-8 or a lone surrogate such as \\ud800)", path))
		} else {
			s.writeErr(w, hookd.Errorf(hookd.EINVALID, "%s must be valid Unicode text (not invalid UTF-8 or a lone surrogate such as \\ud800)", path))
		}
		release()
		return nil, false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return release, true
}

// eventInBatch is the prefix of a batch's event in a path.
var eventInBatch = regexp.MustCompile(`^events\[\d+\]\.`)

// inData reports whether a path of BadJSONText is inside an event's data
// (a publish's, or one of a batch's events').
func inData(path string) bool {
	path = strings.TrimPrefix(path, "a key of ")
	path = eventInBatch.ReplaceAllString(path, "")
	return path == "data" || strings.HasPrefix(path, "data.") || strings.HasPrefix(path, "data[")
}

// hasBody reports whether r is a POST, PUT or PATCH with a body: a
// declared length above zero, or one sent chunked.
func hasBody(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return false
	}
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
}

func (s *Server) writeErr(w http.ResponseWriter, err error) {
	status, code := statusOf(err)
	writeError(w, status, code, hookd.ErrorMessage(err))
}

// Envelope answers in the error envelope what net/http's ServeMux answers
// in HTML or plain text before any API handler runs: the redirect of an
// unclean path (/v1//webhooks, /v1/./webhooks) or of a path without its
// trailing slash. The status and Location stay.
func Envelope(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&redirectWriter{ResponseWriter: w}, r)
	})
}

// redirectWriter replaces the body of a redirect with the envelope.
type redirectWriter struct {
	http.ResponseWriter
	redirect bool
}

func (rw *redirectWriter) WriteHeader(code int) {
	loc := rw.Header().Get("Location")
	if code < 300 || code >= 400 || loc == "" || strings.Contains(rw.Header().Get("Content-Type"), "json") {
		rw.ResponseWriter.WriteHeader(code)
		return
	}
	rw.redirect = true
	rw.Header().Del("Content-Length")
	writeError(rw.ResponseWriter, code, codeFor(code), fmt.Sprintf("the path is not in its canonical form: use %s", loc))
}

func (rw *redirectWriter) Write(b []byte) (int, error) {
	if rw.redirect {
		return len(b), nil // the envelope replaced the mux's HTML
	}
	return rw.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (rw *redirectWriter) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// Listener makes the answers net/http writes on the connection itself,
// before there is a request to hand to a handler (431 for headers over the
// limit, 400 for a malformed request line or header), carry the error
// envelope instead of plain text.
func Listener(ln net.Listener) net.Listener { return envelopeListener{ln} }

type envelopeListener struct{ net.Listener }

func (l envelopeListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return envelopeConn{c}, nil
}

type envelopeConn struct{ net.Conn }

// plainErrorHeaders is what net/http's server writes, in one write on the
// connection, after the status line of an answer it makes itself. A
// handler's answer never has these lines in this order (the server sorts
// the header names it writes) and always has a Date.
const plainErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

func (c envelopeConn) Write(b []byte) (int, error) {
	head, text, ok := bytes.Cut(b, []byte(plainErrorHeaders))
	if !ok || !bytes.HasPrefix(head, []byte("HTTP/1.1 ")) || len(head) < 12 {
		return c.Conn.Write(b)
	}
	status, err := strconv.Atoi(string(head[9:12]))
	if err != nil || status < 400 {
		return c.Conn.Write(b)
	}
	var body bytes.Buffer
	_ = jsonFormat.Marshal(&body, errorEnvelope{Error: errorBody{Code: codeFor(status), Message: describeStatus(status, string(text))}})
	out := fmt.Sprintf("%s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", head, body.Len(), body.Bytes())
	if _, err := c.Conn.Write([]byte(out)); err != nil {
		return 0, err
	}
	return len(b), nil
}

// describeStatus turns net/http's text ("431 Request Header Fields Too
// Large") into a sentence.
func describeStatus(status int, text string) string {
	if status == http.StatusRequestHeaderFieldsTooLarge {
		return "the request's headers are larger than the server accepts"
	}
	text = strings.TrimSpace(strings.TrimPrefix(text, strconv.Itoa(status)+" "))
	if text == "" {
		text = http.StatusText(status)
	}
	return text
}

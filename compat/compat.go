// Package compat holds what the compatibility APIs (compat/callfire,
// compat/salesfinity, compat/backend) share: their options, reading a JSON
// request body within a limit, the error-code to HTTP-status table they start
// from, and seeding a scope's event-type catalog once per process.
//
// Each API is a thin translator over hookd.Services: it maps its own field
// names, ids, times and error shapes onto the domain, and never stores
// anything the domain services do not.
package compat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// DefaultMaxBodyBytes is the request body limit when Options leaves it zero.
const DefaultMaxBodyBytes = 64 << 10

// Options configure a compatibility API handler.
type Options struct {
	// Logger receives the causes of internal errors. Nil discards them.
	Logger *slog.Logger
	// MaxBodyBytes caps request bodies (413 above it); 0 means 64 KiB.
	MaxBodyBytes int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// WithDefaults returns o with its zero fields filled.
func (o Options) WithDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Status maps a hookd error code to the HTTP status of the canonical API
// (hookd.HTTPStatus). APIs whose documents answer 400 for bad input
// override EINVALID.
func Status(code string) int { return hookd.HTTPStatus(code) }

// StatusBadRequestForInvalid is Status for APIs that answer every bad
// request with 400 (CallFire, Salesfinity), where the canonical API says 422.
func StatusBadRequestForInvalid(code string) int {
	if code == hookd.EINVALID {
		return http.StatusBadRequest
	}
	return Status(code)
}

// LogInternal logs err when it is not a domain error: those are the failures
// that clients see only as "internal error".
func LogInternal(log *slog.Logger, r *http.Request, err error) {
	if hookd.ErrorCode(err) == hookd.EINTERNAL {
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
}

// WriteJSON writes v as the JSON body of a response with the given status.
// v == nil writes no body.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	if v == nil {
		w.WriteHeader(status)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Every value passed here is made of plain types; failing is a bug.
		http.Error(w, `{"error":"internal error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// isJSON reports whether a Content-Type names JSON. A missing one is taken
// as JSON: several documented clients send none.
func isJSON(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// ReadBody reads the whole request body, at most limit bytes (ETOOLARGE
// above), after checking that the Content-Type is JSON (EUNSUPPORTED).
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	if !isJSON(r.Header.Get("Content-Type")) {
		return nil, hookd.Errorf(hookd.EUNSUPPORTED, "Content-Type must be application/json, got %q", r.Header.Get("Content-Type"))
	}
	// A declared length over the limit is refused without reading (API.Error
	// closes the connection rather than wait for the body).
	if r.ContentLength > limit {
		return nil, hookd.Errorf(hookd.ETOOLARGE, "request body must be at most %d bytes", limit)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, hookd.Errorf(hookd.ETOOLARGE, "request body must be at most %d bytes", limit)
	}
	return b, nil
}

// DecodeJSON reads a JSON object from the request body into dst. Unknown
// fields are ignored, since clients of these APIs send whole objects back
// (ids, read-only times). A body that is not JSON is EMALFORMED with the
// line and column of the problem; a value of the wrong type is EINVALID
// naming the field.
func DecodeJSON(r *http.Request, limit int64, dst any) error {
	b, err := ReadBody(r, limit)
	if err != nil {
		return err
	}
	return Unmarshal(b, dst)
}

// Unmarshal is the decoding half of DecodeJSON.
func Unmarshal(b []byte, dst any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return hookd.Errorf(hookd.EMALFORMED, "request body is empty; a JSON object is required")
	}
	// Decoding would replace such strings with U+FFFD without a word.
	if path, bad := hookd.BadJSONText(b); bad {
		return hookd.Errorf(hookd.EINVALID, "%s must be valid Unicode text (not invalid UTF-8 or a lone surrogate such as \\ud800)", path)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	err := dec.Decode(dst)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return hookd.Errorf(hookd.EMALFORMED, "malformed JSON: data after the object at %s", position(b, int(dec.InputOffset())))
		}
		return nil
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		// Offset counts the offending byte; point at it.
		return hookd.Errorf(hookd.EMALFORMED, "malformed JSON at %s: %s", position(b, max(int(syn.Offset)-1, 0)), syn.Error())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return hookd.Errorf(hookd.EMALFORMED, "malformed JSON: the body ends before the object does (%s)", position(b, len(b)))
	case errors.As(err, &typ):
		if typ.Field == "" {
			return hookd.Errorf(hookd.EMALFORMED, "the body must be a JSON object, got a JSON %s", typ.Value)
		}
		return hookd.Errorf(hookd.EINVALID, "%s must be %s, got a JSON %s", typ.Field, jsonKind(typ.Type.String()), typ.Value)
	}
	var field *FieldError
	if errors.As(err, &field) {
		return field.err
	}
	return hookd.Errorf(hookd.EMALFORMED, "malformed JSON: %v", err)
}

// FieldError lets a custom UnmarshalJSON report a domain error that
// DecodeJSON passes through unchanged.
type FieldError struct{ err *hookd.Error }

// NewFieldError wraps a domain error for return from UnmarshalJSON.
func NewFieldError(code, format string, args ...any) *FieldError {
	return &FieldError{err: hookd.Errorf(code, format, args...)}
}

func (e *FieldError) Error() string { return e.err.Error() }

// position renders a byte offset as "line L, column C (byte N)".
func position(b []byte, off int) string {
	if off > len(b) {
		off = len(b)
	}
	line, col := 1, 1
	for _, c := range b[:off] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("line %d, column %d (byte %d)", line, col, off)
}

// jsonKind names a Go type the way a JSON client thinks of it.
func jsonKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map["), strings.Contains(goType, "."):
		return "an object"
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "an integer"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	}
	return "a " + goType
}

// MaxOffset bounds the offset query parameter of list operations.
const MaxOffset = 1<<31 - 1

// IntParam parses an integer query parameter within [lo, hi]; "" is def.
func IntParam(raw, name string, def, lo, hi int) (int, error) {
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		return 0, hookd.Errorf(hookd.EINVALID, "%s must be an integer between %d and %d, got %q", name, lo, hi, raw)
	}
	return n, nil
}

package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/hookd/hookd"
)

// codeByStatus names the errors huma raises itself (before a handler runs).
var codeByStatus = map[int]string{
	http.StatusBadRequest:            hookd.EMALFORMED,
	http.StatusUnauthorized:          hookd.EUNAUTHORIZED,
	http.StatusNotFound:              hookd.ENOTFOUND,
	http.StatusRequestEntityTooLarge: hookd.ETOOLARGE,
	http.StatusUnsupportedMediaType:  hookd.EUNSUPPORTED,
	http.StatusUnprocessableEntity:   hookd.EINVALID,
	http.StatusServiceUnavailable:    hookd.EUNAVAILABLE,
}

func statusOf(err error) (int, string) {
	code := hookd.ErrorCode(err)
	st := hookd.HTTPStatus(code)
	if st == http.StatusInternalServerError {
		code = hookd.EINTERNAL
	}
	return st, code
}

// apiError is every error the API writes: {"error": {"code", "message"}}.
type apiError struct {
	status     int
	Code       string
	Message    string
	retryAfter time.Duration
}

func (e *apiError) Error() string  { return e.Message }
func (e *apiError) GetStatus() int { return e.status }

// GetHeaders sends Retry-After (whole seconds, at least 1) when the error
// says when to try again.
func (e *apiError) GetHeaders() http.Header {
	if e.retryAfter <= 0 {
		return nil
	}
	return http.Header{"Retry-After": {strconv.Itoa(int(max(1, (e.retryAfter+time.Second-1)/time.Second)))}}
}

// MarshalJSON renders the envelope.
func (e *apiError) MarshalJSON() ([]byte, error) {
	return json.Marshal(errorEnvelope{Error: errorBody{Code: e.Code, Message: e.Message}})
}

type errorEnvelope struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    string `json:"code" example:"invalid"`
	Message string `json:"message" example:"url must be an absolute http or https URL"`
}

// Schema describes the envelope in the OpenAPI document.
func (e *apiError) Schema(r huma.Registry) *huma.Schema {
	return huma.SchemaFromType(r, reflectErrorEnvelope)
}

var envelopeOnce sync.Once

// useErrorEnvelope makes huma's own errors (malformed JSON, validation,
// body too large, wrong content type) use hookd's envelope. huma exposes
// this only as a package variable, so it is set once, to the same function.
func useErrorEnvelope() {
	envelopeOnce.Do(func() {
		huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
			return &apiError{status: status, Code: codeFor(status), Message: describe(status, msg, errs)}
		}
	})
}

func codeFor(status int) string {
	if c, ok := codeByStatus[status]; ok {
		return c
	}
	if status >= 500 {
		return hookd.EINTERNAL
	}
	return strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "_")
}

// describe turns huma's message and details into one sentence that says
// where the problem is ("body.url: expected required property").
func describe(status int, msg string, errs []error) string {
	if status >= 500 {
		return "internal error"
	}
	var parts []string
	for _, e := range errs {
		if e == nil {
			continue
		}
		var d *huma.ErrorDetail
		if errors.As(e, &d) {
			switch {
			case d.Location != "" && d.Message != "":
				parts = append(parts, d.Location+": "+d.Message)
			case d.Message != "":
				parts = append(parts, d.Message)
			}
			continue
		}
		parts = append(parts, e.Error())
	}
	switch {
	case status == http.StatusRequestEntityTooLarge:
		return strings.Replace(msg, "request body is too large limit=", "request body is larger than the limit of ", 1)
	case len(parts) == 0:
		return msg
	case status == http.StatusUnprocessableEntity:
		return strings.Join(parts, "; ")
	}
	return msg + ": " + strings.Join(parts, "; ")
}

// jsonFormat decodes with positions in syntax errors, so a 400 says where
// the JSON breaks.
var jsonFormat = huma.Format{
	Marshal: func(w io.Writer, v any) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	},
	Unmarshal: func(data []byte, v any) error {
		if err := json.Unmarshal(data, v); err != nil {
			return explainJSONError(data, err)
		}
		return nil
	},
}

func explainJSONError(data []byte, err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		line, col := position(data, syn.Offset)
		return fmt.Errorf("malformed JSON at line %d, column %d (byte %d): %s", line, col, syn.Offset, syn.Error())
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		line, col := position(data, typ.Offset)
		return fmt.Errorf("wrong JSON type at line %d, column %d: %s must be %s, not %s", line, col, typ.Field, typ.Type, typ.Value)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("malformed JSON: the document ends early at byte %d", len(data))
	}
	return fmt.Errorf("malformed JSON: %s", err.Error())
}

func position(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - bytes.LastIndexByte(before, '\n')
	return line, col
}

var reflectErrorEnvelope = reflect.TypeFor[errorEnvelope]()

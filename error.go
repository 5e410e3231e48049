package hookd

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Error codes. Every error that crosses a package boundary is either an *Error
// carrying one of these codes or an unexpected failure, which the API layers
// report as EINTERNAL ("internal error") and log.
const (
	EINVALID      = "invalid"          // a field or parameter is wrong; the message names it (422)
	EMALFORMED    = "malformed"        // the request body is not parseable (400)
	EUNAUTHORIZED = "unauthorized"     // missing or bad API key (401)
	EFORBIDDEN    = "forbidden"        // authenticated but not allowed (403)
	ENOTFOUND     = "not_found"        // no such row in this scope (404)
	ECONFLICT     = "conflict"         // duplicate or idempotency mismatch (409)
	ETOOLARGE     = "too_large"        // body over the limit (413)
	EUNSUPPORTED  = "unsupported_type" // content type is not JSON (415)
	ERATELIMITED  = "rate_limited"     // too many requests (429)
	EINTERNAL     = "internal"         // anything unexpected (500)
	EUNAVAILABLE  = "unavailable"      // shutting down or overloaded (503)
)

// Error is the domain error: a code for programs and a message for people.
type Error struct {
	Code    string
	Message string
	// RetryAfter, on ERATELIMITED and EUNAVAILABLE, is when to try again
	// (the APIs answer it as Retry-After); 0 if unknown.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, "" for nil,
// and EINTERNAL for anything else.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorRetryAfter returns the RetryAfter of the first *Error in err's chain, or 0.
func ErrorRetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// ErrorMessage returns the message of the first *Error in err's chain, or
// "internal error" for anything else: unexpected causes are logged, never shown.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// HTTPStatus is the one table from error codes to HTTP statuses, shared by
// the canonical API and the compatibility APIs (which may answer 400 where
// their documents do). Unknown codes are 500.
func HTTPStatus(code string) int {
	switch code {
	case EINVALID:
		return http.StatusUnprocessableEntity
	case EMALFORMED:
		return http.StatusBadRequest
	case EUNAUTHORIZED:
		return http.StatusUnauthorized
	case EFORBIDDEN:
		return http.StatusForbidden
	case ENOTFOUND:
		return http.StatusNotFound
	case ECONFLICT:
		return http.StatusConflict
	case ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case EUNSUPPORTED:
		return http.StatusUnsupportedMediaType
	case ERATELIMITED:
		return http.StatusTooManyRequests
	case EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

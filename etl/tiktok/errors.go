package tiktok

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
)

// TikTok return codes the client acts on. TikTok reports them in the JSON
// envelope of an HTTP 200 response.
const (
	CodeOK                     = 0
	CodePartialSuccess         = 20001
	CodeInvalidParams          = 40000
	CodeNoPermission           = 40001
	CodeParamError             = 40002
	CodeObjectNotExist         = 40007
	CodeTooManyIDs             = 40011
	CodeTooFrequent            = 40016 // developer-app endpoint limit
	CodeQueryTooLarge          = 40067
	CodeRateLimited            = 40100 // developer-app QPS/QPM limit
	CodeTokenExpired           = 40102
	CodeTokenEmpty             = 40104
	CodeTokenInvalid           = 40105
	CodeInvalidCoreUser        = 40106
	CodeRefreshTokenNotAllowed = 40107
	CodeAuthCodeInvalid        = 40110
	CodeAppBlocked             = 40113
	CodeNotSameCompany         = 40119
	CodeDeveloperNoPermission  = 40125
	CodeAdvertiserRateLimited  = 40133 // per-advertiser QPS limit
	CodeAdvertiserNotExist     = 40300
	CodeAdvertiserNotMatched   = 40301
	CodeSystemError            = 50000
	CodeProcessingError        = 50002
	CodeMaintenance            = 60001
)

// Sentinel errors for errors.Is. An *APIError matches the sentinel of its
// class, so callers can branch on the class without listing codes.
var (
	// ErrQueryTooLarge (TikTok 40067) means the report window is too big for
	// the account even within the documented caps; retry with a smaller window.
	ErrQueryTooLarge = errors.New("tiktok: query too large")
	// ErrRateLimited matches rate-limit errors (40100, 40016, 40133) that are
	// still failing after all retries.
	ErrRateLimited = errors.New("tiktok: rate limited")
	// ErrAuth matches authentication and permission errors (40001, 40102,
	// 40104–40106, 40110, 40113, 40119, 40125, …). They are never retried: the
	// advertiser must re-authorise or the configuration is wrong.
	ErrAuth = errors.New("tiktok: authentication or permission error")
	// ErrInvalidRequest matches parameter errors (40000, 40002, 40007, 40011,
	// 403xx, HTTP 4xx). They are never retried.
	ErrInvalidRequest = errors.New("tiktok: invalid request")
	// ErrServer matches TikTok-side failures (50000, 50002, 60001, HTTP 5xx)
	// that persisted through all retries.
	ErrServer = errors.New("tiktok: server error")
	// ErrMalformedResponse matches a response that is not a complete TikTok
	// JSON envelope (truncated, HTML error page, garbage). It is retried.
	ErrMalformedResponse = errors.New("tiktok: malformed response")
	// ErrTimeout matches a request that timed out (per-attempt timeout) after
	// all retries.
	ErrTimeout = errors.New("tiktok: request timed out")
	// ErrPaginationDrift means the report or list changed while it was being
	// paged (total_number changed, a key repeated, or the row count did not add
	// up). The pages already received for the window are unreliable: discard
	// them and pull the window again.
	ErrPaginationDrift = errors.New("tiktok: pagination drift")
)

// APIError is a failed API call: a non-zero TikTok code, or an HTTP status
// other than 200 (then Code is 0 unless the body carried one). Message is
// TikTok's own message with any secret removed; RequestID is what TikTok
// support asks for.
type APIError struct {
	Code       int
	Message    string
	RequestID  string
	HTTPStatus int
}

// Error formats the code, message, request_id and HTTP status.
func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" && e.HTTPStatus != 0 && e.HTTPStatus != http.StatusOK {
		msg = http.StatusText(e.HTTPStatus)
	}
	s := fmt.Sprintf("tiktok: code %d: %s", e.Code, msg)
	if e.RequestID != "" {
		s += " (request_id " + e.RequestID + ")"
	}
	if e.HTTPStatus != 0 && e.HTTPStatus != http.StatusOK {
		s += fmt.Sprintf(" [HTTP %d]", e.HTTPStatus)
	}
	return s
}

// Is makes errors.Is(err, ErrQueryTooLarge) and the other class sentinels
// work on an *APIError.
func (e *APIError) Is(target error) bool {
	return target != nil && e.class() == target
}

// Retryable reports whether the call may succeed if repeated as is.
func (e *APIError) Retryable() bool {
	switch e.class() {
	case ErrRateLimited, ErrServer:
		return true
	}
	return false
}

// class maps the error to one of the sentinel classes.
func (e *APIError) class() error {
	switch e.Code {
	case CodeQueryTooLarge:
		return ErrQueryTooLarge
	case CodeRateLimited, CodeTooFrequent, CodeAdvertiserRateLimited:
		return ErrRateLimited
	case CodeSystemError, CodeProcessingError, CodeMaintenance:
		return ErrServer
	case CodeNoPermission, CodeTokenExpired, CodeTokenEmpty, CodeTokenInvalid,
		CodeInvalidCoreUser, CodeRefreshTokenNotAllowed, CodeAuthCodeInvalid,
		CodeAppBlocked, CodeNotSameCompany, CodeDeveloperNoPermission:
		return ErrAuth
	case 0:
		switch {
		case e.HTTPStatus >= 500 || e.HTTPStatus == http.StatusTooManyRequests:
			if e.HTTPStatus == http.StatusTooManyRequests {
				return ErrRateLimited
			}
			return ErrServer
		case e.HTTPStatus == http.StatusUnauthorized || e.HTTPStatus == http.StatusForbidden:
			return ErrAuth
		}
		return ErrInvalidRequest
	}
	if e.Code >= 50000 {
		// Undocumented 5xxxx codes are server-side by TikTok's numbering.
		return ErrServer
	}
	if e.Code >= 40100 && e.Code < 40200 {
		// The 401xx block is authentication and authorisation.
		return ErrAuth
	}
	return ErrInvalidRequest
}

// PaginationDriftError describes how a paged listing changed under the
// client. It matches ErrPaginationDrift.
type PaginationDriftError struct {
	Path   string
	Page   int
	Reason string
}

// Error describes the drift.
func (e *PaginationDriftError) Error() string {
	return fmt.Sprintf("tiktok: pagination drift on %s page %d: %s", e.Path, e.Page, e.Reason)
}

// Is makes errors.Is(err, ErrPaginationDrift) true.
func (e *PaginationDriftError) Is(target error) bool { return target == ErrPaginationDrift }

// DecodeError is a well-formed response with a value the client cannot
// decode (a count that is not an integer, a bad date). Retrying returns the
// same data, so it is not retried.
type DecodeError struct {
	Row   int    // index of the row in the page, -1 if not row-specific
	Field string // metric or dimension name
	Err   error
}

// Error names the row and field.
func (e *DecodeError) Error() string {
	if e.Row >= 0 {
		return fmt.Sprintf("tiktok: decode row %d field %q: %v", e.Row, e.Field, e.Err)
	}
	return fmt.Sprintf("tiktok: decode field %q: %v", e.Field, e.Err)
}

// Unwrap returns the underlying parse error.
func (e *DecodeError) Unwrap() error { return e.Err }

// transportError marks a network-level failure (connection reset, timeout,
// truncated body) so the retry loop can tell it from an API error.
type transportError struct {
	err     error
	timeout bool
}

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }
func (e *transportError) Is(target error) bool {
	return e.timeout && target == ErrTimeout
}

// malformedError is a body that is not a complete envelope.
type malformedError struct {
	status int
	err    error
}

func (e *malformedError) Error() string {
	return fmt.Sprintf("tiktok: malformed response (HTTP %d): %v", e.status, e.err)
}
func (e *malformedError) Unwrap() error        { return e.err }
func (e *malformedError) Is(target error) bool { return target == ErrMalformedResponse }

// TokenRejected reports whether err is TikTok refusing the access token
// itself (expired 40102, empty 40104, invalid or revoked 40105, invalid core
// user 40106, HTTP 401): no advertiser can be pulled with it, and the cure
// is a new authorisation (`adhouse auth`).
func TokenRejected(err error) bool {
	var api *APIError
	if !errors.As(err, &api) {
		return false
	}
	switch api.Code {
	case CodeTokenExpired, CodeTokenEmpty, CodeTokenInvalid, CodeInvalidCoreUser:
		return true
	case 0:
		return api.HTTPStatus == http.StatusUnauthorized
	}
	return false
}

// AdvertiserRefused reports whether err is TikTok refusing one advertiser
// to a token that is otherwise fine: no permission for it (40001), not the
// developer's company (40119), or an advertiser that does not exist or does
// not match (40300, 40301). Other advertisers of the same run are unaffected.
func AdvertiserRefused(err error) bool {
	var api *APIError
	if !errors.As(err, &api) {
		return false
	}
	switch api.Code {
	case CodeNoPermission, CodeNotSameCompany, CodeAdvertiserNotExist, CodeAdvertiserNotMatched:
		return true
	}
	return false
}

// Unreachable reports whether err is a request that never reached TikTok's
// API: the connection was refused, or the host name does not resolve. A
// wrong tiktok.base_url or a network outage, not a busy API: retrying
// longer does not help.
func Unreachable(err error) bool {
	var te *transportError
	if !errors.As(err, &te) || te.timeout {
		return false
	}
	var dns *net.DNSError
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH) || (errors.As(err, &dns) && dns.IsNotFound)
}

// FromTikTok reports whether err is a failure of a call to TikTok or of its
// answer: a code or HTTP status, a request that timed out or did not
// connect, a malformed or undecodable body, pages that drifted. Callers use
// it to tell TikTok's failures from the warehouse's.
func FromTikTok(err error) bool {
	var re *redactedError
	var de *DecodeError
	var api *APIError
	return errors.As(err, &re) || errors.As(err, &api) || errors.As(err, &de) || errors.Is(err, ErrPaginationDrift) ||
		errors.Is(err, ErrMalformedResponse)
}

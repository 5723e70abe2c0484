package extract

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/tiktok"
)

// errNotReturned is an advertiser advertiser/info answered for without
// listing it: TikTok's quiet way of not showing it to the token.
var errNotReturned = errors.New("advertiser info: not returned by advertiser/info (is the token authorised for it?)")

// Classify names where a failure came from and its code, as /metrics
// (adhouse_errors_total), log lines and run summaries show them:
//
//   - tiktok and TikTok's code (40001, 40105…) for an answer with a code;
//     tiktok and not_returned for an advertiser advertiser/info left out;
//     tiktok and unreachable, timeout, transport, malformed,
//     pagination_drift or decode for a request or an answer that failed
//     otherwise;
//   - clickhouse and the exception code (241…), or clickhouse and
//     unreachable when the warehouse did not answer at all;
//   - other and cancelled for a run stopped by shutdown, other and unknown
//     for the rest.
func Classify(err error) (source, code string) {
	var api *tiktok.APIError
	switch {
	case errors.As(err, &api):
		if api.Code == 0 && api.HTTPStatus != 0 {
			return "tiktok", "http_" + strconv.Itoa(api.HTTPStatus)
		}
		return "tiktok", strconv.Itoa(api.Code)
	case errors.Is(err, context.Canceled):
		return "other", "cancelled"
	case errors.Is(err, errNotReturned):
		return "tiktok", "not_returned"
	case tiktok.FromTikTok(err):
		switch {
		case tiktok.Unreachable(err):
			return "tiktok", "unreachable"
		case errors.Is(err, tiktok.ErrTimeout):
			return "tiktok", "timeout"
		case errors.Is(err, tiktok.ErrMalformedResponse):
			return "tiktok", "malformed"
		case errors.Is(err, tiktok.ErrPaginationDrift):
			return "tiktok", "pagination_drift"
		}
		var de *tiktok.DecodeError
		if errors.As(err, &de) {
			return "tiktok", "decode"
		}
		return "tiktok", "transport"
	}
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		return "clickhouse", strconv.Itoa(int(ex.Code))
	}
	if load.Unreachable(err) {
		return "clickhouse", "unreachable"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "other", "deadline"
	}
	return "other", "unknown"
}

// Hint says what a person can do about a failure, in one sentence.
func Hint(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "the run was stopped; the next run pulls what it did not finish"
	case tiktok.TokenRejected(err):
		return "TikTok rejected the access token (expired, revoked or wrong): run `adhouse auth` again and update tiktok.access_token"
	case tiktok.AdvertiserRefused(err), errors.Is(err, errNotReturned):
		return "the token is not authorised for this advertiser: remove it from --advertiser or sync.advertisers, or have its owner authorise the app (`adhouse auth`)"
	case errors.Is(err, tiktok.ErrAuth):
		return "TikTok refused the app or its permissions: check tiktok.app_id and the app's scopes in TikTok's developer portal, then `adhouse auth` again"
	case tiktok.Unreachable(err):
		return "TikTok's API could not be reached: check tiktok.base_url and the network (proxy, DNS, firewall)"
	case errors.Is(err, tiktok.ErrRateLimited):
		return "TikTok kept rate-limiting: lower sync.concurrency or tiktok.qps/qpm; the next run retries"
	case errors.Is(err, tiktok.ErrServer), errors.Is(err, tiktok.ErrTimeout), errors.Is(err, tiktok.ErrMalformedResponse):
		return "TikTok failed on its side; the next run retries"
	case errors.Is(err, tiktok.ErrPaginationDrift):
		return "TikTok's report changed while it was paged; the next run pulls it again"
	case tiktok.FromTikTok(err):
		return "the next run retries it"
	case load.Unreachable(err):
		return "the warehouse stopped answering: start it (`adhouse warehouse start`, or check clickhouse.* and the server) and run again"
	}
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		return "ClickHouse refused a statement; the next run retries it (see the warehouse's log if it persists)"
	}
	return "the next run retries it"
}

// fatal errors stop the whole run: no advertiser can succeed after them (a
// rejected token or app, a warehouse that does not answer, a cancelled run).
// A refused advertiser (40001) is not: the others go on.
func fatal(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if errors.Is(err, tiktok.ErrAuth) {
		return !tiktok.AdvertiserRefused(err)
	}
	return warehouseDown(err)
}

// WarehouseDownError is a run stopped because the warehouse stopped
// answering: every later statement would have failed the same way.
type WarehouseDownError struct {
	// Err is the first failure that found the warehouse down.
	Err error
}

// Error is one line: what happened and what to do, without the driver's
// request details.
func (e *WarehouseDownError) Error() string {
	return fmt.Sprintf("the warehouse stopped answering (%s); nothing half-loaded is visible and checkpoints stay where they were: start it (`adhouse warehouse start`, or check clickhouse.*) and run again",
		load.UnreachableReason(e.Err))
}

// Unwrap returns the failure.
func (e *WarehouseDownError) Unwrap() error { return e.Err }

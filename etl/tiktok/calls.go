package tiktok

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// Outcomes of one HTTP request to the API, as counted in [Calls] and shown
// in the outcome label of adhouse_api_calls_total.
const (
	// OutcomeOK is a response with code 0.
	OutcomeOK = "ok"
	// OutcomeRateLimited is an app-level limit answer: 40100, 40016 or HTTP 429.
	OutcomeRateLimited = "rate_limited"
	// OutcomeAdvertiserLimited is 40133, the per-advertiser limit.
	OutcomeAdvertiserLimited = "advertiser_limited"
	// OutcomeServerError is a TikTok-side failure: 50000, 50002, 60001, other
	// 5xxxx codes, or an HTTP 5xx page.
	OutcomeServerError = "server_error"
	// OutcomeTimeout is a request that got no complete answer within the
	// per-attempt timeout.
	OutcomeTimeout = "timeout"
	// OutcomeTransportError is another network failure (connection refused or
	// reset, a body cut off by the network).
	OutcomeTransportError = "transport_error"
	// OutcomeMalformed is an HTTP 200 whose body is not a complete envelope.
	OutcomeMalformed = "malformed"
	// OutcomeAPIError is any other non-zero code or HTTP status: auth,
	// parameter errors, 40067.
	OutcomeAPIError = "api_error"
	// OutcomeCancelled is a request abandoned because the caller's context
	// ended while it was in flight.
	OutcomeCancelled = "cancelled"
)

// Outcomes lists every outcome, in the order summaries show them.
var Outcomes = []string{OutcomeOK, OutcomeRateLimited, OutcomeAdvertiserLimited, OutcomeServerError,
	OutcomeTimeout, OutcomeTransportError, OutcomeMalformed, OutcomeAPIError, OutcomeCancelled}

// outcomeOf names the outcome of one attempt's error (nil is OutcomeOK).
func outcomeOf(ctx context.Context, err error) string {
	if err == nil {
		return OutcomeOK
	}
	if ctx.Err() != nil {
		return OutcomeCancelled
	}
	var apiErr *APIError
	var te *transportError
	switch {
	case errors.As(err, &apiErr):
		switch {
		case apiErr.Code == CodeRateLimited || apiErr.Code == CodeTooFrequent || (apiErr.Code == 0 && apiErr.HTTPStatus == 429):
			return OutcomeRateLimited
		case apiErr.Code == CodeAdvertiserRateLimited:
			return OutcomeAdvertiserLimited
		case errors.Is(apiErr, ErrServer):
			return OutcomeServerError
		}
		return OutcomeAPIError
	case errors.Is(err, ErrMalformedResponse):
		return OutcomeMalformed
	case errors.As(err, &te):
		if te.timeout {
			return OutcomeTimeout
		}
		return OutcomeTransportError
	}
	return OutcomeAPIError
}

// CallKey is one class of requests: the endpoint path relative to the API
// root without slashes ("report/integrated/get", "campaign/get") and the
// outcome (OutcomeOK, OutcomeRateLimited, …).
type CallKey struct {
	Endpoint string
	Outcome  string
}

// Calls counts HTTP requests sent to the API, by endpoint and outcome. The
// zero value is empty and ready to use.
type Calls struct {
	// Counts holds the requests of each endpoint and outcome (nil when none).
	Counts map[CallKey]uint64
	// Retries is how many of them repeated a failed request.
	Retries uint64
}

// Total returns the number of requests.
func (c Calls) Total() uint64 {
	var n uint64
	for _, v := range c.Counts {
		n += v
	}
	return n
}

// Count returns the requests of one endpoint with one outcome.
func (c Calls) Count(endpoint, outcome string) uint64 {
	return c.Counts[CallKey{endpoint, outcome}]
}

// ByEndpoint returns the requests per endpoint, all outcomes together.
func (c Calls) ByEndpoint() map[string]uint64 {
	out := make(map[string]uint64)
	for k, v := range c.Counts {
		out[k.Endpoint] += v
	}
	return out
}

// ByOutcome returns the requests per outcome, all endpoints together.
func (c Calls) ByOutcome() map[string]uint64 {
	out := make(map[string]uint64)
	for k, v := range c.Counts {
		out[k.Outcome] += v
	}
	return out
}

// Add returns the sum of c and o.
func (c Calls) Add(o Calls) Calls {
	out := Calls{Counts: maps.Clone(c.Counts), Retries: c.Retries + o.Retries}
	if out.Counts == nil && len(o.Counts) > 0 {
		out.Counts = make(map[CallKey]uint64, len(o.Counts))
	}
	for k, v := range o.Counts {
		out.Counts[k] += v
	}
	return out
}

// Sub returns c − o, for the requests of one phase; keys that drop to zero
// are removed.
func (c Calls) Sub(o Calls) Calls {
	out := Calls{Counts: maps.Clone(c.Counts), Retries: c.Retries - o.Retries}
	for k, v := range o.Counts {
		if out.Counts[k] -= v; out.Counts[k] == 0 {
			delete(out.Counts, k)
		}
	}
	return out
}

// String summarises the requests for humans: the total, then per endpoint
// and per outcome, largest first ("43 API calls: report/integrated/get 32,
// campaign/get 3, …; ok 37, rate_limited 6").
func (c Calls) String() string {
	total := c.Total()
	if total == 0 {
		return "0 API calls"
	}
	return fmt.Sprintf("%d API calls: %s; %s", total, largestFirst(c.ByEndpoint()), largestFirst(c.ByOutcome()))
}

func largestFirst(m map[string]uint64) string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			if m[a] > m[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// CallCounter accumulates [Calls]; it is safe for concurrent use. A Client
// counts every request it sends in its own counter (Client.Calls) and in
// every counter of the request's context (see CountCalls), so a caller can
// attribute requests to a run, an advertiser or a window without threading
// counts through each API.
type CallCounter struct {
	parent *CallCounter

	mu    sync.Mutex
	calls Calls // every request under this counter
	own   Calls // the requests not also under a nested counter
}

// NewCallCounter returns an empty counter.
func NewCallCounter() *CallCounter { return &CallCounter{} }

// add counts one request here (as one of its own) and in every enclosing
// counter.
func (c *CallCounter) add(k CallKey, retry bool) {
	for x := c; x != nil; x = x.parent {
		x.mu.Lock()
		x.calls.count(k, retry)
		if x == c {
			x.own.count(k, retry)
		}
		x.mu.Unlock()
	}
}

func (c *Calls) count(k CallKey, retry bool) {
	if c.Counts == nil {
		c.Counts = make(map[CallKey]uint64)
	}
	c.Counts[k]++
	if retry {
		c.Retries++
	}
}

// Calls returns a copy of the counts so far.
func (c *CallCounter) Calls() Calls {
	if c == nil {
		return Calls{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return Calls{Counts: maps.Clone(c.calls.Counts), Retries: c.calls.Retries}
}

// Own returns a copy of the counts of requests made under this counter's
// context but not under a counter nested in it: the part of the work that
// no finer counter accounts for.
func (c *CallCounter) Own() Calls {
	if c == nil {
		return Calls{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return Calls{Counts: maps.Clone(c.own.Counts), Retries: c.own.Retries}
}

// Total returns the number of requests counted so far.
func (c *CallCounter) Total() uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls.Total()
}

type callCounterKey struct{}

// CountCalls returns a context whose API requests are counted in a new
// counter, which it also returns. The requests still count in any counter
// ctx already carries, so counters nest: a run's, inside it a window's.
func CountCalls(ctx context.Context) (context.Context, *CallCounter) {
	c := &CallCounter{parent: CallCounterFrom(ctx)}
	return context.WithValue(ctx, callCounterKey{}, c), c
}

// CallCounterFrom returns the innermost counter ctx carries, or nil.
func CallCounterFrom(ctx context.Context) *CallCounter {
	c, _ := ctx.Value(callCounterKey{}).(*CallCounter)
	return c
}

// endpointOf turns a call path into the endpoint name of the counters.
func endpointOf(path string) string { return strings.Trim(path, "/") }

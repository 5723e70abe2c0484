package tiktok

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	// Advertiser timezones must resolve on hosts without a zoneinfo database
	// (distroless images); a wrong zone silently shifts every hour.
	_ "time/tzdata"
)

// Base URLs of the API.
const (
	ProductionBaseURL = "https://business-api.tiktok.com/open_api/v1.3/"
	SandboxBaseURL    = "https://sandbox-ads.tiktok.com/open_api/v1.3/"
)

// AccessTokenHeader is the header that carries the access token. TikTok does
// not use "Authorization: Bearer".
const AccessTokenHeader = "Access-Token"

// Client defaults.
const (
	DefaultMaxRetries  = 8
	DefaultBackoffBase = 500 * time.Millisecond
	DefaultBackoffMax  = 30 * time.Second
	DefaultTimeout     = 60 * time.Second
	DefaultPageSize    = 1000
	MaxPageSize        = 1000
	// maxBodyBytes bounds a response body; a 1000-row page is well under 2 MB.
	maxBodyBytes = 64 << 20
)

// Options configures a Client. The zero value of every field means its default
// (see DefaultOptions), so Options{AccessToken: tok} is a working production
// configuration.
type Options struct {
	// BaseURL is the API root: ProductionBaseURL (default), SandboxBaseURL or a
	// simulator URL. A missing trailing slash is added.
	BaseURL string
	// AppID and Secret identify the developer app; only the OAuth calls use
	// them.
	AppID  string
	Secret string
	// AccessToken is the long-lived advertiser token, sent in the Access-Token
	// header. Empty is allowed for OAuth-only clients.
	AccessToken string
	// TokenSource, if set, supplies the token instead of AccessToken.
	TokenSource oauth2.TokenSource
	// Limiter is the app's shared request budget. Share one Limiter between
	// all Clients of the same app. If nil, New creates a private one from QPS
	// and QPM.
	Limiter *Limiter
	// QPS and QPM size the private limiter (default: Basic tier, 10 and 600).
	QPS int
	QPM int
	// MaxRetries is how many times a retryable failure is retried (default
	// DefaultMaxRetries; negative disables retries).
	MaxRetries int
	// BackoffBase and BackoffMax bound the exponential backoff with jitter
	// between retries.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// Timeout bounds each HTTP attempt (default DefaultTimeout).
	Timeout time.Duration
	// PageSize is the page_size of paged endpoints (default and maximum 1000).
	PageSize int
	// Logger receives retry warnings and per-call debug lines; nil disables
	// logging. Secrets are never logged.
	Logger *zerolog.Logger
	// HTTPClient supplies the base transport (its Transport is wrapped to add
	// the token); nil uses http.DefaultTransport.
	HTTPClient *http.Client
	// UserAgent is sent as User-Agent.
	UserAgent string
}

// UnreachableRetries caps the retries of a request that could not connect
// (connection refused, unknown host), whatever Options.MaxRetries says.
const UnreachableRetries = 2

// DefaultOptions returns Options with every default filled in and no
// credentials.
func DefaultOptions() Options {
	return Options{
		BaseURL:     ProductionBaseURL,
		QPS:         TierBasic.QPS,
		QPM:         TierBasic.QPM,
		MaxRetries:  DefaultMaxRetries,
		BackoffBase: DefaultBackoffBase,
		BackoffMax:  DefaultBackoffMax,
		Timeout:     DefaultTimeout,
		PageSize:    DefaultPageSize,
		UserAgent:   "adhouse-tiktok/1",
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.BaseURL == "" {
		o.BaseURL = d.BaseURL
	}
	if o.QPS == 0 && o.QPM == 0 {
		o.QPS, o.QPM = d.QPS, d.QPM
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = d.MaxRetries
	} else if o.MaxRetries < 0 {
		o.MaxRetries = 0
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = d.BackoffBase
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = d.BackoffMax
	}
	if o.BackoffMax < o.BackoffBase {
		o.BackoffMax = o.BackoffBase
	}
	if o.Timeout <= 0 {
		o.Timeout = d.Timeout
	}
	if o.PageSize <= 0 || o.PageSize > MaxPageSize {
		o.PageSize = d.PageSize
	}
	if o.UserAgent == "" {
		o.UserAgent = d.UserAgent
	}
	return o
}

// Client calls the TikTok Marketing API. It is safe for concurrent use by
// many goroutines and advertisers.
type Client struct {
	opts    Options
	base    string // normalised base URL with trailing slash
	http    *http.Client
	limiter *Limiter
	log     zerolog.Logger
	secrets []string // redacted from every error and log line
	stats   clientStats
	calls   CallCounter // every request sent, by endpoint and outcome

	locMu sync.Mutex
	locs  map[string]*time.Location // advertiser timezone cache
}

// New returns a Client for opts.
func New(opts Options) (*Client, error) {
	opts = opts.withDefaults()
	u, err := url.Parse(opts.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("tiktok: invalid base URL %q", opts.BaseURL)
	}
	base := strings.TrimRight(opts.BaseURL, "/") + "/"

	var baseRT http.RoundTripper = http.DefaultTransport
	if opts.HTTPClient != nil && opts.HTTPClient.Transport != nil {
		baseRT = opts.HTTPClient.Transport
	}
	src := opts.TokenSource
	if src == nil && opts.AccessToken != "" {
		src = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: opts.AccessToken, TokenType: AccessTokenHeader})
	}
	c := &Client{
		opts: opts,
		base: base,
		http: &http.Client{
			Transport: &tokenTransport{src: src, base: baseRT, userAgent: opts.UserAgent},
			// Redirects would replay the token to another host; TikTok does
			// not redirect API calls.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		limiter: opts.Limiter,
		log:     zerolog.Nop(),
		locs:    make(map[string]*time.Location),
	}
	if c.limiter == nil {
		c.limiter = NewLimiter(LimiterConfig{QPS: opts.QPS, QPM: opts.QPM, Logger: opts.Logger})
	}
	if opts.Logger != nil {
		c.log = opts.Logger.With().Str("component", "tiktok").Logger()
	}
	for _, s := range []string{opts.AccessToken, opts.Secret} {
		if s != "" {
			c.secrets = append(c.secrets, s)
		}
	}
	return c, nil
}

// Limiter returns the limiter the client uses.
func (c *Client) Limiter() *Limiter { return c.limiter }

// BaseURL returns the normalised base URL.
func (c *Client) BaseURL() string { return c.base }

// errTokenSource is a token source failure: the request was never sent.
var errTokenSource = errors.New("tiktok: access token source failed")

// tokenTransport adds the Access-Token header from an oauth2.TokenSource.
// golang.org/x/oauth2's own Transport sends "Authorization: Bearer", which
// TikTok ignores, hence this small RoundTripper.
type tokenTransport struct {
	src       oauth2.TokenSource
	base      http.RoundTripper
	userAgent string
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// A RoundTripper must not modify the caller's request.
	r := req.Clone(req.Context())
	if t.src != nil {
		tok, err := t.src.Token()
		if err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			// oauth2 errors can quote the token endpoint's body; keep only the
			// fact that it failed.
			return nil, errTokenSource
		}
		if tok.AccessToken != "" {
			r.Header.Set(AccessTokenHeader, tok.AccessToken)
		}
	}
	if t.userAgent != "" && r.Header.Get("User-Agent") == "" {
		r.Header.Set("User-Agent", t.userAgent)
	}
	return t.base.RoundTrip(r)
}

// Stats counts the API traffic of a Client (or of one call, see CallStats).
type Stats struct {
	Calls             uint64 // HTTP attempts sent, including retries
	Retries           uint64 // attempts that were retries of a failed attempt
	RateLimited       uint64 // 40100/40016 responses
	AdvertiserLimited uint64 // 40133 responses
	ServerErrors      uint64 // 50000/50002/60001 and HTTP 5xx responses
	Timeouts          uint64 // attempts that timed out
	TransportErrors   uint64 // other network failures
	Malformed         uint64 // truncated or malformed bodies
	Failures          uint64 // calls that returned an error to the caller
}

// Add returns the field-wise sum of s and o.
func (s Stats) Add(o Stats) Stats {
	return Stats{
		Calls:             s.Calls + o.Calls,
		Retries:           s.Retries + o.Retries,
		RateLimited:       s.RateLimited + o.RateLimited,
		AdvertiserLimited: s.AdvertiserLimited + o.AdvertiserLimited,
		ServerErrors:      s.ServerErrors + o.ServerErrors,
		Timeouts:          s.Timeouts + o.Timeouts,
		TransportErrors:   s.TransportErrors + o.TransportErrors,
		Malformed:         s.Malformed + o.Malformed,
		Failures:          s.Failures + o.Failures,
	}
}

// Sub returns s − o field-wise, for measuring one phase of work.
func (s Stats) Sub(o Stats) Stats {
	return Stats{
		Calls:             s.Calls - o.Calls,
		Retries:           s.Retries - o.Retries,
		RateLimited:       s.RateLimited - o.RateLimited,
		AdvertiserLimited: s.AdvertiserLimited - o.AdvertiserLimited,
		ServerErrors:      s.ServerErrors - o.ServerErrors,
		Timeouts:          s.Timeouts - o.Timeouts,
		TransportErrors:   s.TransportErrors - o.TransportErrors,
		Malformed:         s.Malformed - o.Malformed,
		Failures:          s.Failures - o.Failures,
	}
}

// MarshalZerologObject logs the counters as fields.
func (s Stats) MarshalZerologObject(e *zerolog.Event) {
	e.Uint64("calls", s.Calls).Uint64("retries", s.Retries).
		Uint64("rate_limited", s.RateLimited).Uint64("advertiser_limited", s.AdvertiserLimited).
		Uint64("server_errors", s.ServerErrors).Uint64("timeouts", s.Timeouts).
		Uint64("transport_errors", s.TransportErrors).Uint64("malformed", s.Malformed).
		Uint64("failures", s.Failures)
}

type clientStats struct {
	calls, retries, rateLimited, advLimited, server, timeouts, transport, malformed, failures atomic.Uint64
}

func (s *clientStats) snapshot() Stats {
	return Stats{
		Calls: s.calls.Load(), Retries: s.retries.Load(), RateLimited: s.rateLimited.Load(),
		AdvertiserLimited: s.advLimited.Load(), ServerErrors: s.server.Load(), Timeouts: s.timeouts.Load(),
		TransportErrors: s.transport.Load(), Malformed: s.malformed.Load(), Failures: s.failures.Load(),
	}
}

// Stats returns the client's cumulative counters.
func (c *Client) Stats() Stats { return c.stats.snapshot() }

// Calls returns every request the client has sent, by endpoint and outcome.
// To count the requests of one piece of work, see CountCalls.
func (c *Client) Calls() Calls { return c.calls.Calls() }

// call is one logical API call (retried as a whole).
type call struct {
	method       string
	path         string // relative to the base, e.g. "report/integrated/get"
	advertiserID string // for the per-advertiser limit and logs; may be ""
	query        url.Values
	body         any      // JSON body for POST
	secrets      []string // extra values to redact (auth code, secret argument)
}

// envelope is TikTok's response wrapper.
type envelope struct {
	Code      *int            `json:"code"`
	Message   string          `json:"message"`
	RequestID string          `json:"request_id"`
	Data      json.RawMessage `json:"data"`
	// tape is the body's, of which Data is a slice; nil if not validated.
	tape *tape
}

// decodeEnvelope reads TikTok's wrapper as json.Unmarshal into an envelope
// would, for a fraction of the work: the body is validated once and its
// top-level members walked, so a report page's data (megabytes) is neither
// decoded into a RawMessage nor copied.
func decodeEnvelope(body []byte) (envelope, error) {
	var env envelope
	t, ok := validJSONTape(body)
	if !ok {
		return env, json.Unmarshal(body, &env) // its error says where
	}
	members, err := walkObject(body, nil, t)
	if err != nil {
		return envelope{}, json.Unmarshal(body, &env) // a valid body that is not an object
	}
	for _, m := range members {
		null := string(m.val) == "null"
		switch {
		case strings.EqualFold(m.key, "code"):
			if null {
				env.Code = nil
				continue
			}
			var code int
			if err := json.Unmarshal(m.val, &code); err != nil {
				return envelope{}, err
			}
			env.Code = &code
		case strings.EqualFold(m.key, "message"):
			if !null {
				if err := json.Unmarshal(m.val, &env.Message); err != nil {
					return envelope{}, err
				}
			}
		case strings.EqualFold(m.key, "request_id"):
			if !null {
				if err := json.Unmarshal(m.val, &env.RequestID); err != nil {
					return envelope{}, err
				}
			}
		case strings.EqualFold(m.key, "data"):
			env.Data = m.val
		}
	}
	env.tape = t
	return env, nil
}

// result is a successful call's data.
type result struct {
	data      json.RawMessage
	tape      *tape         // of the body data is a slice of
	body      *bytes.Buffer // holding data, until release
	requestID string
	header    http.Header // the successful response's headers (X-Tt-Ads-Throttle)
	stats     Stats       // this call's traffic
}

// do runs a call with rate limiting, retries and error classification, and
// returns the envelope's data on code 0. Every request it sends is counted
// by endpoint and outcome in the client's counter and in the counters of
// ctx (CountCalls).
func (c *Client) do(ctx context.Context, cl call) (result, error) {
	var st Stats
	secrets := append(append([]string(nil), c.secrets...), cl.secrets...)
	log := c.log.With().Str("path", cl.path).Str("advertiser_id", cl.advertiserID).Logger()
	endpoint := endpointOf(cl.path)
	counter := CallCounterFrom(ctx)
	var lastErr error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			st.Retries++
			c.stats.retries.Add(1)
		}
		sentAt, err := c.limiter.wait(ctx, cl.advertiserID)
		if err != nil {
			return c.fail(cl, st, lastErr, err, secrets)
		}
		res, sent, err := c.attempt(ctx, cl, secrets)
		if sent {
			st.Calls++
			c.stats.calls.Add(1)
			c.count(counter, CallKey{Endpoint: endpoint, Outcome: outcomeOf(ctx, err)}, attempt > 0)
		}
		if err == nil {
			c.limiter.ok(cl.advertiserID, sentAt)
			res.stats = st
			log.Debug().Int("attempt", attempt).Str("took", time.Since(sentAt).Round(time.Microsecond).String()).Str("request_id", res.requestID).Msg("tiktok call")
			return res, nil
		}
		if ctx.Err() != nil {
			return c.fail(cl, st, err, ctx.Err(), secrets)
		}
		retry, pauseApp, pauseAdv := c.classify(err, &st)
		limit := c.opts.MaxRetries
		if Unreachable(err) {
			// A refused connection or an unknown host is a wrong base_url or
			// a network outage: a couple of quick retries ride out a blip,
			// minutes of them only delay the hint.
			limit = min(limit, UnreachableRetries)
		}
		if !retry || attempt >= limit {
			return c.fail(cl, st, nil, err, secrets)
		}
		// The real wait before the next attempt: a rate-limit answer holds
		// the app (or the advertiser) in the limiter, which the next wait
		// honours; other failures back off exponentially.
		now := time.Now()
		var resume time.Time
		switch {
		case pauseApp:
			resume = c.limiter.appLimited(sentAt)
		case pauseAdv:
			resume = c.limiter.advertiserLimited(cl.advertiserID)
		}
		sleep := time.Duration(0)
		if resume.IsZero() {
			sleep = c.backoff(attempt)
			resume = now.Add(sleep)
		}
		ev := log.Warn().Int("attempt", attempt+1).Int("max_retries", c.opts.MaxRetries).
			Str("wait", resume.Sub(now).Round(time.Millisecond).String())
		if pauseApp || pauseAdv {
			ev = ev.Str("resume_at", resume.UTC().Format(time.RFC3339))
		}
		var apiErr *APIError
		if errors.As(err, &apiErr) {
			ev = ev.Int("code", apiErr.Code).Str("request_id", apiErr.RequestID).Int("http_status", apiErr.HTTPStatus)
		}
		ev.Str("error", redact(err.Error(), secrets)).Msg("tiktok call failed, retrying")
		lastErr = err
		if err := sleepUntil(ctx, now.Add(sleep)); err != nil {
			return c.fail(cl, st, lastErr, err, secrets)
		}
	}
}

// classify counts an attempt's failure and says whether to retry it and
// whether to pause the app or the advertiser.
func (c *Client) classify(err error, st *Stats) (retry, pauseApp, pauseAdv bool) {
	var apiErr *APIError
	var te *transportError
	switch {
	case errors.As(err, &apiErr):
		switch {
		case apiErr.Code == CodeRateLimited || apiErr.Code == CodeTooFrequent || (apiErr.Code == 0 && apiErr.HTTPStatus == http.StatusTooManyRequests):
			st.RateLimited++
			c.stats.rateLimited.Add(1)
			return true, true, false
		case apiErr.Code == CodeAdvertiserRateLimited:
			st.AdvertiserLimited++
			c.stats.advLimited.Add(1)
			return true, false, true
		}
		if apiErr.Retryable() {
			if errors.Is(apiErr, ErrServer) {
				st.ServerErrors++
				c.stats.server.Add(1)
			}
			return true, false, false
		}
		return false, false, false
	case errors.Is(err, ErrMalformedResponse):
		st.Malformed++
		c.stats.malformed.Add(1)
		return true, false, false
	case errors.As(err, &te):
		if te.timeout {
			st.Timeouts++
			c.stats.timeouts.Add(1)
		} else {
			st.TransportErrors++
			c.stats.transport.Add(1)
		}
		return true, false, false
	}
	return false, false, false
}

// fail builds the error returned to the caller: the last meaningful error,
// wrapped with the call's path and advertiser, with secrets removed.
func (c *Client) fail(cl call, st Stats, last, err error, secrets []string) (result, error) {
	c.stats.failures.Add(1)
	st.Failures++
	if last != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		err = fmt.Errorf("%w (last failure: %w)", err, last)
	}
	var wrapped error
	if cl.advertiserID != "" {
		wrapped = fmt.Errorf("tiktok: %s %s for advertiser %s after %d attempt(s): %w", cl.method, cl.path, cl.advertiserID, st.Calls, err)
	} else {
		wrapped = fmt.Errorf("tiktok: %s %s after %d attempt(s): %w", cl.method, cl.path, st.Calls, err)
	}
	c.log.Debug().Str("path", cl.path).Str("advertiser_id", cl.advertiserID).Str("error", redact(wrapped.Error(), secrets)).Msg("tiktok call failed")
	return result{stats: st}, &redactedError{err: wrapped, secrets: secrets}
}

// attempt sends one HTTP request and interprets the response. sent is false
// when no request left the client (a body that does not encode, a failing
// token source), so that counters match what the server saw.
func (c *Client) attempt(ctx context.Context, cl call, secrets []string) (_ result, sent bool, _ error) {
	res, err := c.exchange(ctx, cl, secrets)
	return res, !errors.Is(err, errNotSent) && !errors.Is(err, errTokenSource), err
}

// errNotSent marks a request that could not be built.
var errNotSent = errors.New("request not sent")

// exchange builds and sends one request and reads its answer.
func (c *Client) exchange(ctx context.Context, cl call, secrets []string) (result, error) {
	actx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()

	u := c.base + strings.Trim(cl.path, "/") + "/"
	var body io.Reader
	if cl.body != nil {
		b, err := json.Marshal(cl.body)
		if err != nil {
			return result{}, fmt.Errorf("tiktok: encode request body: %w (%w)", err, errNotSent)
		}
		body = bytes.NewReader(b)
	}
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	req, err := http.NewRequestWithContext(actx, cl.method, u, body)
	if err != nil {
		// The URL may carry the secret; report only the path.
		return result{}, fmt.Errorf("tiktok: build request for %s: invalid URL (%w)", cl.path, errNotSent)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return result{}, transportErr(ctx, actx, err)
	}
	defer resp.Body.Close()
	buf, err := readBody(resp.Body)
	if err != nil {
		return result{}, transportErr(ctx, actx, err)
	}
	raw := buf.Bytes()
	if len(raw) > maxBodyBytes {
		return result{}, &malformedError{status: resp.StatusCode, err: fmt.Errorf("body larger than %d bytes", maxBodyBytes)}
	}
	env, decErr := decodeEnvelope(raw)
	if resp.StatusCode != http.StatusOK {
		apiErr := &APIError{HTTPStatus: resp.StatusCode, RequestID: resp.Header.Get("X-Tt-Logid")}
		if decErr == nil && env.Code != nil {
			apiErr.Code, apiErr.Message, apiErr.RequestID = *env.Code, redact(env.Message, secrets), env.RequestID
		}
		return result{}, apiErr
	}
	if decErr != nil {
		return result{}, &malformedError{status: resp.StatusCode, err: decErr}
	}
	if env.Code == nil {
		return result{}, &malformedError{status: resp.StatusCode, err: errors.New(`no "code" in response`)}
	}
	if *env.Code != CodeOK {
		return result{}, &APIError{Code: *env.Code, Message: redact(env.Message, secrets), RequestID: env.RequestID, HTTPStatus: resp.StatusCode}
	}
	return result{data: env.Data, tape: env.tape, body: buf, requestID: env.RequestID, header: resp.Header}, nil
}

// bodies recycles response buffers. A report page is about a megabyte, and
// reading each into a fresh buffer grown by doubling spent a tenth of a
// backfill's CPU zeroing and copying memory.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody keeps an outsized answer's buffer out of the pool.
const maxPooledBody = 8 << 20

// readBody reads at most maxBodyBytes+1 bytes of r into a recycled buffer.
func readBody(r io.Reader) (*bytes.Buffer, error) {
	buf := bodies.Get().(*bytes.Buffer)
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(r, maxBodyBytes+1)); err != nil {
		return nil, err
	}
	return buf, nil
}

// release hands the body back for reuse. Only a caller that has copied
// everything it keeps out of data may call it; data is unusable after.
func (r *result) release() {
	if r.body != nil && r.body.Cap() <= maxPooledBody {
		bodies.Put(r.body)
	}
	r.body, r.data, r.tape = nil, nil, nil
}

// transportErr converts a network error into a transportError without the
// request URL, which *url.Error would quote (and which may hold the secret).
func transportErr(parent, attempt context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if parent.Err() != nil {
		return parent.Err()
	}
	timeout := errors.Is(attempt.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		timeout = true
	}
	if timeout {
		return &transportError{err: fmt.Errorf("request timed out: %w", ErrTimeout), timeout: true}
	}
	return &transportError{err: fmt.Errorf("transport: %w", err)}
}

// backoff returns the wait before retry number attempt+1: exponential from
// BackoffBase, capped at BackoffMax, with "equal jitter" (half fixed, half
// random) so that parallel workers do not retry in lockstep.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.opts.BackoffBase
	for i := 0; i < attempt && d < c.opts.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, c.opts.BackoffMax)
	half := d / 2
	return half + rand.N(half+1)
}

// redactedError hides secrets in the message while keeping errors.Is/As
// working on the wrapped chain.
type redactedError struct {
	err     error
	secrets []string
}

func (e *redactedError) Error() string { return redact(e.err.Error(), e.secrets) }
func (e *redactedError) Unwrap() error { return e.err }

// redact replaces every secret in s.
func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "[REDACTED]")
			if esc := url.QueryEscape(sec); esc != sec {
				s = strings.ReplaceAll(s, esc, "[REDACTED]")
			}
		}
	}
	return s
}

// jsonArray encodes a list as the JSON-array string TikTok expects in query
// parameters such as dimensions, metrics and advertiser_ids.
func jsonArray(items []string) string {
	b, _ := json.Marshal(items)
	return string(b)
}

// count records one request sent: in the client's own counter and in the
// innermost counter of its context (which passes it to those around it).
func (c *Client) count(counter *CallCounter, k CallKey, retry bool) {
	c.calls.add(k, retry)
	if counter != nil {
		counter.add(k, retry)
	}
}

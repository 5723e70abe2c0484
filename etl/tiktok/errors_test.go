package tiktok_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shopspring/decimal"

	"github.com/adhouse/adhouse/etl/logtest"
	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim/simtest"
)

const okAdvertiserBody = `{"code":0,"message":"OK","request_id":"req-ok","data":{"list":[{"advertiser_id":"42","name":"a","currency":"USD","timezone":"UTC"}]}}`

// failure writes one kind of failed response.
type failure func(w http.ResponseWriter, r *http.Request)

func codeFailure(code int) failure {
	return func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"code":%d,"message":"tiktok says %d","request_id":"req-%d","data":{}}`, code, code, code)
	}
}

func httpFailure(status int) failure {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<html><body>%d</body></html>", status)
	}
}

func bodyFailure(body string) failure {
	return func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, body) }
}

func hang(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

func TestRetryableErrorsAreRetried(t *testing.T) {
	tests := []struct {
		name    string
		fail    failure
		counter func(tiktok.Stats) uint64
	}{
		{"40100 app rate limit", codeFailure(40100), func(s tiktok.Stats) uint64 { return s.RateLimited }},
		{"40016 too frequent", codeFailure(40016), func(s tiktok.Stats) uint64 { return s.RateLimited }},
		{"40133 advertiser limit", codeFailure(40133), func(s tiktok.Stats) uint64 { return s.AdvertiserLimited }},
		{"50000 system error", codeFailure(50000), func(s tiktok.Stats) uint64 { return s.ServerErrors }},
		{"50002 processing error", codeFailure(50002), func(s tiktok.Stats) uint64 { return s.ServerErrors }},
		{"60001 maintenance", codeFailure(60001), func(s tiktok.Stats) uint64 { return s.ServerErrors }},
		{"HTTP 500", httpFailure(500), func(s tiktok.Stats) uint64 { return s.ServerErrors }},
		{"HTTP 502", httpFailure(502), func(s tiktok.Stats) uint64 { return s.ServerErrors }},
		{"HTTP 503", httpFailure(503), func(s tiktok.Stats) uint64 { return s.ServerErrors }},
		{"HTTP 504", httpFailure(504), func(s tiktok.Stats) uint64 { return s.ServerErrors }},
		{"HTTP 429", httpFailure(429), func(s tiktok.Stats) uint64 { return s.Retries }},
		{"truncated JSON", bodyFailure(`{"code":0,"message":"OK","data":{"list":[{"advert`), func(s tiktok.Stats) uint64 { return s.Malformed }},
		{"HTML with 200", bodyFailure(`<html><body>upstream error</body></html>`), func(s tiktok.Stats) uint64 { return s.Malformed }},
		{"empty body", bodyFailure(``), func(s tiktok.Stats) uint64 { return s.Malformed }},
		{"envelope without code", bodyFailure(`{"message":"OK"}`), func(s tiktok.Stats) uint64 { return s.Malformed }},
		{"timeout", hang, func(s tiktok.Stats) uint64 { return s.Timeouts }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if n < 2 {
					tc.fail(w, r)
					return
				}
				fmt.Fprint(w, okAdvertiserBody)
			})
			opts := testOptions(srv.url(), "tok-123456")
			opts.Timeout = 150 * time.Millisecond
			c := newClient(t, opts)
			advs, err := c.AdvertiserInfo(context.Background(), []string{"42"})
			if err != nil {
				t.Fatalf("call failed after retries: %v", err)
			}
			if len(advs) != 1 || advs[0].ID != "42" {
				t.Fatalf("advertisers = %+v", advs)
			}
			st := c.Stats()
			if st.Calls != 3 || st.Retries != 2 || st.Failures != 0 || tc.counter(st) == 0 {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}

func TestFailFastErrors(t *testing.T) {
	tests := []struct {
		name   string
		fail   failure
		class  error
		code   int
		status int
	}{
		{"40001 no permission", codeFailure(40001), tiktok.ErrAuth, 40001, 200},
		{"40102 token expired", codeFailure(40102), tiktok.ErrAuth, 40102, 200},
		{"40104 token empty", codeFailure(40104), tiktok.ErrAuth, 40104, 200},
		{"40105 token invalid", codeFailure(40105), tiktok.ErrAuth, 40105, 200},
		{"40106 invalid core user", codeFailure(40106), tiktok.ErrAuth, 40106, 200},
		{"40113 app mismatch", codeFailure(40113), tiktok.ErrAuth, 40113, 200},
		{"40000 invalid params", codeFailure(40000), tiktok.ErrInvalidRequest, 40000, 200},
		{"40002 parameter error", codeFailure(40002), tiktok.ErrInvalidRequest, 40002, 200},
		{"40011 too many ids", codeFailure(40011), tiktok.ErrInvalidRequest, 40011, 200},
		{"40300 advertiser does not exist", codeFailure(40300), tiktok.ErrInvalidRequest, 40300, 200},
		{"40067 query too large", codeFailure(40067), tiktok.ErrQueryTooLarge, 40067, 200},
		{"HTTP 404 (no trailing slash)", httpFailure(404), tiktok.ErrInvalidRequest, 0, 404},
		{"HTTP 401", httpFailure(401), tiktok.ErrAuth, 0, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newScripted(t, func(_ int, w http.ResponseWriter, r *http.Request) { tc.fail(w, r) })
			c := newClient(t, testOptions(srv.url(), "tok-123456"))
			_, err := c.AdvertiserInfo(context.Background(), []string{"42"})
			if !errors.Is(err, tc.class) {
				t.Fatalf("err = %v, want class %v", err, tc.class)
			}
			var apiErr *tiktok.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err %v is not an *APIError", err)
			}
			if apiErr.Code != tc.code || apiErr.HTTPStatus != tc.status || apiErr.Retryable() {
				t.Errorf("APIError = %+v", apiErr)
			}
			if tc.code != 0 {
				want := fmt.Sprintf("tiktok says %d", tc.code)
				if apiErr.Message != want || apiErr.RequestID != fmt.Sprintf("req-%d", tc.code) ||
					!strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), apiErr.RequestID) {
					t.Errorf("message/request_id not carried: %v", err)
				}
			}
			if n := srv.count(); n != 1 {
				t.Errorf("%d requests, want 1 (fail fast)", n)
			}
		})
	}
}

func TestRetriesExhausted(t *testing.T) {
	srv := newScripted(t, func(_ int, w http.ResponseWriter, r *http.Request) { codeFailure(50000)(w, r) })
	opts := testOptions(srv.url(), "tok-123456")
	opts.MaxRetries = 2
	c := newClient(t, opts)
	_, err := c.AdvertiserInfo(context.Background(), []string{"42"})
	var apiErr *tiktok.APIError
	if !errors.Is(err, tiktok.ErrServer) || !errors.As(err, &apiErr) || apiErr.Code != 50000 {
		t.Fatalf("err = %v", err)
	}
	if st := c.Stats(); st.Calls != 3 || st.Retries != 2 || st.Failures != 1 || srv.count() != 3 {
		t.Errorf("stats = %+v, server saw %d", st, srv.count())
	}
}

func TestRequestShape(t *testing.T) {
	srv := newScripted(t, func(_ int, w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, okAdvertiserBody) })
	c := newClient(t, testOptions(strings.TrimSuffix(srv.url(), "/"), "tok-abcdef"))
	if _, err := c.AdvertiserInfo(context.Background(), []string{"42", "43"}); err != nil {
		t.Fatal(err)
	}
	r := srv.reqs[0]
	if r.Method != http.MethodGet || r.URL.Path != "/open_api/v1.3/advertiser/info/" {
		t.Errorf("request %s %s", r.Method, r.URL.Path)
	}
	if r.Header.Get("Access-Token") != "tok-abcdef" || r.Header.Get("Authorization") != "" {
		t.Errorf("headers %v", r.Header)
	}
	if got := r.URL.Query().Get("advertiser_ids"); got != `["42","43"]` {
		t.Errorf("advertiser_ids = %s", got)
	}
}

func TestContextCancelStopsRetries(t *testing.T) {
	synctest.Test(t, testContextCancelStopsRetries)
}

func testContextCancelStopsRetries(t *testing.T) {
	srv := newScripted(t, func(_ int, w http.ResponseWriter, r *http.Request) { codeFailure(40100)(w, r) })
	opts := inProcessOptions(srv, "tok-123456")
	opts.Limiter = tiktok.NewLimiter(tiktok.LimiterConfig{QPS: -1, QPM: -1, AppPause: time.Hour})
	c := newClient(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.AdvertiserInfo(ctx, []string{"42"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if !errors.Is(err, tiktok.ErrRateLimited) {
		t.Errorf("the last failure (40100) is not kept in %v", err)
	}
	// Virtual time: the limiter sees that the hour's pause outlasts the
	// context and gives up at once instead of sleeping until the deadline.
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("returned %s after it started, later than the context's 200ms", d)
	}
	if srv.count() != 1 {
		t.Errorf("%d requests during an app pause", srv.count())
	}
}

func TestOAuthAgainstSimulator(t *testing.T) {
	srv := simtest.Start(t, tiktoksim.Config{})
	cfg := srv.Config()
	ctx := context.Background()
	anon := newClient(t, testOptions(srv.BaseURL(), ""))

	// Without a token the data endpoints answer 40104.
	if _, err := anon.AdvertiserInfo(ctx, srv.AdvertiserIDs()); !errors.Is(err, tiktok.ErrAuth) {
		t.Fatalf("no token: err = %v", err)
	}
	var apiErr *tiktok.APIError
	if _, err := anon.AdvertiserInfo(ctx, srv.AdvertiserIDs()); !errors.As(err, &apiErr) || apiErr.Code != 40104 {
		t.Fatalf("no token: %v", err)
	}

	tok, err := anon.ExchangeAuthCode(ctx, cfg.AppID, cfg.Secret, cfg.AuthCode)
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != srv.AccessToken() || len(tok.AdvertiserIDs) != len(srv.AdvertiserIDs()) || len(tok.Scope) == 0 {
		t.Fatalf("token = %+v", tok)
	}
	if s := fmt.Sprint(tok) + fmt.Sprintf("%+v %#v", tok, tok); strings.Contains(s, tok.AccessToken) {
		t.Errorf("formatting an AuthToken leaks it: %s", s)
	}

	authed := newClient(t, tiktok.Options{BaseURL: srv.BaseURL(), TokenSource: staticSource(tok), Limiter: fastLimiter()})
	advs, err := authed.AuthorizedAdvertisers(ctx, cfg.AppID, cfg.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if len(advs) != len(srv.AdvertiserIDs()) || advs[0].ID != srv.AdvertiserIDs()[0] || advs[0].Name == "" {
		t.Errorf("authorized advertisers = %+v", advs)
	}

	tests := []struct {
		name                string
		appID, secret, code string
		wantCode            int
		mustNotContain      []string
	}{
		{"wrong code", cfg.AppID, cfg.Secret, "stale-code-9999", 40110, []string{cfg.Secret, "stale-code-9999"}},
		{"wrong secret", cfg.AppID, "not-the-secret-777", cfg.AuthCode, 40001, []string{"not-the-secret-777", cfg.AuthCode}},
		{"wrong app", "999", cfg.Secret, cfg.AuthCode, 40113, []string{cfg.Secret, cfg.AuthCode}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := anon.ExchangeAuthCode(ctx, tc.appID, tc.secret, tc.code)
			var apiErr *tiktok.APIError
			if !errors.Is(err, tiktok.ErrAuth) || !errors.As(err, &apiErr) || apiErr.Code != tc.wantCode || apiErr.RequestID == "" {
				t.Fatalf("err = %v", err)
			}
			for _, s := range tc.mustNotContain {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q contains a secret", err)
				}
			}
		})
	}
}

// TestSecretsNeverLogged makes calls fail in every way a secret could leak
// (an API error, a server echoing the token, a transport error quoting the
// URL with the secret) and checks errors and debug logs.
func TestSecretsNeverLogged(t *testing.T) {
	const token = "tok-SECRET-5f2a9c1e"
	const secret = "app-SECRET-77d3b2"
	const code = "code-SECRET-0e41"
	logs := &logtest.Buffer{}
	ctx := context.Background()
	var errs []error

	// 1. The simulator rejects the token (40105); oauth calls with the secret.
	sim := simtest.Start(t, tiktoksim.Config{})
	opts := testOptions(sim.BaseURL(), token)
	opts.Secret = secret
	opts.Logger = debugLogger(logs)
	c := newClient(t, opts)
	_, err := c.AdvertiserInfo(ctx, sim.AdvertiserIDs())
	errs = append(errs, err)
	_, err = c.AuthorizedAdvertisers(ctx, sim.Config().AppID, secret)
	errs = append(errs, err)
	_, err = c.ExchangeAuthCode(ctx, sim.Config().AppID, secret, code)
	errs = append(errs, err)

	// 2. A server that echoes the secrets back in its message, then fails.
	echo := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		msg := "token " + r.Header.Get("Access-Token") + " and secret " + r.URL.Query().Get("secret") + " rejected"
		code := 50000
		if n > 0 {
			code = 40105
		}
		fmt.Fprintf(w, `{"code":%d,"message":%q,"request_id":"r"}`, code, msg)
	})
	opts = testOptions(echo.url(), token)
	opts.Logger = debugLogger(logs)
	c = newClient(t, opts)
	_, err = c.AuthorizedAdvertisers(ctx, "1", secret)
	errs = append(errs, err)
	var apiErr *tiktok.APIError
	if !errors.As(err, &apiErr) || strings.Contains(apiErr.Message, secret) || strings.Contains(apiErr.Message, token) {
		t.Errorf("APIError.Message leaks: %+v", apiErr)
	}

	// 3. A dead server: the transport error would quote the URL with the secret.
	dead := newScripted(t, func(int, http.ResponseWriter, *http.Request) {})
	deadURL := dead.url()
	dead.srv.Close()
	opts = testOptions(deadURL, token)
	opts.Logger = debugLogger(logs)
	opts.MaxRetries = 1
	c = newClient(t, opts)
	_, err = c.AuthorizedAdvertisers(ctx, "1", secret)
	errs = append(errs, err)

	for i, err := range errs {
		if err == nil {
			t.Fatalf("call %d succeeded; the test needs failures", i)
		}
		for _, s := range []string{token, secret, code} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error %d leaks %q: %v", i, s, err)
			}
		}
	}
	out := logs.String()
	if !strings.Contains(out, "tiktok call failed") || !strings.Contains(out, "retrying") {
		t.Fatalf("expected failure and retry log lines, got:\n%s", out)
	}
	for _, s := range []string{token, secret, code} {
		if strings.Contains(out, s) {
			t.Errorf("logs leak %q:\n%s", s, out)
		}
	}
}

// TestSimulatorFaultClasses drives every injectable fault at a rate of 1 so
// that retries run out, and checks the class of the error the caller gets.
func TestSimulatorFaultClasses(t *testing.T) {
	tests := []struct {
		name   string
		faults tiktoksim.Faults
		class  error
	}{
		{"40100", tiktoksim.Faults{RateLimitRate: 1}, tiktok.ErrRateLimited},
		{"40016", tiktoksim.Faults{TooFrequentRate: 1}, tiktok.ErrRateLimited},
		{"40133", tiktoksim.Faults{AdvertiserLimitRate: 1}, tiktok.ErrRateLimited},
		{"50000/50002", tiktoksim.Faults{SystemErrorRate: 1}, tiktok.ErrServer},
		{"60001", tiktoksim.Faults{MaintenanceRate: 1}, tiktok.ErrServer},
		{"HTTP 5xx", tiktoksim.Faults{HTTPErrorRate: 1}, tiktok.ErrServer},
		{"timeout", tiktoksim.Faults{TimeoutRate: 1}, tiktok.ErrTimeout},
		{"truncated", tiktoksim.Faults{TruncateRate: 1}, tiktok.ErrMalformedResponse},
		{"malformed", tiktoksim.Faults{MalformedRate: 1}, tiktok.ErrMalformedResponse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, c := simClient(t, tiktoksim.Config{Faults: tc.faults}, func(o *tiktok.Options) {
				o.MaxRetries = 2
				o.Timeout = 100 * time.Millisecond
			})
			_, err := c.Campaigns(context.Background(), srv.AdvertiserIDs()[0])
			if !errors.Is(err, tc.class) {
				t.Fatalf("err = %v, want %v", err, tc.class)
			}
			if st := c.Stats(); st.Calls != 3 || st.Retries != 2 || st.Failures != 1 {
				t.Errorf("stats %+v", st)
			}
			if got := srv.Stats().Faults.Total(); got != 3 {
				t.Errorf("simulator injected %d faults, want 3", got)
			}
		})
	}
}

// TestPaginationGuards feeds hand-made page sequences to StreamReport.
func TestPaginationGuards(t *testing.T) {
	row := func(id, day string, spend string) string {
		return `{"dimensions":{"campaign_id":"` + id + `","stat_time_day":"` + day + ` 00:00:00"},"metrics":{"spend":"` + spend + `"}}`
	}
	page := func(n, total, pages int, rows ...string) string {
		return fmt.Sprintf(`{"code":0,"message":"OK","request_id":"p%d","data":{"list":[%s],"page_info":{"page":%d,"page_size":2,"total_number":%d,"total_page":%d}}}`,
			n, strings.Join(rows, ","), n, total, pages)
	}
	tests := []struct {
		name      string
		pages     []string
		wantRows  int
		wantDrift string
		wantSpend string
	}{
		{"three pages of 0.10", []string{
			page(1, 5, 3, row("1", "2024-03-01", "0.10"), row("2", "2024-03-01", "0.10")),
			page(2, 5, 3, row("3", "2024-03-01", "0.10"), row("1", "2024-03-02", "0.10")),
			page(3, 5, 3, row("2", "2024-03-02", "0.10")),
		}, 5, "", "0.50"},
		{"no page_info is one page", []string{
			`{"code":0,"message":"OK","data":{"list":[` + row("1", "2024-03-01", "0.10") + `,` + row("2", "2024-03-01", "0.20") + `]}}`,
		}, 2, "", "0.30"},
		{"total_number changes", []string{
			page(1, 4, 2, row("1", "2024-03-01", "1"), row("2", "2024-03-01", "1")),
			page(2, 5, 3, row("3", "2024-03-01", "1"), row("4", "2024-03-01", "1")),
		}, 0, "total_number changed", ""},
		{"key repeated across pages", []string{
			page(1, 4, 2, row("1", "2024-03-01", "1"), row("2", "2024-03-01", "1")),
			page(2, 4, 2, row("2", "2024-03-01", "1"), row("3", "2024-03-01", "1")),
		}, 0, "repeated", ""},
		{"rows short of total_number", []string{
			page(1, 5, 2, row("1", "2024-03-01", "1"), row("2", "2024-03-01", "1")),
			page(2, 5, 2, row("3", "2024-03-01", "1")),
		}, 0, "received 3 rows", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if n >= len(tc.pages) {
					t.Errorf("request %d beyond the last page", n)
					return
				}
				if got := r.URL.Query().Get("page"); got != fmt.Sprint(n+1) {
					t.Errorf("request %d asked for page %s", n, got)
				}
				fmt.Fprint(w, tc.pages[n])
			})
			c := newClient(t, testOptions(srv.url(), "tok-123456"))
			q := tiktok.ReportQuery{AdvertiserID: "9", Level: tiktok.LevelCampaign, Granularity: tiktok.Daily,
				Start: date(2024, 3, 1), End: date(2024, 3, 2), Location: time.UTC, PageSize: 2}
			spend := decimal.Zero
			sum, err := c.StreamReport(context.Background(), q, func(p tiktok.ReportPage) error {
				for _, r := range p.Rows {
					spend = spend.Add(r.Metrics.Spend.Decimal)
				}
				return nil
			})
			if tc.wantDrift != "" {
				if !errors.Is(err, tiktok.ErrPaginationDrift) || !strings.Contains(err.Error(), tc.wantDrift) {
					t.Fatalf("err = %v, want drift %q", err, tc.wantDrift)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sum.Rows != tc.wantRows || !spend.Equal(decimal.RequireFromString(tc.wantSpend)) || srv.count() != len(tc.pages) {
				t.Errorf("rows %d spend %s requests %d", sum.Rows, spend, srv.count())
			}
		})
	}
}

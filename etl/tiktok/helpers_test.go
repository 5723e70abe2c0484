package tiktok_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/adhouse/adhouse/etl/logtest"
	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim/simtest"
)

// fastLimiter has no QPS/QPM limit and millisecond pauses, so tests that are
// not about rate limiting run at full speed.
func fastLimiter() *tiktok.Limiter {
	return tiktok.NewLimiter(tiktok.LimiterConfig{QPS: -1, QPM: -1, AppPause: time.Millisecond, AdvertiserPause: time.Millisecond})
}

// testOptions returns client options with short backoff and timeouts.
func testOptions(baseURL, token string) tiktok.Options {
	return tiktok.Options{
		BaseURL:     baseURL,
		AccessToken: token,
		Limiter:     fastLimiter(),
		BackoffBase: time.Millisecond,
		BackoffMax:  5 * time.Millisecond,
		Timeout:     5 * time.Second,
	}
}

func newClient(t testing.TB, opts tiktok.Options) *tiktok.Client {
	t.Helper()
	c, err := tiktok.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// simClient starts a simulator and a client for it.
func simClient(t testing.TB, cfg tiktoksim.Config, mod ...func(*tiktok.Options)) (*tiktoksim.Server, *tiktok.Client) {
	t.Helper()
	srv := simtest.Start(t, cfg)
	opts := testOptions(srv.BaseURL(), srv.AccessToken())
	for _, m := range mod {
		m(&opts)
	}
	return srv, newClient(t, opts)
}

// scripted is a handler whose answer to the n-th request (from 0) is chosen
// by a function, for error-class and pagination tests. url serves it on
// loopback; inProcess serves it without a socket (for synctest bubbles).
type scripted struct {
	t     testing.TB
	srv   *httptest.Server
	n     atomic.Int64
	mu    sync.Mutex
	reqs  []*http.Request
	reply func(n int, w http.ResponseWriter, r *http.Request)
}

func newScripted(t testing.TB, reply func(n int, w http.ResponseWriter, r *http.Request)) *scripted {
	return &scripted{t: t, reply: reply}
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(s.n.Add(1) - 1)
	s.mu.Lock()
	s.reqs = append(s.reqs, r.Clone(r.Context()))
	s.mu.Unlock()
	s.reply(n, w, r)
}

func (s *scripted) url() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		s.srv = httptest.NewServer(s)
		s.t.Cleanup(s.srv.Close)
	}
	return s.srv.URL + "/open_api/v1.3/"
}

// inProcess is a transport that hands each request to a handler in the
// calling goroutine: no sockets, so a client can run in a synctest bubble,
// where time is virtual and sleeps cost nothing.
type inProcess struct{ h http.Handler }

func (p inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	in := r.Clone(r.Context()) // as a server would receive it
	if in.Body == nil {
		in.Body = http.NoBody
	}
	in.RequestURI, in.RemoteAddr = r.URL.RequestURI(), "127.0.0.1:1"
	rec := httptest.NewRecorder()
	p.h.ServeHTTP(rec, in)
	if err := r.Context().Err(); err != nil {
		// As a network transport does: a request whose context ended
		// while the server held it gets no response.
		return nil, err
	}
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// inProcessOptions is testOptions for a client served by h in-process.
func inProcessOptions(h http.Handler, token string) tiktok.Options {
	opts := testOptions("http://tiktok.test/open_api/v1.3/", token)
	opts.HTTPClient = &http.Client{Transport: inProcess{h}}
	return opts
}

func (s *scripted) count() int { return int(s.n.Load()) }

func debugLogger(buf *logtest.Buffer) *zerolog.Logger {
	l := zerolog.New(buf).Level(zerolog.DebugLevel)
	return &l
}

func date(y int, m time.Month, d int) tiktok.Date { return tiktok.NewDate(y, m, d) }

func jsonUnmarshalString(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func staticSource(tok *tiktok.AuthToken) oauth2.TokenSource {
	return oauth2.StaticTokenSource(tok.OAuth2())
}

// pull reads a whole report window through StreamReport, the client's one
// report reader.
func pull(ctx context.Context, c *tiktok.Client, q tiktok.ReportQuery) ([]tiktok.ReportRow, tiktok.ReportSummary, error) {
	var rows []tiktok.ReportRow
	sum, err := c.StreamReport(ctx, q, func(p tiktok.ReportPage) error {
		rows = append(rows, p.Rows...)
		return nil
	})
	return rows, sum, err
}

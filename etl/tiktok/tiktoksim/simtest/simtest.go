// Package simtest starts the TikTok API simulator for the length of a test.
// It lives apart from tiktoksim so that binaries serving the simulator do
// not link the testing package.
package simtest

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
)

// Start serves a simulator of cfg on a free loopback port until the test
// ends; BaseURL gives the API URL.
func Start(tb testing.TB, cfg tiktoksim.Config) *tiktoksim.Server {
	tb.Helper()
	s := tiktoksim.New(cfg)
	if _, err := s.Start("127.0.0.1:0"); err != nil {
		tb.Fatalf("starting the TikTok simulator: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// Calls returns the simulator's own log of the requests it answered, in the
// terms of the client's counters (tiktok.Calls): endpoint without slashes,
// and the outcome the client must call each answer. Tests compare it with
// what adhouse counted.
func Calls(tb testing.TB, s *tiktoksim.Server) map[tiktok.CallKey]uint64 {
	tb.Helper()
	out := map[tiktok.CallKey]uint64{}
	for a, n := range s.Stats().Answers {
		out[tiktok.CallKey{Endpoint: strings.Trim(a.Path, "/"), Outcome: outcome(tb, a.Kind)}] += n
	}
	return out
}

// ByEndpoint returns the simulator's request counts per endpoint, in the
// client's names.
func ByEndpoint(s *tiktoksim.Server) map[string]uint64 {
	out := map[string]uint64{}
	for p, n := range s.Stats().ByPath {
		out[strings.Trim(p, "/")] += n
	}
	return out
}

func outcome(tb testing.TB, kind string) string {
	tb.Helper()
	switch kind {
	case "hang":
		return tiktok.OutcomeTimeout
	case "truncated", "malformed":
		return tiktok.OutcomeMalformed
	}
	what, num, ok := strings.Cut(kind, " ")
	n, err := strconv.Atoi(num)
	if !ok || err != nil {
		tb.Fatalf("unknown simulator answer %q", kind)
	}
	switch {
	case what == "http" && n >= 500:
		return tiktok.OutcomeServerError
	case what == "http":
		return tiktok.OutcomeAPIError
	case n == 0:
		return tiktok.OutcomeOK
	case n == tiktok.CodeRateLimited || n == tiktok.CodeTooFrequent:
		return tiktok.OutcomeRateLimited
	case n == tiktok.CodeAdvertiserRateLimited:
		return tiktok.OutcomeAdvertiserLimited
	case n >= 50000:
		return tiktok.OutcomeServerError
	}
	return tiktok.OutcomeAPIError
}

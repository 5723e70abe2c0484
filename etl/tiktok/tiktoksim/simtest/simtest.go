// Package simtest starts the TikTok API simulator for the length of a test.
// It lives apart from tiktoksim so that binaries serving the simulator do
// not link the testing package.
package simtest

import (
	"context"
	"testing"

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

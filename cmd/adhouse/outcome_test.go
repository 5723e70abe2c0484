package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/tiktok"
)

// TestRunSummaryAndExitStatus: the summary's first line says whether the
// run completed, partly failed, failed or was interrupted; failed parts are
// listed with what to do; a warehouse that stopped answering is one line;
// the exit status tells partial (2) from total failure (1).
func TestRunSummaryAndExitStatus(t *testing.T) {
	job, err := extract.NamedJob("entities", false)
	require.NoError(t, err)
	refused := fmt.Errorf("advertiser info: %w", &tiktok.APIError{Code: tiktok.CodeNoPermission, Message: "No permission to operate advertiser 123."})
	down := &extract.WarehouseDownError{Err: fmt.Errorf("inserting: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})}
	for _, tc := range []struct {
		name   string
		res    extract.Result
		err    error
		head   string
		lines  []string // further lines of the summary
		msg    string   // the error main prints ("" for none)
		status int
	}{
		{"ok", extract.Result{Advertisers: 2, Succeeded: []string{"1", "2"}}, nil,
			"entities: 2 advertisers, 0 windows", nil, "", 0},
		{"partial", extract.Result{Advertisers: 2, Succeeded: []string{"1"}, Failed: []string{"advertiser 123: " + refused.Error()}, Errors: []error{refused}},
			&extract.PartsFailedError{Parts: []string{"advertiser 123: " + refused.Error()}},
			"entities partly failed: 2 advertisers (1 complete)",
			[]string{"  failed: advertiser 123: advertiser info: tiktok: code 40001", "    → the token is not authorised for this advertiser"},
			"partial failure: 1 of 2 advertisers complete, 1 part failed", 2},
		{"all parts failed", extract.Result{Advertisers: 1, Failed: []string{"advertiser 123: " + refused.Error()}, Errors: []error{refused}},
			&extract.PartsFailedError{Parts: []string{"advertiser 123: " + refused.Error()}},
			"entities failed: 1 advertisers (0 complete)", []string{"  failed: advertiser 123"},
			"failed: 0 of 1 advertisers complete, 1 part failed", 1},
		{"warehouse down", extract.Result{Advertisers: 3, Succeeded: []string{"1"}, Windows: 10}, down,
			"entities failed: 3 advertisers (1 complete), 10 windows", nil,
			"the warehouse stopped answering (connection refused); nothing half-loaded is visible and checkpoints stay where they were: start it (`adhouse warehouse start`, or check clickhouse.*) and run again", 1},
		{"token revoked", extract.Result{Advertisers: 3}, fmt.Errorf("advertiser info: %w", &tiktok.APIError{Code: tiktok.CodeTokenInvalid, Message: "revoked"}),
			"entities failed: 3 advertisers (0 complete)", nil,
			"advertiser info: tiktok: code 40105: revoked\n  → TikTok rejected the access token (expired, revoked or wrong): run `adhouse auth` again", 1},
		{"interrupted", extract.Result{Advertisers: 3, Succeeded: []string{"1"}}, fmt.Errorf("window: %w", context.Canceled),
			"entities interrupted: 3 advertisers (1 complete)", nil, "window: context canceled", 130},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := reportRun(&out, job, tc.res, tc.err, "0.01")
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			require.True(t, strings.HasPrefix(lines[0], tc.head), "%q", lines[0])
			for _, l := range tc.lines {
				require.Contains(t, out.String(), l)
			}
			if tc.msg == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.True(t, strings.HasPrefix(err.Error(), tc.msg), "%q", err.Error())
			require.Equal(t, tc.status, exitStatus(err))
		})
	}
}

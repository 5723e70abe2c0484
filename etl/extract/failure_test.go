package extract_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/tiktok"
)

// TestClassifyAndHint: every failure gets the source and code that
// adhouse_errors_total and the log lines carry, as docs/operating.md lists
// them, and a hint that sends the operator the right way.
func TestClassifyAndHint(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, tc := range []struct {
		name         string
		err          error
		source, code string
		hint         string
	}{
		{"revoked token", fmt.Errorf("x: %w", &tiktok.APIError{Code: 40105}), "tiktok", "40105", "run `adhouse auth` again"},
		{"refused advertiser", &tiktok.APIError{Code: 40001}, "tiktok", "40001", "remove it from --advertiser or sync.advertisers"},
		{"left out of advertiser/info", fmt.Errorf("advertiser 9: %w", extract.ErrNotReturned), "tiktok", "not_returned", "remove it from --advertiser or sync.advertisers"},
		{"app blocked", &tiktok.APIError{Code: 40113}, "tiktok", "40113", "check tiktok.app_id"},
		{"HTTP 503", &tiktok.APIError{HTTPStatus: 503}, "tiktok", "http_503", "TikTok failed on its side"},
		{"rate limited", &tiktok.APIError{Code: 40100}, "tiktok", "40100", "lower sync.concurrency"},
		{"drift", &tiktok.PaginationDriftError{Path: "p", Page: 2, Reason: "r"}, "tiktok", "pagination_drift", "changed while it was paged"},
		{"warehouse refused", fmt.Errorf("insert: %w", refused), "clickhouse", "unreachable", "the warehouse stopped answering"},
		{"warehouse closed", fmt.Errorf("insert: %w", io.ErrUnexpectedEOF), "clickhouse", "unreachable", "the warehouse stopped answering"},
		{"warehouse down", &extract.WarehouseDownError{Err: refused}, "clickhouse", "unreachable", "the warehouse stopped answering"},
		{"gateway: engine down", &clickhouse.Exception{Code: 210, Message: "the warehouse is stopping"}, "clickhouse", "210", "the warehouse stopped answering"},
		{"memory limit", &clickhouse.Exception{Code: 241, Message: "memory"}, "clickhouse", "241", "ClickHouse refused a statement"},
		{"shutdown", fmt.Errorf("window: %w", context.Canceled), "other", "cancelled", "the run was stopped"},
		{"else", fmt.Errorf("boom"), "other", "unknown", "the next run retries it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			source, code := extract.Classify(tc.err)
			require.Equal(t, tc.source, source)
			require.Equal(t, tc.code, code)
			require.Contains(t, extract.Hint(tc.err), tc.hint)
		})
	}
}

// TestWarehouseDownIsOneLine: a distributed insert's exception lists every
// shard's status on further lines; the run's error keeps only the first.
func TestWarehouseDownIsOneLine(t *testing.T) {
	err := &extract.WarehouseDownError{Err: fmt.Errorf("window: %w", &clickhouse.Exception{Code: 210,
		Message: "Connection refused (127.0.0.1:37109): Insertion status:\nWrote 0 blocks and 0 rows on shard 0 replica 0\nWrote 0 blocks on shard 1"})}
	require.Equal(t, "the warehouse stopped answering (code 210: Connection refused (127.0.0.1:37109): Insertion status); nothing half-loaded is visible and checkpoints stay where they were: start it (`adhouse warehouse start`, or check clickhouse.*) and run again", err.Error())
}

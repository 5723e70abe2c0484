package schedule_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/logtest"
	"github.com/adhouse/adhouse/etl/schedule"
	"github.com/adhouse/adhouse/etl/tiktok"
)

func runDaemon(t *testing.T, opts schedule.Options) (*schedule.Daemon, context.CancelFunc, <-chan struct{}) {
	t.Helper()
	d, err := schedule.New(opts)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		require.NoError(t, d.Run(ctx))
	}()
	t.Cleanup(func() { cancel(); <-done })
	return d, cancel, done
}

// warehouseDown is what a run returns when ClickHouse stopped answering.
func warehouseDown() error {
	return &extract.WarehouseDownError{Err: fmt.Errorf("loading: %w",
		&net.OpError{Op: "dial", Net: "tcp", Err: &net.AddrError{Err: syscall.ECONNREFUSED.Error()}})}
}

// TestMetricsExistFromStartUp: before any run, every schedule's run and row
// counters are on /metrics at 0 and the lag gauges come from the run log; a
// daemon that keeps failing because ClickHouse is down counts
// adhouse_errors_total{source="clickhouse",code="unreachable"} and its lag
// keeps growing from the last success before the restart.
func TestMetricsExistFromStartUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lastOK := time.Now().Add(-26 * time.Hour)
		d, _, _ := runDaemon(t, schedule.Options{
			Entries: []schedule.Entry{{Name: "nightly", Cron: "@every 1h", Job: "sync"}},
			Run: func(context.Context, string) (extract.Result, error) {
				return extract.Result{Advertisers: 1}, warehouseDown()
			},
			LastSuccess: func(context.Context) (map[string]time.Time, error) {
				return map[string]time.Time{"7000000000000000001": lastOK}, nil
			},
			Logger: zerolog.Nop(),
		})
		synctest.Wait()
		_, body := get(d, "/metrics")
		for _, want := range []string{
			`adhouse_runs_total{job="nightly",outcome="ok"} 0`,
			`adhouse_runs_total{job="nightly",outcome="failed"} 0`,
			`adhouse_runs_total{job="nightly",outcome="partial"} 0`,
			`adhouse_rows_loaded_total{job="nightly"} 0`,
			`adhouse_job_running{job="nightly"} 0`,
			`adhouse_lag_seconds{advertiser="7000000000000000001"} 93600`,
		} {
			require.Contains(t, body, want)
		}
		time.Sleep(time.Hour + time.Second)
		synctest.Wait()
		_, body = get(d, "/metrics")
		require.Contains(t, body, `adhouse_errors_total{code="unreachable",job="nightly",source="clickhouse"} 1`)
		require.Contains(t, body, `adhouse_runs_total{job="nightly",outcome="failed"} 1`)
		require.Contains(t, body, `adhouse_lag_seconds{advertiser="7000000000000000001"} 97201`)
	})
}

// TestLastSuccessSeedRetried: a run log that cannot be read at start is
// read again before the next run.
func TestLastSuccessSeedRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var reads int
		lastOK := time.Now().Add(-time.Hour)
		d, _, _ := runDaemon(t, schedule.Options{
			Entries: []schedule.Entry{{Name: "s", Cron: "@every 1m", Job: "sync"}},
			Run:     func(context.Context, string) (extract.Result, error) { return extract.Result{}, warehouseDown() },
			LastSuccess: func(context.Context) (map[string]time.Time, error) {
				reads++
				if reads == 1 {
					return nil, warehouseDown()
				}
				return map[string]time.Time{"a": lastOK}, nil
			},
			Logger: zerolog.Nop(),
		})
		synctest.Wait()
		_, body := get(d, "/metrics")
		require.NotContains(t, body, "adhouse_lag_seconds{")
		time.Sleep(time.Minute + time.Second)
		synctest.Wait()
		_, body = get(d, "/metrics")
		require.Contains(t, body, `adhouse_lag_seconds{advertiser="a"} 3661`)
		time.Sleep(time.Minute)
		synctest.Wait()
		require.Equal(t, 2, reads, "read until it succeeds, then never again")
	})
}

// TestRunOutcomesInLogsAndMetrics: a partial failure, a total failure and a
// run cancelled by shutdown are three outcomes; the log lines a shipper
// reads say error for the first two (with source, code and what to do) and
// warn, never error, for the shutdown.
func TestRunOutcomesInLogsAndMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		refused := &tiktok.APIError{Code: tiktok.CodeNoPermission, Message: "No permission to operate advertiser 123."}
		revoked := &tiktok.APIError{Code: tiktok.CodeTokenInvalid, Message: "Access token is incorrect or has been revoked."}
		started := make(chan struct{})
		var n int
		run := func(ctx context.Context, job string) (extract.Result, error) {
			n++
			switch n {
			case 1:
				return extract.Result{Advertisers: 2, Succeeded: []string{"7000000000000000001"}, Failed: []string{"advertiser 123: advertiser info: " + refused.Error()},
					Errors: []error{refused}}, &extract.PartsFailedError{Parts: []string{"advertiser 123: advertiser info: " + refused.Error()}}
			case 2:
				return extract.Result{Advertisers: 2}, fmt.Errorf("advertiser info: %w", revoked)
			}
			close(started)
			<-ctx.Done()
			return extract.Result{Advertisers: 2}, fmt.Errorf("window: %w", ctx.Err())
		}
		var logs logtest.Buffer
		d, cancel, done := runDaemon(t, schedule.Options{
			Entries: []schedule.Entry{{Name: "often", Cron: "@every 1m", Job: "sync"}},
			Run:     run, ShutdownTimeout: time.Second,
			Logger: zerolog.New(&logs),
		})
		time.Sleep(2*time.Minute + time.Second)
		<-started
		cancel()
		<-done
		_, body := get(d, "/metrics")
		for _, want := range []string{
			`adhouse_runs_total{job="often",outcome="partial"} 1`,
			`adhouse_runs_total{job="often",outcome="failed"} 1`,
			`adhouse_runs_total{job="often",outcome="interrupted"} 1`,
			`adhouse_errors_total{code="40001",job="often",source="tiktok"} 1`,
			`adhouse_errors_total{code="40105",job="often",source="tiktok"} 1`,
		} {
			require.Contains(t, body, want)
		}
		require.NotContains(t, body, `code="cancelled"`, "a planned shutdown is no error")

		var msgs []string
		for _, l := range logs.JSONLines(t) {
			msgs = append(msgs, fmt.Sprint(l["level"], " ", l["message"]))
			switch l["message"] {
			case "run partly failed":
				require.Equal(t, "error", l["level"])
				require.Equal(t, "40001", l["code"])
				require.Contains(t, l["hint"], "not authorised for this advertiser")
			case "run failed":
				require.Equal(t, "error", l["level"])
				require.Equal(t, "40105", l["code"])
				require.Contains(t, l["hint"], "run `adhouse auth` again")
			}
		}
		text := strings.Join(msgs, "\n")
		require.Contains(t, text, "error run partly failed")
		require.Contains(t, text, "error run failed")
		require.Contains(t, text, "warn run interrupted by shutdown")
		require.Equal(t, 2, strings.Count(text, "error "), "only the two failed runs log errors:\n%s", text)
	})
}

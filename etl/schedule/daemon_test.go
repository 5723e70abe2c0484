package schedule_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/rs/zerolog"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/schedule"
	"github.com/adhouse/adhouse/etl/tiktok"
)

// get asks the daemon's HTTP handler, as a scraper or probe would.
func get(d *schedule.Daemon, path string) (int, string) {
	rec := httptest.NewRecorder()
	d.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

// startDaemon runs a daemon (without an HTTP listener, so the caller's
// synctest bubble keeps virtual time) until the test ends; done is closed
// when Run returns, with its error in *runErr.
func startDaemon(t *testing.T, opts schedule.Options) (d *schedule.Daemon, cancel context.CancelFunc, done <-chan struct{}, runErr *error) {
	t.Helper()
	opts.Logger = zerolog.Nop()
	d, err := schedule.New(opts)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	runErr = new(error)
	go func() {
		*runErr = d.Run(ctx)
		close(finished)
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	return d, cancel, finished, runErr
}

// The daemon tests run in synctest bubbles: cron, the jobs' sleeps and the
// shutdown grace period all use virtual time, so they are exact and fast.

func TestNoOverlapPanicsRecoveredAndMetrics(t *testing.T) {
	synctest.Test(t, testNoOverlapPanicsRecoveredAndMetrics)
}

func testNoOverlapPanicsRecoveredAndMetrics(t *testing.T) {
	var running, maxRunning, boomCalls, syncRunning, maxSync atomic.Int32
	run := func(ctx context.Context, job string) (extract.Result, error) {
		if job == "sync" {
			cur := syncRunning.Add(1)
			defer syncRunning.Add(-1)
			if cur > maxSync.Load() {
				maxSync.Store(cur)
			}
		}
		cur := running.Add(1)
		defer running.Add(-1)
		for {
			m := maxRunning.Load()
			if cur <= m || maxRunning.CompareAndSwap(m, cur) {
				break
			}
		}
		if job == "boom" {
			if boomCalls.Add(1)%2 == 0 {
				panic("job exploded")
			}
			return extract.Result{}, &tiktok.APIError{Code: 40105, Message: "invalid token"}
		}
		time.Sleep(2500 * time.Millisecond) // longer than the schedule's period
		return extract.Result{Rows: 10, APICalls: 3, Succeeded: []string{"adv-1"}}, nil
	}
	d, _, _, _ := startDaemon(t, schedule.Options{
		Entries: []schedule.Entry{{Name: "slow", Cron: "@every 1s", Job: "sync"}, {Name: "slow-too", Cron: "@every 1s", Job: "sync"},
			{Name: "boom", Cron: "@every 1s", Job: "boom"}},
		Run: run,
	})
	time.Sleep(10*time.Second + 500*time.Millisecond) // between ticks, so no tick races the reading
	synctest.Wait()
	_, body := get(d, "/metrics")
	// Ten ticks of three every-second schedules: the 2.5 s sync started at
	// 1, 4, 7 and 10 s (three runs ended, one still runs), and the other 16
	// ticks of its two schedules found it running and were skipped (which
	// schedule won a tick both fired on is up to the scheduler); boom
	// alternated failures and panics.
	sum := func(outcome string) int {
		n := 0
		for _, job := range []string{"slow", "slow-too"} {
			m := regexp.MustCompile(`adhouse_runs_total\{job="` + job + `",outcome="` + outcome + `"\} (\d+)`).FindStringSubmatch(body)
			if m != nil {
				v, _ := strconv.Atoi(m[1])
				n += v
			}
		}
		return n
	}
	require.Equal(t, 3, sum("ok"), body)
	require.Equal(t, 16, sum("skipped"), body)
	require.Contains(t, body, `adhouse_runs_total{job="boom",outcome="failed"} 5`)
	require.Contains(t, body, `adhouse_runs_total{job="boom",outcome="panic"} 5`)
	require.Contains(t, body, `adhouse_errors_total{code="40105",job="boom",source="tiktok"}`)
	require.Contains(t, body, `adhouse_lag_seconds{advertiser="adv-1"}`)
	require.LessOrEqual(t, maxRunning.Load(), int32(2), "each job at most once at a time (two jobs, three schedules)")
	require.LessOrEqual(t, maxSync.Load(), int32(1), "two schedules of the same job never overlap")

	code, health := get(d, "/healthz")
	require.Equal(t, http.StatusOK, code)
	var h map[string]any
	require.NoError(t, json.Unmarshal([]byte(health), &h))
	require.Equal(t, "ok", h["status"])
}

func TestHealthzReportsWarehouseDown(t *testing.T) {
	synctest.Test(t, testHealthzReportsWarehouseDown)
}

func testHealthzReportsWarehouseDown(t *testing.T) {
	d, _, _, _ := startDaemon(t, schedule.Options{
		Run:    func(context.Context, string) (extract.Result, error) { return extract.Result{}, nil },
		Health: func(context.Context) error { return &clickhouse.Exception{Code: 210, Message: "connection refused"} },
	})
	code, body := get(d, "/healthz")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, body, "unhealthy")
}

func TestShutdownWaitsThenAbandons(t *testing.T) {
	synctest.Test(t, testShutdownWaitsThenAbandons)
}

func testShutdownWaitsThenAbandons(t *testing.T) {
	started := make(chan struct{}, 1)
	var sawCancel atomic.Bool
	run := func(ctx context.Context, job string) (extract.Result, error) {
		select {
		case started <- struct{}{}:
		default:
		}
		<-ctx.Done() // a window that would never end on its own
		sawCancel.Store(true)
		return extract.Result{}, ctx.Err()
	}
	_, cancel, done, runErr := startDaemon(t, schedule.Options{
		Entries:         []schedule.Entry{{Name: "stuck", Cron: "@every 1s", Job: "sync"}},
		Run:             run,
		ShutdownTimeout: 300 * time.Millisecond,
	})
	<-started
	begin := time.Now()
	cancel()
	select {
	case <-done:
		require.NoError(t, *runErr)
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not stop")
	}
	require.True(t, sawCancel.Load(), "the running job was cancelled after the grace period")
	require.Equal(t, 300*time.Millisecond, time.Since(begin), "it waited for the grace period, then stopped")
}

func TestBadCronRefused(t *testing.T) {
	_, err := schedule.New(schedule.Options{
		Entries: []schedule.Entry{{Name: "x", Cron: "every tuesday", Job: "sync"}},
		Run:     func(context.Context, string) (extract.Result, error) { return extract.Result{}, errors.New("no") },
	})
	require.ErrorContains(t, err, `schedule x: cron "every tuesday"`)
}

// TestAPICallsAndPauseMetrics: /metrics counts a run's API requests by job,
// endpoint and outcome, and shows the rate limiter's long pause (paused,
// until when) while it lasts and no longer.
func TestAPICallsAndPauseMetrics(t *testing.T) {
	synctest.Test(t, testAPICallsAndPauseMetrics)
}

func testAPICallsAndPauseMetrics(t *testing.T) {
	lim := tiktok.NewLimiter(tiktok.LimiterConfig{QPS: -1, QPM: -1, EscalateAfter: 1})
	var runs atomic.Int32
	run := func(ctx context.Context, job string) (extract.Result, error) {
		if runs.Add(1) > 1 {
			return extract.Result{}, nil
		}
		lim.AppRateLimited() // the limit persisted: the long pause starts
		calls := tiktok.Calls{Counts: map[tiktok.CallKey]uint64{
			{Endpoint: "report/integrated/get", Outcome: tiktok.OutcomeOK}:          5,
			{Endpoint: "report/integrated/get", Outcome: tiktok.OutcomeRateLimited}: 2,
			{Endpoint: "campaign/get", Outcome: tiktok.OutcomeOK}:                   1,
		}}
		return extract.Result{Rows: 10, APICalls: calls.Total(), Calls: calls}, nil
	}
	d, _, _, _ := startDaemon(t, schedule.Options{
		Entries: []schedule.Entry{{Name: "often", Cron: "@every 1s", Job: "sync"}},
		Run:     run, Limiter: lim,
	})
	time.Sleep(1500 * time.Millisecond)
	synctest.Wait()
	until := lim.Pause().Until
	require.False(t, until.IsZero())
	_, body := get(d, "/metrics")
	for _, want := range []string{
		`adhouse_api_calls_total{endpoint="report/integrated/get",job="often",outcome="ok"} 5`,
		`adhouse_api_calls_total{endpoint="report/integrated/get",job="often",outcome="rate_limited"} 2`,
		`adhouse_api_calls_total{endpoint="campaign/get",job="often",outcome="ok"} 1`,
		"adhouse_api_paused 1",
		"adhouse_api_pause_until_seconds " + strconv.FormatFloat(float64(until.Unix()), 'g', -1, 64),
		`adhouse_api_pauses_total{kind="long"} 1`,
		`adhouse_api_pauses_total{kind="short"} 0`,
	} {
		require.Contains(t, body, want)
	}
	time.Sleep(tiktok.DefaultAppPause)
	synctest.Wait()
	_, body = get(d, "/metrics")
	require.Contains(t, body, "adhouse_api_paused 0")
	require.Contains(t, body, "adhouse_api_pause_until_seconds 0")
	require.Contains(t, body, `adhouse_api_calls_total{endpoint="report/integrated/get",job="often",outcome="ok"} 5`)
}

func TestReconciliationInMetricsAndHealthz(t *testing.T) {
	synctest.Test(t, testReconciliationInMetricsAndHealthz)
}

// testReconciliationInMetricsAndHealthz: what the reconciliation reader
// finds becomes one gauge per advertiser, level and granularity and a list in
// /healthz (status stays ok); a level that adds up again after a run drops
// out of both; a failed read keeps the last figures and says why.
func testReconciliationInMetricsAndHealthz(t *testing.T) {
	ad := extract.Imbalance{AdvertiserID: "7000000000000000002", Level: "ad", Granularity: "daily", Currency: "USD",
		Days: 46, From: tiktok.NewDate(2026, 3, 1), To: tiktok.NewDate(2026, 4, 15),
		Spend: decimal.RequireFromString("-123.45"), Impressions: -5000, Clicks: -70, Cause: extract.CauseDeleted}
	campaign := ad
	campaign.Level, campaign.Days, campaign.Spend = "campaign", 2, decimal.RequireFromString("0.5")
	var reads atomic.Int32
	findings := [][]extract.Imbalance{{ad, campaign}, {ad}}
	d, _, _, _ := startDaemon(t, schedule.Options{
		Entries: []schedule.Entry{{Name: "nightly", Cron: "@every 1m", Job: "sync"}},
		Run:     func(context.Context, string) (extract.Result, error) { return extract.Result{}, nil },
		Reconciliation: func(context.Context) ([]extract.Imbalance, error) {
			n := int(reads.Add(1))
			if n > len(findings) {
				return nil, errors.New("warehouse gone")
			}
			return findings[n-1], nil
		},
	})
	synctest.Wait() // the read at start
	_, body := get(d, "/metrics")
	require.Contains(t, body, `adhouse_reconciliation_days_out_of_balance{advertiser="7000000000000000002",granularity="daily",level="ad"} 46`)
	require.Contains(t, body, `adhouse_reconciliation_days_out_of_balance{advertiser="7000000000000000002",granularity="daily",level="campaign"} 2`)
	require.Contains(t, body, `adhouse_reconciliation_spend_difference{advertiser="7000000000000000002",currency="USD",granularity="daily",level="ad"} -123.45`)
	code, health := get(d, "/healthz")
	require.Equal(t, http.StatusOK, code)
	var h struct {
		Status         string
		Reconciliation []map[string]any
	}
	require.NoError(t, json.Unmarshal([]byte(health), &h))
	require.Equal(t, "ok", h.Status)
	require.Len(t, h.Reconciliation, 2)
	require.Equal(t, map[string]any{"advertiser": "7000000000000000002", "level": "ad", "granularity": "daily", "days": float64(46),
		"from": "2026-03-01", "to": "2026-04-15", "spend_difference": "-123.45", "currency": "USD",
		"impressions_difference": float64(-5000), "clicks_difference": float64(-70), "likely_cause": "deleted entities"}, h.Reconciliation[0])

	time.Sleep(time.Minute + time.Second) // one run, then the second read
	synctest.Wait()
	_, body = get(d, "/metrics")
	require.Contains(t, body, `level="ad"} 46`)
	require.NotContains(t, body, `level="campaign"`, "a level that adds up again is gone")

	time.Sleep(time.Minute) // another run; the read fails
	synctest.Wait()
	_, body = get(d, "/metrics")
	require.Contains(t, body, `level="ad"} 46`, "the last figures stay")
	_, health = get(d, "/healthz")
	require.Contains(t, health, `"reconciliation_error":"warehouse gone"`)
}

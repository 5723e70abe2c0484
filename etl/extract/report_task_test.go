package extract_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/logtest"
	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim/simtest"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/schema"
)

// newTaskSyncer is newSyncer with report tasks polled every few
// milliseconds, an ad-count threshold and a log.
func newTaskSyncer(t *testing.T, baseURL, token string, conn driver.Conn, cfg config.Config, grans []tiktok.Granularity, threshold int, log *logtest.Buffer, now func() time.Time) *extract.Syncer {
	t.Helper()
	api, err := tiktok.New(tiktok.Options{
		BaseURL: baseURL, AccessToken: token,
		Limiter:    tiktok.NewLimiter(tiktok.LimiterConfig{QPS: 1000, QPM: 60000, AppPause: 10 * time.Millisecond, AdvertiserPause: 10 * time.Millisecond}),
		MaxRetries: 12, BackoffBase: time.Millisecond, BackoffMax: 20 * time.Millisecond, Timeout: 5 * time.Second,
	})
	require.NoError(t, err)
	tasks := api.ReportTasks(tiktok.ReportTaskOptions{
		Limiter:      tiktok.NewLimiter(tiktok.LimiterConfig{QPS: 1000, QPM: 60000}),
		PollInterval: 2 * time.Millisecond, MaxPollInterval: 10 * time.Millisecond, MaxWait: time.Minute, RowsPerPage: 25,
	})
	loader := load.New(conn, load.Options{Target: schema.Target{Database: cfg.ClickHouse.Database}, BatchSize: 500, MaxRetries: 3, RetryBackoff: 10 * time.Millisecond})
	logger := zerolog.Nop()
	if log != nil {
		logger = zerolog.New(log).Level(zerolog.DebugLevel)
	}
	return extract.New(api, loader, conn, extract.Options{
		Target: schema.Target{Database: cfg.ClickHouse.Database}, Levels: allLevels, Granularities: grans,
		LookbackDays: 7, InitialDays: initialDays, WindowDays: 30, Concurrency: 4, Now: now,
		AsyncReportThreshold: threshold, ReportTasks: tasks, Logger: logger,
	})
}

// initialDays is how far back the first run of these tests goes: five days
// hold a DST-free week's mix of deleted and new entities and keep the
// hourly streams at five windows each.
const initialDays = 5

// checkpoints renders every stream's checkpoint.
func checkpoints(t *testing.T, conn driver.Conn, db string) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT advertiser_id, level, granularity, toString(argMax(through_date, version))
FROM `+db+`.sync_checkpoints GROUP BY advertiser_id, level, granularity ORDER BY advertiser_id, level, granularity`)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a, l, g, d string
		require.NoError(t, rows.Scan(&a, &l, &g, &d))
		out = append(out, strings.Join([]string{a, l, g, d}, "|"))
	}
	require.NoError(t, rows.Err())
	return out
}

func count(t *testing.T, conn driver.Conn, q string) uint64 {
	t.Helper()
	var n uint64
	require.NoError(t, conn.QueryRow(context.Background(), q).Scan(&n))
	return n
}

// TestAsyncPathEqualsSimulatorTruth is the synchronous path's end-to-end
// truth test run through report tasks, once per documented reason to use
// them: the ad count, TikTok's truncation header, and 40067. Every row of
// every level and granularity equals the simulator's truth to the last
// decimal, and the checkpoints equal those of a run on the synchronous path.
// A day later the restated lookback of the known-large account is pulled
// again through tasks and replaces the old windows whole.
func TestAsyncPathEqualsSimulatorTruth(t *testing.T) {
	grans := []tiktok.Granularity{tiktok.Daily, tiktok.Hourly}
	ctx := context.Background()

	// The reference: the synchronous path.
	ref := simtest.Start(t, simConfig())
	refConn, refCfg := warehousetest.Migrated(t, config.ProtocolHTTP)
	_, err := newTaskSyncer(t, ref.BaseURL(), ref.AccessToken(), refConn, refCfg, grans, 0, nil, ref.Now).
		Run(ctx, ref.AdvertiserIDs(), extract.Job{Name: "sync", Entities: true, Stats: true})
	require.NoError(t, err)
	require.Zero(t, ref.TaskStats().Created, "the reference must not use tasks")
	wantCheckpoints := checkpoints(t, refConn, refCfg.ClickHouse.Database)
	require.Len(t, wantCheckpoints, 3*4*2)

	tests := []struct {
		name      string
		sim       func(*tiktoksim.Config)
		threshold int
		reason    string
		allAsync  bool // no window may be pulled synchronously
	}{
		{name: "ad count", threshold: 8, reason: "the advertiser has 8 ads, at least sync.async_report_threshold (8)", allAsync: true},
		{name: "truncation header", sim: func(c *tiktoksim.Config) { c.SyncMaxAds = 5 }, reason: "came back truncated (X-Tt-Ads-Throttle)"},
		{name: "query too large", sim: func(c *tiktoksim.Config) { c.SyncMaxRows = 30 }, reason: "TikTok answered 40067"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := simConfig()
			if tc.sim != nil {
				tc.sim(&sc)
			}
			srv := simtest.Start(t, sc)
			conn, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
			log := &logtest.Buffer{}
			s := newTaskSyncer(t, srv.BaseURL(), srv.AccessToken(), conn, cfg, grans, tc.threshold, log, srv.Now)
			res, err := s.Run(ctx, srv.AdvertiserIDs(), extract.Job{Name: "sync", Entities: true, Stats: true})
			require.NoError(t, err)
			n := requireWarehouseEqualsTruth(t, srv, conn, cfg.ClickHouse.Database, grans, initialDays)
			require.Equal(t, wantCheckpoints, checkpoints(t, conn, cfg.ClickHouse.Database), "checkpoints of the task path")
			st := srv.Stats()
			tasks := srv.TaskStats()
			t.Logf("%d windows, %d rows, %d API calls; %d tasks, %d synchronous report calls; %d rows compared",
				res.Windows, res.Rows, res.APICalls, tasks.Created, st.ByPath["report/integrated/get/"], n)
			require.NotZero(t, tasks.Created)
			require.Equal(t, tasks.Created, tasks.Files, "one file per task")
			if tc.allAsync {
				require.Zero(t, st.ByPath["report/integrated/get/"], "no synchronous report for a known-large advertiser")
				require.Equal(t, uint64(res.Windows), tasks.Created, "one task per window")
			}
			out := log.String()
			require.Contains(t, out, "window pulled through an asynchronous report task")
			require.Contains(t, out, tc.reason)
			require.NotContains(t, out, srv.AccessToken())

			if !tc.allAsync {
				return
			}
			// A day later: the lookback is restated and pulled again.
			srv.Advance(24 * time.Hour)
			before := tasks.Created
			_, err = s.Run(ctx, srv.AdvertiserIDs(), extract.Job{Name: "sync", Stats: true})
			require.NoError(t, err)
			requireWarehouseEqualsTruth(t, srv, conn, cfg.ClickHouse.Database, grans, initialDays+1)
			require.Greater(t, srv.TaskStats().Created, before)
		})
	}
}

// TestAsyncTaskFailureLoadsNothing: tasks that end FAILED fail their windows
// with an error naming the advertiser, stream, window and TikTok's reason;
// nothing is loaded and no checkpoint moves; the run log says failed. The
// next run, with tasks working again, reaches the truth.
func TestAsyncTaskFailureLoadsNothing(t *testing.T) {
	ctx := context.Background()
	sc := simConfig()
	sc.Tasks = tiktoksim.TaskConfig{FailRate: 1}
	srv := simtest.Start(t, sc)
	conn, cfg := warehousetest.Migrated(t, config.ProtocolNative)
	db := cfg.ClickHouse.Database
	grans := []tiktok.Granularity{tiktok.Daily}
	s := newTaskSyncer(t, srv.BaseURL(), srv.AccessToken(), conn, cfg, grans, 8, nil, srv.Now)
	res, err := s.Run(ctx, srv.AdvertiserIDs(), extract.Job{Name: "sync", Entities: true, Stats: true})
	require.Error(t, err)
	require.ErrorIs(t, errors.Join(res.Errors...), tiktok.ErrReportTaskFailed)
	adv := srv.AdvertiserIDs()[0]
	from := tiktok.DateOf(srv.Now().In(mustLoc(t, srv, adv))).AddDays(1 - initialDays)
	for _, want := range []string{"advertiser " + adv + " ad daily", "window " + from.String() + "..", "report task 74", "ended FAILED", "internal error"} {
		require.Contains(t, err.Error(), want)
	}
	require.Empty(t, res.Succeeded)
	for _, l := range allLevels {
		require.Zero(t, count(t, conn, fmt.Sprintf("SELECT count() FROM %s.%s_stats_daily", db, l.Name())), "%s rows loaded", l.Name())
	}
	require.Empty(t, checkpoints(t, conn, db), "a checkpoint moved")
	require.Equal(t, uint64(3*4), count(t, conn, "SELECT count() FROM "+db+".sync_runs WHERE outcome = 'failed' AND position(error, 'ended FAILED') > 0"))

	srv.SetTasks(tiktoksim.TaskConfig{})
	_, err = s.Run(ctx, srv.AdvertiserIDs(), extract.Job{Name: "sync", Stats: true})
	require.NoError(t, err)
	requireWarehouseEqualsTruth(t, srv, conn, db, grans, initialDays)
}

func mustLoc(t *testing.T, srv *tiktoksim.Server, adv string) *time.Location {
	t.Helper()
	info, ok := srv.Advertiser(adv)
	require.True(t, ok)
	loc, err := info.Location()
	require.NoError(t, err)
	return loc
}

// TestAsyncNotReadyAndCutFiles: downloads that answer 40201 are polled
// again, and a file cut off halfway is downloaded again into a fresh load
// window: the warehouse equals the truth, nothing duplicated.
func TestAsyncNotReadyAndCutFiles(t *testing.T) {
	sc := simConfig()
	sc.Tasks = tiktoksim.TaskConfig{NotReadyDownloads: 2, FileTruncations: 1, ProcessingChecks: 3}
	srv := simtest.Start(t, sc)
	conn, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
	grans := []tiktok.Granularity{tiktok.Hourly}
	s := newTaskSyncer(t, srv.BaseURL(), srv.AccessToken(), conn, cfg, grans, 1, nil, srv.Now)
	_, err := s.Run(context.Background(), srv.AdvertiserIDs(), extract.Job{Name: "sync", Entities: true, Stats: true})
	require.NoError(t, err)
	requireWarehouseEqualsTruth(t, srv, conn, cfg.ClickHouse.Database, grans, initialDays)
	st := srv.TaskStats()
	require.Equal(t, 2*st.Created, st.NotReady)
	require.Equal(t, st.Created, st.FilesCut)
	require.Equal(t, 2*st.Created, st.Files)
	// The aborted load windows left nothing behind.
	db := cfg.ClickHouse.Database
	require.Equal(t, count(t, conn, "SELECT count() FROM "+db+".ad_stats_hourly"), count(t, conn, "SELECT count() FROM "+db+".load_ad_stats_hourly"))
}

// cancelOnCheck cancels a context when the simulator has answered n task
// checks: a cancellation while tasks are running, without timing guesses.
type cancelOnCheck struct {
	next   http.Handler
	n      int64
	seen   atomic.Int64
	cancel context.CancelFunc
}

func (c *cancelOnCheck) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.next.ServeHTTP(w, r)
	if strings.HasSuffix(r.URL.Path, "report/task/check/") && c.seen.Add(1) == c.n {
		c.cancel()
	}
}

// TestAsyncCancellation cancels a run while its tasks are processing: the
// run ends with context.Canceled, every task it created is cancelled at
// TikTok, nothing is loaded and no checkpoint moves.
func TestAsyncCancellation(t *testing.T) {
	sc := simConfig()
	sc.Tasks = tiktoksim.TaskConfig{ProcessingChecks: 1 << 30}
	sim := tiktoksim.New(sc)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := &cancelOnCheck{next: sim, n: 20, cancel: cancel}
	ts := httptest.NewServer(h)
	defer ts.Close()
	conn, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
	s := newTaskSyncer(t, tiktoksim.BaseURLFor(ts.URL), sim.AccessToken(), conn, cfg, []tiktok.Granularity{tiktok.Daily}, 8, nil, sim.Now)
	_, err := s.Run(ctx, sim.AdvertiserIDs(), extract.Job{Name: "sync", Entities: true, Stats: true})
	require.ErrorIs(t, err, context.Canceled)
	st := sim.TaskStats()
	require.NotZero(t, st.Created)
	require.Equal(t, st.Created, st.Canceled, "every task left running was cancelled")
	db := cfg.ClickHouse.Database
	for _, l := range allLevels {
		require.Zero(t, count(t, conn, fmt.Sprintf("SELECT count() FROM %s.%s_stats_daily", db, l.Name())))
	}
	require.Empty(t, checkpoints(t, conn, db))
}

// TestAsyncUnavailable: an app without asynchronous reports (TikTok answers
// 40001 to task creation). A 40067 window falls back to being split and
// still reaches the truth; a count-based choice falls back to the
// synchronous report, fine when it is not truncated; a truncated report
// fails its windows with an error that says why, loading nothing.
func TestAsyncUnavailable(t *testing.T) {
	grans := []tiktok.Granularity{tiktok.Daily}
	tests := []struct {
		name      string
		sim       func(*tiktoksim.Config)
		threshold int
		fail      string
	}{
		{name: "40067 splits", sim: func(c *tiktoksim.Config) { c.SyncMaxRows = 15 }},
		{name: "count falls back", threshold: 8},
		{name: "truncated fails", sim: func(c *tiktoksim.Config) { c.SyncMaxAds = 5 }, fail: "truncated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := simConfig()
			sc.Tasks = tiktoksim.TaskConfig{Disabled: true}
			if tc.sim != nil {
				tc.sim(&sc)
			}
			srv := simtest.Start(t, sc)
			conn, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
			s := newTaskSyncer(t, srv.BaseURL(), srv.AccessToken(), conn, cfg, grans, tc.threshold, nil, srv.Now)
			res, err := s.Run(context.Background(), srv.AdvertiserIDs(), extract.Job{Name: "sync", Entities: true, Stats: true})
			st := srv.TaskStats()
			require.Zero(t, st.Created)
			// Asked by the streams already running, then remembered.
			require.NotZero(t, st.Refused)
			require.LessOrEqual(t, st.Refused, uint64(4), "asked again after TikTok refused")
			if tc.fail == "" {
				require.NoError(t, err)
				requireWarehouseEqualsTruth(t, srv, conn, cfg.ClickHouse.Database, grans, initialDays)
				if tc.sim != nil {
					require.NotZero(t, srv.Stats().Faults.QueryTooLarge, "no window was too large: the case tests nothing")
				}
				return
			}
			require.Error(t, err)
			all := errors.Join(res.Errors...)
			require.ErrorIs(t, all, tiktok.ErrReportTruncated)
			require.NotErrorIs(t, all, tiktok.ErrAuth, "a refused task must not stop the run as an auth error")
			require.Contains(t, err.Error(), "not available to this app")
			db := cfg.ClickHouse.Database
			require.Zero(t, count(t, conn, "SELECT count() FROM "+db+".ad_stats_daily"))
			require.Empty(t, checkpoints(t, conn, db))
		})
	}
}

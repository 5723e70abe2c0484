package extract_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim/simtest"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/schema"
)

func TestMineSplitsAdvertisersStably(t *testing.T) {
	const workers = 3
	owners := map[string]int{}
	for i := range 3000 {
		id := fmt.Sprintf("70%017d", i)
		n := 0
		for w := range workers {
			if extract.Mine(id, w, workers) {
				owners[id] = w
				n++
			}
		}
		require.Equal(t, 1, n, "advertiser %s must have exactly one owner", id)
	}
	counts := make([]int, workers)
	for _, w := range owners {
		counts[w]++
	}
	for w, c := range counts {
		require.InDelta(t, 1000, c, 150, "worker %d owns %d of 3000", w, c)
	}
	require.True(t, extract.Mine("anything", 0, 1))
}

// TestShardedWorkersCoverTheAccount runs two workers over one warehouse, as
// two daemons sharing an agency account would: together they load everything.
func TestShardedWorkersCoverTheAccount(t *testing.T) {
	ctx := context.Background()
	sc := simConfig()
	sc.Advertisers = 6
	srv := simtest.Start(t, sc)
	conn, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
	total := 0
	for w := range 2 {
		api, err := tiktok.New(tiktok.Options{BaseURL: srv.BaseURL(), AccessToken: srv.AccessToken(),
			Limiter: tiktok.NewLimiter(tiktok.LimiterConfig{QPS: 1000, QPM: 60000})})
		require.NoError(t, err)
		s := extract.New(api, load.New(conn, load.Options{Target: schema.Target{Database: cfg.ClickHouse.Database}}), conn, extract.Options{
			Target: schema.Target{Database: cfg.ClickHouse.Database}, Levels: allLevels, Granularities: []tiktok.Granularity{tiktok.Daily},
			LookbackDays: 7, InitialDays: 5, Concurrency: 2, Now: srv.Now, WorkerIndex: w, WorkerCount: 2,
		})
		res, err := s.Run(ctx, srv.AdvertiserIDs(), extract.Job{Name: "sync", Entities: true, Stats: true})
		require.NoError(t, err)
		require.Less(t, res.Advertisers, 6, "worker %d took only its share", w)
		total += res.Advertisers
	}
	require.Equal(t, 6, total)
	requireWarehouseEqualsTruth(t, srv, conn, cfg.ClickHouse.Database, []tiktok.Granularity{tiktok.Daily}, 5)
}

// TestBackfillResumes cuts a backfill short and runs it again: the second run
// skips the windows the first one finished, and the result is complete.
func TestBackfillResumes(t *testing.T) {
	ctx := context.Background()
	srv := simtest.Start(t, simConfig())
	conn, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
	progress := &extract.Progress{}
	s := newSyncerWith(t, srv, conn, cfg, []tiktok.Granularity{tiktok.Daily, tiktok.Hourly}, 30, progress)
	today := tiktok.DateOf(srv.Now())
	job := extract.Backfill(today.AddDays(-9), today.AddDays(-2))

	cut, cancel := context.WithCancel(ctx)
	go func() {
		for progress.Snapshot().WindowsDone < 20 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	_, err := s.Run(cut, srv.AdvertiserIDs(), job)
	require.ErrorIs(t, err, context.Canceled)
	first := progress.Snapshot()

	srv.ResetStats()
	res, err := s.Run(ctx, srv.AdvertiserIDs(), job)
	require.NoError(t, err)
	// 3 advertisers × 4 levels × (1 daily + 8 hourly) windows in all.
	const all = 3 * 4 * (1 + 8)
	require.Less(t, res.Windows, all, "the resumed run skipped finished windows")
	t.Logf("first run finished %d windows before the cut; the resumed run pulled %d of %d", first.WindowsDone, res.Windows, all)
	for _, adv := range srv.AdvertiserIDs() {
		for _, g := range []tiktok.Granularity{tiktok.Daily, tiktok.Hourly} {
			for _, l := range allLevels {
				from, to := today.AddDays(-9), today.AddDays(-2)
				require.Equal(t, truthRows(t, srv, adv, l, g, from, to), warehouseRows(t, conn, cfg.ClickHouse.Database, adv, l, g, from, to))
			}
		}
	}
}

// TestTodayFirstDoesNotSkipHistory: when the hourly today job runs before any
// full sync, the next sync still pulls the initial history.
func TestTodayFirstDoesNotSkipHistory(t *testing.T) {
	ctx := context.Background()
	srv := simtest.Start(t, simConfig())
	conn, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
	s := newSyncer(t, srv, conn, cfg, []tiktok.Granularity{tiktok.Daily}, 10)
	_, err := s.Run(ctx, srv.AdvertiserIDs(), extract.Job{Name: "today", Stats: true, TodayOnly: true})
	require.NoError(t, err)
	var checkpoints uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM "+cfg.ClickHouse.Database+".sync_checkpoints").Scan(&checkpoints))
	require.Zero(t, checkpoints, "today alone claims no checkpoint")
	_, err = s.Run(ctx, srv.AdvertiserIDs(), extract.Job{Name: "sync", Entities: true, Stats: true})
	require.NoError(t, err)
	requireWarehouseEqualsTruth(t, srv, conn, cfg.ClickHouse.Database, []tiktok.Granularity{tiktok.Daily}, 10)
}

// TestZeroLookbackStillCompletesToday: the checkpoint claims only finished
// days, so even without a lookback the day that was still running at the
// last sync is pulled again, complete.
func TestZeroLookbackStillCompletesToday(t *testing.T) {
	ctx := context.Background()
	sc := simConfig()
	sc.RestatementDays = -1 // only today's incompleteness, no attribution changes
	srv := simtest.Start(t, sc)
	conn, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
	api, err := tiktok.New(tiktok.Options{BaseURL: srv.BaseURL(), AccessToken: srv.AccessToken(),
		Limiter: tiktok.NewLimiter(tiktok.LimiterConfig{QPS: 1000, QPM: 60000})})
	require.NoError(t, err)
	s := extract.New(api, load.New(conn, load.Options{Target: schema.Target{Database: cfg.ClickHouse.Database}}), conn, extract.Options{
		Target: schema.Target{Database: cfg.ClickHouse.Database}, Levels: allLevels, Granularities: []tiktok.Granularity{tiktok.Daily},
		LookbackDays: 0, InitialDays: 3, Concurrency: 2, Now: srv.Now,
	})
	job := extract.Job{Name: "sync", Entities: true, Stats: true}
	_, err = s.Run(ctx, srv.AdvertiserIDs(), job)
	require.NoError(t, err)
	srv.Advance(24 * time.Hour)
	_, err = s.Run(ctx, srv.AdvertiserIDs(), job)
	require.NoError(t, err)
	requireWarehouseEqualsTruth(t, srv, conn, cfg.ClickHouse.Database, []tiktok.Granularity{tiktok.Daily}, 4)
}

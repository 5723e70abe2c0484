package extract_test

import (
	"context"
	"errors"
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
	"github.com/adhouse/adhouse/queries"
	"github.com/adhouse/adhouse/schema"
)

// TestRunRefreshesMaterialisedTables: a sync, an entities-only run and a
// restating sync a day later each end with the materialised BI tables equal
// to their live definitions, row for row, with nothing pending; a failed
// refresh is a failed part of the run, and the next run's refresh catches up.
func TestRunRefreshesMaterialisedTables(t *testing.T) {
	ctx := context.Background()
	srv := simtest.Start(t, simConfig())
	conn, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
	db := cfg.ClickHouse.Database
	target := schema.Target{Database: db}
	r := queries.NewRefresher(conn, target, queries.RefreshOptions{})
	var refreshes int
	var fail error
	api, err := tiktok.New(tiktok.Options{
		BaseURL: srv.BaseURL(), AccessToken: srv.AccessToken(),
		Limiter:    tiktok.NewLimiter(tiktok.LimiterConfig{QPS: 1000, QPM: 60000, AppPause: 10 * time.Millisecond, AdvertiserPause: 10 * time.Millisecond}),
		MaxRetries: 12, BackoffBase: time.Millisecond, BackoffMax: 20 * time.Millisecond, Timeout: 5 * time.Second,
	})
	require.NoError(t, err)
	s := extract.New(api, load.New(conn, load.Options{Target: target, BatchSize: 500}), conn, extract.Options{
		Target: target, Levels: allLevels, Granularities: []tiktok.Granularity{tiktok.Daily, tiktok.Hourly},
		LookbackDays: 7, InitialDays: 10, WindowDays: 30, Concurrency: 4, Now: srv.Now,
		Refresh: func(ctx context.Context) error {
			refreshes++
			if fail != nil {
				return fail
			}
			_, err := r.Refresh(ctx)
			return err
		},
	})
	exact := func(step string) {
		t.Helper()
		pending, err := r.Pending(ctx)
		require.NoError(t, err)
		for _, p := range pending {
			require.Zero(t, p.Days, "%s: %s", step, p.Table)
		}
		for _, m := range queries.MaterialisedTables() {
			var diff, n uint64
			require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf(`SELECT
    (SELECT count() FROM (SELECT * EXCEPT (window_version) FROM %[1]s.%[2]s EXCEPT SELECT * FROM %[1]s.%[3]s)) +
    (SELECT count() FROM (SELECT * FROM %[1]s.%[3]s EXCEPT SELECT * EXCEPT (window_version) FROM %[1]s.%[2]s)),
    (SELECT count() FROM %[1]s.%[2]s)`, db, m.Name(), m.Live())).Scan(&diff, &n))
			require.Zero(t, diff, "%s: %s differs from %s", step, m.Name(), m.Live())
			require.Positive(t, n, "%s: %s is empty", step, m.Name())
		}
	}

	job := extract.Job{Name: "sync", Entities: true, Stats: true}
	_, err = s.Run(ctx, srv.AdvertiserIDs(), job)
	require.NoError(t, err)
	require.Equal(t, 1, refreshes)
	exact("first sync")

	_, err = s.Run(ctx, srv.AdvertiserIDs(), extract.Job{Name: "entities", Entities: true})
	require.NoError(t, err)
	require.Equal(t, 2, refreshes, "an entities-only run refreshes too (names)")
	exact("entities")

	srv.Advance(24 * time.Hour)
	fail = errors.New("warehouse busy")
	res, err := s.Run(ctx, srv.AdvertiserIDs(), job)
	require.ErrorContains(t, err, "materialised BI tables: warehouse busy")
	require.Len(t, res.Succeeded, 3, "the advertisers' data is committed; only the refresh failed")
	pending, err := r.Pending(ctx)
	require.NoError(t, err)
	stale := 0
	for _, p := range pending {
		stale += p.Days
	}
	require.Positive(t, stale, "the restated days are pending")

	fail = nil
	_, err = s.Run(ctx, srv.AdvertiserIDs(), extract.Job{Name: "today", Stats: true, TodayOnly: true})
	require.NoError(t, err)
	exact("the next run caught up")
}

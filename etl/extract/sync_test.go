package extract_test

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim/simtest"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/queries"
	"github.com/adhouse/adhouse/schema"
)

var allLevels = []tiktok.Level{tiktok.LevelAdvertiser, tiktok.LevelCampaign, tiktok.LevelAdGroup, tiktok.LevelAd}

// simConfig is a small multi-advertiser account whose attributed metrics keep
// changing for 5 days, with data up to a fixed clock.
func simConfig() tiktoksim.Config {
	return tiktoksim.Config{
		Seed: 42, Advertisers: 3, CampaignsPerAdvertiser: 2, AdGroupsPerCampaign: 2, AdsPerAdGroup: 2,
		StartDate: tiktok.NewDate(2026, 8, 1), Days: 60, RestatementDays: 5,
	}
}

func newSyncer(t *testing.T, srv *tiktoksim.Server, conn driver.Conn, cfg config.Config, grans []tiktok.Granularity, initial int) *extract.Syncer {
	t.Helper()
	return newSyncerWith(t, srv, conn, cfg, grans, initial, nil)
}

func newSyncerWith(t *testing.T, srv *tiktoksim.Server, conn driver.Conn, cfg config.Config, grans []tiktok.Granularity, initial int, progress *extract.Progress) *extract.Syncer {
	t.Helper()
	api, err := tiktok.New(tiktok.Options{
		BaseURL: srv.BaseURL(), AccessToken: srv.AccessToken(),
		Limiter:    tiktok.NewLimiter(tiktok.LimiterConfig{QPS: 1000, QPM: 60000, AppPause: 10 * time.Millisecond, AdvertiserPause: 10 * time.Millisecond}),
		MaxRetries: 12, BackoffBase: time.Millisecond, BackoffMax: 20 * time.Millisecond, Timeout: 5 * time.Second,
	})
	require.NoError(t, err)
	loader := load.New(conn, load.Options{Target: schema.Target{Database: cfg.ClickHouse.Database}, BatchSize: 500, MaxRetries: 3, RetryBackoff: 10 * time.Millisecond})
	return extract.New(api, loader, conn, extract.Options{
		Target: schema.Target{Database: cfg.ClickHouse.Database}, Levels: allLevels, Granularities: grans,
		LookbackDays: 7, InitialDays: initial, WindowDays: 30, Concurrency: 4, Now: srv.Now, Progress: progress,
		Refresh: queries.NewRefresher(conn, schema.Target{Database: cfg.ClickHouse.Database}, queries.RefreshOptions{}).AfterRun,
	})
}

// canonical renders one row's identity (with the UTC instant an hourly row
// starts, which tells the two occurrences of a repeated hour apart) and its
// value of every catalog column (schema.StatColumns) the same way for the
// simulator's truth and for the warehouse: decimals compare numerically,
// NULL is "-".
func canonical(level tiktok.Level, id string, date tiktok.Date, hour int, start time.Time, values []string) string {
	return fmt.Sprintf("%s|%s|%s|%02d|%s|%s", level.Name(), id, date, hour, start.UTC().Format(time.RFC3339), strings.Join(values, "|"))
}

func truthRows(t *testing.T, srv *tiktoksim.Server, adv string, l tiktok.Level, g tiktok.Granularity, from, to tiktok.Date) []string {
	t.Helper()
	rows, err := srv.Truth(adv, l, g, from, to)
	require.NoError(t, err)
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		values := make([]string, len(schema.StatColumns))
		for i, c := range schema.StatColumns {
			if d, ok := r.Metrics.Decimal(c.Metric); ok {
				values[i] = "-"
				if d.Valid {
					values[i] = d.Decimal.String()
				}
				continue
			}
			n, ok := r.Metrics.Count(c.Metric)
			require.True(t, ok, "metric %s", c.Metric)
			values[i] = n.String()
		}
		var start time.Time
		if g == tiktok.Hourly {
			start = r.StartUTC
		}
		out = append(out, canonical(l, r.EntityID, r.Date, r.Hour, start, values))
	}
	sort.Strings(out)
	return out
}

func warehouseRows(t *testing.T, conn driver.Conn, db, adv string, l tiktok.Level, g tiktok.Granularity, from, to tiktok.Date) []string {
	t.Helper()
	id := "advertiser_id"
	if l != tiktok.LevelAdvertiser {
		id = l.IDDimension()
	}
	hour, start := "0", "toDateTime(0, 'UTC')"
	if g == tiktok.Hourly {
		hour, start = "stat_hour", "stat_time_utc"
	}
	q := fmt.Sprintf(`SELECT %s, stat_date, toInt64(%s), %s, %s
FROM %s.%s_stats_%s WHERE advertiser_id = ? AND stat_date BETWEEN ? AND ?`, id, hour, start, strings.Join(schema.StatColumnNames(), ", "),
		db, l.Name(), g.Name())
	rows, err := conn.Query(context.Background(), q, adv, from.Time(), to.Time())
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var (
			eid         string
			date, begin time.Time
			h           int64
		)
		dest := []any{&eid, &date, &h, &begin}
		for _, c := range schema.StatColumns {
			if c.Type() == "Nullable(UInt64)" {
				dest = append(dest, new(*uint64))
			} else {
				dest = append(dest, new(*decimal.Decimal))
			}
		}
		require.NoError(t, rows.Scan(dest...))
		values := make([]string, len(schema.StatColumns))
		for i, d := range dest[4:] {
			values[i] = "-"
			switch v := d.(type) {
			case **uint64:
				if *v != nil {
					values[i] = strconv.FormatUint(**v, 10)
				}
			case **decimal.Decimal:
				if *v != nil {
					values[i] = (*v).String()
				}
			}
		}
		if g != tiktok.Hourly {
			begin = time.Time{}
		}
		out = append(out, canonical(l, eid, tiktok.DateOf(date), int(h), begin, values))
	}
	require.NoError(t, rows.Err())
	sort.Strings(out)
	return out
}

// requireWarehouseEqualsTruth compares every row and every value of every
// stream over [today-days+1, today] in each advertiser's timezone.
func requireWarehouseEqualsTruth(t *testing.T, srv *tiktoksim.Server, conn driver.Conn, db string, grans []tiktok.Granularity, days int) int {
	t.Helper()
	compared := 0
	for _, adv := range srv.AdvertiserIDs() {
		info, ok := srv.Advertiser(adv)
		require.True(t, ok)
		loc, err := info.Location()
		require.NoError(t, err)
		today := tiktok.DateOf(srv.Now().In(loc))
		from := today.AddDays(1 - days)
		for _, g := range grans {
			for _, l := range allLevels {
				want := truthRows(t, srv, adv, l, g, from, today)
				got := warehouseRows(t, conn, db, adv, l, g, from, today)
				require.NotEmpty(t, want)
				require.Equal(t, want, got, "advertiser %s %s %s %s..%s", adv, l.Name(), g.Name(), from, today)
				compared += len(want)
			}
		}
	}
	return compared
}

func TestSyncEqualsSimulatorTruthWithRestatement(t *testing.T) {
	warehousetest.ForEachProtocol(t, func(t *testing.T, proto config.Protocol) {
		ctx := context.Background()
		srv := simtest.Start(t, simConfig())
		conn, cfg := warehousetest.Migrated(t, proto)
		grans := []tiktok.Granularity{tiktok.Daily, tiktok.Hourly}
		s := newSyncer(t, srv, conn, cfg, grans, 10)
		job := extract.Job{Name: "sync", Entities: true, Stats: true}

		res, err := s.Run(ctx, srv.AdvertiserIDs(), job)
		require.NoError(t, err)
		require.Equal(t, 3, res.Advertisers)
		n := requireWarehouseEqualsTruth(t, srv, conn, cfg.ClickHouse.Database, grans, 10)
		t.Logf("first sync: %d rows, %d API calls; %d rows compared", res.Rows, res.APICalls, n)

		// A day later attribution has restated the recent days; the second sync
		// re-pulls the lookback and the warehouse equals the new truth exactly.
		before := warehouseRows(t, conn, cfg.ClickHouse.Database, srv.AdvertiserIDs()[0], tiktok.LevelAd, tiktok.Daily,
			tiktok.DateOf(srv.Now()).AddDays(-3), tiktok.DateOf(srv.Now()).AddDays(-1))
		srv.Advance(24 * time.Hour)
		res, err = s.Run(ctx, srv.AdvertiserIDs(), job)
		require.NoError(t, err)
		after := warehouseRows(t, conn, cfg.ClickHouse.Database, srv.AdvertiserIDs()[0], tiktok.LevelAd, tiktok.Daily,
			tiktok.DateOf(srv.Now()).AddDays(-4), tiktok.DateOf(srv.Now()).AddDays(-2))
		require.NotEqual(t, before, after, "restated days changed")
		n = requireWarehouseEqualsTruth(t, srv, conn, cfg.ClickHouse.Database, grans, 11)
		t.Logf("second sync: %d rows, %d API calls; %d rows compared", res.Rows, res.APICalls, n)

		// Entities, checkpoints, the run log and reconciliation were written.
		db := cfg.ClickHouse.Database
		var ads, checkpoints, okRuns, recon uint64
		require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM "+db+".ads FINAL").Scan(&ads))
		require.Equal(t, uint64(3*2*2*2), ads)
		require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM (SELECT DISTINCT advertiser_id, level, granularity FROM "+db+".sync_checkpoints)").Scan(&checkpoints))
		require.Equal(t, uint64(3*4*2), checkpoints)
		require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM "+db+".sync_runs WHERE outcome = 'ok' AND api_calls > 0").Scan(&okRuns))
		require.NotZero(t, okRuns)
		require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM "+db+".reconciliation FINAL WHERE spend != advertiser_spend").Scan(&recon))
		require.Zero(t, recon, "the simulator's levels add up exactly")

		// Superseded versions of re-pulled days were pruned: storage holds one copy.
		for _, view := range []string{"ad_stats_daily", "campaign_stats_hourly"} {
			var stored, visible uint64
			require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM "+db+".load_"+view).Scan(&stored))
			require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM "+db+"."+view).Scan(&visible))
			require.Equal(t, visible, stored, "%s holds only the committed copy", view)
		}
	})
}

package extract_test

import (
	"context"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim/simtest"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/schema"
)

// dayTotals is one day's spend, impressions and clicks of a level.
type dayTotals struct {
	spend       decimal.Decimal
	impressions int64
	clicks      int64
}

func truthByDay(t *testing.T, srv *tiktoksim.Server, adv string, l tiktok.Level, g tiktok.Granularity, from, to tiktok.Date) map[tiktok.Date]dayTotals {
	t.Helper()
	rows, err := srv.Truth(adv, l, g, from, to)
	require.NoError(t, err)
	out := map[tiktok.Date]dayTotals{}
	for _, r := range rows {
		d := out[r.Date]
		if r.Metrics.Spend.Valid {
			d.spend = d.spend.Add(r.Metrics.Spend.Decimal)
		}
		d.impressions += int64(r.Metrics.Impressions.Uint64)
		d.clicks += int64(r.Metrics.Clicks.Uint64)
		out[r.Date] = d
	}
	return out
}

// expectedImbalances applies the documented rule to the simulator's truth:
// a finished day is out of balance when a level's spend differs from the
// advertiser's by more than the tolerance, or its impressions or clicks differ.
func expectedImbalances(t *testing.T, srv *tiktoksim.Server, g tiktok.Granularity, days int, tolerance decimal.Decimal) []extract.Imbalance {
	t.Helper()
	var want []extract.Imbalance
	for _, adv := range srv.AdvertiserIDs() {
		info, ok := srv.Advertiser(adv)
		require.True(t, ok)
		loc, err := info.Location()
		require.NoError(t, err)
		today := tiktok.DateOf(srv.Now().In(loc))
		from, to := today.AddDays(1-days), today.AddDays(-1)
		total := truthByDay(t, srv, adv, tiktok.LevelAdvertiser, g, from, to)
		for _, l := range []tiktok.Level{tiktok.LevelAd, tiktok.LevelAdGroup, tiktok.LevelCampaign} {
			level := truthByDay(t, srv, adv, l, g, from, to)
			var im *extract.Imbalance
			for d := from; !d.After(to); d = d.AddDays(1) {
				a, b := level[d], total[d]
				diff := a.spend.Sub(b.spend)
				if diff.Abs().LessThanOrEqual(tolerance) && a.impressions == b.impressions && a.clicks == b.clicks {
					continue
				}
				if im == nil {
					want = append(want, extract.Imbalance{AdvertiserID: adv, Level: l.Name(), Granularity: g.Name(), Currency: info.Currency, From: d})
					im = &want[len(want)-1]
				}
				im.Days++
				im.To = d
				im.Spend = im.Spend.Add(diff)
				im.Impressions += a.impressions - b.impressions
				im.Clicks += a.clicks - b.clicks
			}
		}
	}
	return want
}

// TestReconciliationReportsPurgedAds: TikTok drops deleted ads it has purged
// from ad-level reports (even with STATUS_ALL) but keeps their delivery in the
// account totals. A sync reports, per advertiser and level, exactly the days
// and amounts the simulator's truth says are missing, names the likely cause,
// and finds nothing when the levels add up.
func TestReconciliationReportsPurgedAds(t *testing.T) {
	ctx := context.Background()
	sc := simConfig()
	sc.PurgeDeletedAds = true
	srv := simtest.Start(t, sc)
	conn, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
	grans := []tiktok.Granularity{tiktok.Daily}
	s := newSyncer(t, srv, conn, cfg, grans, 30)
	res, err := s.Run(ctx, srv.AdvertiserIDs(), extract.Job{Name: "sync", Entities: true, Stats: true})
	require.NoError(t, err)
	requireWarehouseEqualsTruth(t, srv, conn, cfg.ClickHouse.Database, grans, 30)

	tolerance := decimal.RequireFromString(extract.DefaultReconcileTolerance)
	want := expectedImbalances(t, srv, tiktok.Daily, 30, tolerance)
	require.NotEmpty(t, want, "the simulated account has purged ads that delivered")
	got := res.Reconciliation
	require.Len(t, got, len(want), "got %v", got)
	for i := range want {
		w, g := want[i], got[i]
		require.Equal(t, "ad", g.Level, "only the ad level loses the purged ads")
		require.Equal(t, extract.CauseDeleted, g.Cause)
		require.True(t, g.Spend.IsNegative())
		require.True(t, w.Spend.Equal(g.Spend), "spend %s, want %s", g.Spend, w.Spend)
		g.Spend, g.Cause, w.Spend, w.Cause = decimal.Zero, "", decimal.Zero, ""
		require.Equal(t, w, g)
	}
	require.Contains(t, got[0].String(), "days out of balance")
	t.Logf("%d levels out of balance, e.g. %s", len(got), got[0])

	// The whole table, read as `adhouse reconcile` reads it, says the same.
	all, err := extract.Imbalances(ctx, conn, extract.ReconcileQuery{
		Target: schema.Target{Database: cfg.ClickHouse.Database}, Tolerance: tolerance, Now: srv.Now(),
	})
	require.NoError(t, err)
	require.Equal(t, got, all)

	// Limited to one advertiser and one day, the report holds that day only.
	one := got[0]
	only, err := extract.Imbalances(ctx, conn, extract.ReconcileQuery{
		Target: schema.Target{Database: cfg.ClickHouse.Database}, Advertisers: []string{one.AdvertiserID},
		From: one.From, To: one.From, Tolerance: tolerance, Now: srv.Now(),
	})
	require.NoError(t, err)
	require.Len(t, only, 1)
	require.Equal(t, 1, only[0].Days)
}

// TestReconciliationQuietWhenLevelsAddUp: without purged ads (deleted ads are
// pulled with STATUS_ALL) every level adds up and nothing is reported.
func TestReconciliationQuietWhenLevelsAddUp(t *testing.T) {
	ctx := context.Background()
	srv := simtest.Start(t, simConfig())
	conn, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
	s := newSyncer(t, srv, conn, cfg, []tiktok.Granularity{tiktok.Daily, tiktok.Hourly}, 10)
	res, err := s.Run(ctx, srv.AdvertiserIDs(), extract.Job{Name: "sync", Entities: true, Stats: true})
	require.NoError(t, err)
	require.Empty(t, res.Reconciliation)
	var days uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM "+cfg.ClickHouse.Database+".reconciliation FINAL").Scan(&days))
	require.NotZero(t, days, "every day was recorded")
}

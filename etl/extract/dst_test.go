package extract_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim/simtest"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
)

// TestHourlyAcrossDaylightSavingEqualsTruth syncs hourly and daily
// statistics over the days Europe/Berlin (and America/New_York) change their
// clocks and compares every row, with its UTC instant, with the simulator's
// truth. TikTok labels hours with the local wall clock: the spring day has
// no 02:00 row and 23 hours; the autumn day has two 02:00 rows per entity,
// one per occurrence, and 25 hours. The warehouse keeps both occurrences as
// two rows (one stat_hour, two stat_time_utc), neither merged nor lost, and
// every day's hours sum to the day.
func TestHourlyAcrossDaylightSavingEqualsTruth(t *testing.T) {
	ctx := context.Background()
	srv := simtest.Start(t, tiktoksim.Config{
		Seed: 42, Advertisers: 4, CampaignsPerAdvertiser: 2, AdGroupsPerCampaign: 2, AdsPerAdGroup: 2,
		StartDate: tiktok.NewDate(2026, 3, 1), Days: 250, RestatementDays: 5,
	})
	conn, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
	db := cfg.ClickHouse.Database
	grans := []tiktok.Granularity{tiktok.Daily, tiktok.Hourly}
	s := newSyncer(t, srv, conn, cfg, grans, 10)
	ranges := []tiktok.DateRange{
		{Start: tiktok.NewDate(2026, 3, 28), End: tiktok.NewDate(2026, 3, 30)},   // Europe/Berlin springs forward on the 29th
		{Start: tiktok.NewDate(2026, 10, 24), End: tiktok.NewDate(2026, 10, 26)}, // Europe/Berlin falls back on the 25th
		{Start: tiktok.NewDate(2026, 10, 31), End: tiktok.NewDate(2026, 11, 2)},  // America/New_York on 1 November
	}
	for i, r := range ranges {
		job := extract.Backfill(r.Start, r.End)
		job.Entities = i == 0
		_, err := s.Run(ctx, srv.AdvertiserIDs(), job)
		require.NoError(t, err)
	}

	compared := 0
	for _, adv := range srv.AdvertiserIDs() {
		for _, r := range ranges {
			for _, g := range grans {
				for _, l := range allLevels {
					want := truthRows(t, srv, adv, l, g, r.Start, r.End)
					got := warehouseRows(t, conn, db, adv, l, g, r.Start, r.End)
					require.NotEmpty(t, want)
					require.Equal(t, want, got, "advertiser %s %s %s %s..%s", adv, l.Name(), g.Name(), r.Start, r.End)
					compared += len(want)
				}
			}
		}
	}
	t.Logf("%d rows compared", compared)

	berlin, newYork := srv.AdvertiserIDs()[2], srv.AdvertiserIDs()[3]
	for _, tc := range []struct {
		adv     string
		day     tiktok.Date
		maxRows int
		hour    uint8    // the label skipped or repeated
		starts  []string // its UTC instants
	}{
		{berlin, tiktok.NewDate(2026, 3, 29), 23, 2, nil},
		{berlin, tiktok.NewDate(2026, 10, 25), 25, 2, []string{"2026-10-25 00:00:00", "2026-10-25 01:00:00"}},
		{newYork, tiktok.NewDate(2026, 11, 1), 25, 1, []string{"2026-11-01 05:00:00", "2026-11-01 06:00:00"}},
	} {
		truth, err := srv.Truth(tc.adv, tiktok.LevelAdvertiser, tiktok.Hourly, tc.day, tc.day)
		require.NoError(t, err)
		require.LessOrEqual(t, len(truth), tc.maxRows)
		for _, view := range []string{"advertiser_stats_hourly", "bi_advertiser_hourly"} {
			var hours, distinct uint64
			var starts []string
			require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf(`SELECT count(), uniqExact(stat_time_utc),
    arraySort(groupArrayIf(toString(stat_time_utc), stat_hour = ?))
FROM %s.%s WHERE advertiser_id = ? AND stat_date = ?`, db, view), tc.hour, tc.adv, tc.day.Time()).Scan(&hours, &distinct, &starts))
			require.Equal(t, uint64(len(truth)), hours, "%s %s: hours", view, tc.day)
			require.Equal(t, hours, distinct, "%s %s: every hour its own instant", view, tc.day)
			if tc.starts == nil {
				tc.starts = []string{}
			}
			require.Equal(t, tc.starts, starts, "%s %s: the %02d:00 rows", view, tc.day, tc.hour)
		}
	}

	// At every level, each day's hours add up to the day.
	for _, l := range allLevels {
		var off uint64
		require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf(`SELECT count() FROM (
    SELECT advertiser_id, stat_date, sum(spend) AS spend, sum(impressions) AS impressions FROM %[1]s.%[2]s_stats_daily GROUP BY ALL) AS d
FULL JOIN (
    SELECT advertiser_id, stat_date, sum(spend) AS spend, sum(impressions) AS impressions FROM %[1]s.%[2]s_stats_hourly GROUP BY ALL) AS h
USING (advertiser_id, stat_date)
WHERE d.spend != h.spend OR d.impressions != h.impressions`, db, l.Name())).Scan(&off))
		require.Zero(t, off, "%s: days whose hours do not add up", l.Name())
	}
}

// TestHourlySyncThroughDaylightSavingChanges runs the scheduled job (sync
// from the checkpoint, not a backfill) for a Europe/Berlin advertiser the
// day before each clock change, two days after it, and once more at the
// same time: every run succeeds, the hourly checkpoint moves past the
// change (the repeated 02:00 of autumn is no pagination drift, the missing
// 02:00 of spring no gap), and the hours equal TikTok's truth with their
// instants.
func TestHourlySyncThroughDaylightSavingChanges(t *testing.T) {
	for _, tc := range []struct {
		name  string
		day   tiktok.Date // the change, Berlin time
		hours uint64
	}{
		{"spring forward", tiktok.NewDate(2026, 3, 29), 23},
		{"fall back", tiktok.NewDate(2026, 10, 25), 25},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			srv := simtest.Start(t, tiktoksim.Config{
				Seed: 42, Advertisers: 4, CampaignsPerAdvertiser: 2, AdGroupsPerCampaign: 2, AdsPerAdGroup: 2,
				StartDate: tiktok.NewDate(2026, 3, 1), Days: 250, RestatementDays: 5,
			})
			berlin := srv.AdvertiserIDs()[2]
			info, _ := srv.Advertiser(berlin)
			require.Equal(t, "Europe/Berlin", info.Timezone)
			conn, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
			db := cfg.ClickHouse.Database
			grans := []tiktok.Granularity{tiktok.Daily, tiktok.Hourly}
			s := newSyncer(t, srv, conn, cfg, grans, 3)
			job, err := extract.NamedJob("sync", true)
			require.NoError(t, err)
			for i, now := range []time.Time{
				tc.day.AddDays(-1).Time().Add(12 * time.Hour), // before the change
				tc.day.AddDays(2).Time().Add(12 * time.Hour),  // after it
				tc.day.AddDays(2).Time().Add(13 * time.Hour),  // and again
			} {
				srv.SetNow(now)
				res, err := s.Run(ctx, []string{berlin}, job)
				require.NoError(t, err, "run %d at %s", i+1, now)
				require.Equal(t, []string{berlin}, res.Succeeded)
			}
			for _, l := range allLevels {
				var through time.Time
				require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf(`SELECT argMax(through_date, version) FROM %s.sync_checkpoints
WHERE advertiser_id = ? AND level = ? AND granularity = 'hourly'`, db), berlin, l.Name()).Scan(&through))
				require.Equal(t, tc.day.AddDays(1), tiktok.DateOf(through), "%s hourly checkpoint past the change", l.Name())
				for _, g := range grans {
					from, to := tc.day.AddDays(-3), tc.day.AddDays(2)
					require.Equal(t, truthRows(t, srv, berlin, l, g, from, to), warehouseRows(t, conn, db, berlin, l, g, from, to),
						"%s %s %s..%s", l.Name(), g.Name(), from, to)
				}
			}
			var hours, instants uint64
			require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf(`SELECT count(), uniqExact(stat_time_utc)
FROM %s.advertiser_stats_hourly WHERE advertiser_id = ? AND stat_date = ?`, db), berlin, tc.day.Time()).Scan(&hours, &instants))
			require.Equal(t, tc.hours, hours, "hours on %s", tc.day)
			require.Equal(t, hours, instants, "every hour its own instant")
		})
	}
}

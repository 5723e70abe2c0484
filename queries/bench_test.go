package queries_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/queries"
	"github.com/adhouse/adhouse/schema"
)

// BenchmarkDailyCampaignView measures the median latency of a typical BI
// query — one month by campaign, with every metric as a ratio of the month's
// sums — on the materialised bi_campaign_daily and, as the baseline in the
// same run, the same query on the raw campaign statistics table without the
// committed-version filter and without the entity joins; and, for
// reference, on the live definition (live_bi_campaign_daily). Each size is a
// warehouse of N ad-day rows: 100 days of N/100 ads, 10 ads per campaign, in
// 20 advertisers (so N/10 campaign-day rows). After timing the queries it
// re-loads one advertiser's day at ad and campaign level (a new committed
// window) and times the refresh that rebuilds it: its cost follows the days
// re-loaded, not the table. Sizes come from ADHOUSE_BENCH_VIEW_ROWS (default
// 10000000,50000000). It waits for background merges to settle before
// timing. Run with -benchtime=1x: each iteration loads the data once and times
// each query 15 times.
func BenchmarkDailyCampaignView(b *testing.B) {
	sizes := []int{10_000_000, 50_000_000}
	if s := os.Getenv("ADHOUSE_BENCH_VIEW_ROWS"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			require.NoError(b, err, "ADHOUSE_BENCH_VIEW_ROWS")
			sizes = append(sizes, n)
		}
	}
	for _, rows := range sizes {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			for range b.N {
				benchView(b, rows)
			}
		})
	}
}

func benchView(b *testing.B, adDays int) {
	const (
		days        = 100
		adsPerCamp  = 10
		advertisers = 20
		runs        = 15
	)
	ads := adDays / days
	conn, cfg := setup(b, config.ProtocolNative)
	db := cfg.ClickHouse.Database
	ctx := context.Background()
	start := time.Now()
	exec := func(q string) {
		require.NoError(b, conn.Exec(ctx, strings.ReplaceAll(q, "{db}", db)))
	}
	// Ids: ad n belongs to campaign n/10, campaign c to advertiser c % 20;
	// row number r is day r / perDay, entity r % perDay. version tags a
	// re-load: its rows differ.
	stats := func(table, idCols, advExpr, idExprs string, perDay, from, to, version int, where string) string {
		return fmt.Sprintf(`INSERT INTO {db}.%s (advertiser_id, %s stat_date, timezone, currency, spend, impressions, clicks,
    conversion, app_install, real_time_app_install, complete_payment_value, load_version, loaded_at)
SELECT toString(%s), %s toDate('2024-01-01') + intDiv(number, %d), 'UTC', 'USD',
    toDecimal64((cityHash64(number, %d) %% 100000000) / 1000000, 6), cityHash64(number, 1) %% 50000,
    cityHash64(number, 2) %% 1000, cityHash64(number, 3) %% 50, cityHash64(number, 4) %% 100, cityHash64(number, 5) %% 100,
    toDecimal64((cityHash64(number, 6) %% 300000000) / 1000000, 6), %d, now64(3)
FROM (SELECT number, number %% %d AS n FROM numbers(%d, %d)) %s`, table, idCols, advExpr, idExprs, perDay, version, version, perDay, from*perDay, (to-from+1)*perDay, where)
	}
	adIDs := "toString(intDiv(n, 10)), toString(intDiv(n, 10)), toString(n),"
	commits := func(tbl string, perAdvDay, from, to, version int, adv string) string {
		return fmt.Sprintf(`INSERT INTO {db}.load_commits (table_name, advertiser_id, stat_date, window_version, batch_versions, row_count, window_from, window_to, run_id, committed_at)
SELECT '%[1]s', a, toDate('2024-01-01') + d, %[5]d, [%[5]d], %[2]d, toDate('2024-01-01') + %[3]d, toDate('2024-01-01') + %[4]d, 'bench', now64(3)
FROM (SELECT toString(number %% %[6]d) AS a, intDiv(number, %[6]d) + %[3]d AS d FROM numbers(%[6]d * (%[4]d - %[3]d + 1))) %[7]s`,
			tbl, perAdvDay, from, to, version, advertisers, adv)
	}
	exec(stats("load_ad_stats_daily", "campaign_id, adgroup_id, ad_id,", "intDiv(n, 10) % 20", adIDs, ads, 0, days-1, 1, ""))
	exec(stats("load_campaign_stats_daily", "campaign_id,", "n % 20", "toString(n),", ads/adsPerCamp, 0, days-1, 1, ""))
	exec(commits("load_ad_stats_daily", ads/advertisers, 0, days-1, 1, ""))
	exec(commits("load_campaign_stats_daily", ads/adsPerCamp/advertisers, 0, days-1, 1, ""))
	exec(fmt.Sprintf(`INSERT INTO {db}.campaigns (advertiser_id, campaign_id, campaign_name, load_version, loaded_at)
SELECT toString(number %% %d), toString(number), concat('Campaign ', toString(number)), 1, now64(3) FROM numbers(%d)`, advertisers, ads/adsPerCamp))
	exec(fmt.Sprintf(`INSERT INTO {db}.adgroups (advertiser_id, campaign_id, adgroup_id, adgroup_name, load_version, loaded_at)
SELECT toString(number %% %d), toString(number), toString(number), concat('Ad group ', toString(number)), 1, now64(3) FROM numbers(%d)`, advertisers, ads/adsPerCamp))
	exec(fmt.Sprintf(`INSERT INTO {db}.ads (advertiser_id, campaign_id, adgroup_id, ad_id, ad_name, load_version, loaded_at)
SELECT toString(intDiv(number, 10) %% %d), toString(intDiv(number, 10)), toString(intDiv(number, 10)), toString(number), concat('Ad ', toString(number)), 1, now64(3) FROM numbers(%d)`, advertisers, ads))
	exec(fmt.Sprintf(`INSERT INTO {db}.advertisers (advertiser_id, name, currency, timezone, load_version, loaded_at)
SELECT toString(number), concat('Advertiser ', toString(number)), 'USD', 'UTC', 1, now64(3) FROM numbers(%d)`, advertisers))
	seeded := time.Since(start)

	r := queries.NewRefresher(conn, schema.Target{Database: db}, queries.RefreshOptions{})
	res, err := r.Refresh(ctx)
	require.NoError(b, err)
	var n uint64
	require.NoError(b, conn.QueryRow(ctx, "SELECT count() FROM "+db+".bi_ad_daily").Scan(&n))
	require.Equal(b, uint64(ads*days), n)
	require.NoError(b, conn.QueryRow(ctx, "SELECT count() FROM "+db+".bi_campaign_daily").Scan(&n))
	require.Equal(b, uint64(ads/adsPerCamp*days), n)
	b.Logf("%d ad-day and %d campaign-day rows seeded in %s, materialised in %s (%d days, %d months)",
		ads*days, ads/adsPerCamp*days, seeded.Round(time.Millisecond), res.Took.Round(time.Millisecond), res.Days, res.Partitions)

	var sums []string
	for _, c := range queries.SumColumns {
		sums = append(sums, fmt.Sprintf("sum(%s) AS %s", c, c))
	}
	monthBy := func(from string) string {
		return fmt.Sprintf(`SELECT campaign_id, campaign_name, currency, spend, %s FROM (
    SELECT advertiser_id, campaign_id, %s AS campaign_name, currency, %s
    FROM %s WHERE stat_date BETWEEN '2024-02-01' AND '2024-02-29'
    GROUP BY advertiser_id, campaign_id, currency) ORDER BY campaign_id`,
			queries.MetricColumns(queries.TikTokColumns, ""), map[bool]string{true: "any(campaign_name)", false: "''"}[strings.Contains(from, "bi_")], strings.Join(sums, ", "), from)
	}
	warehousetest.AwaitMerges(b, conn, 3*time.Second) // the smaller size's data may still be merging
	m := medians(b, conn, runs, ads/adsPerCamp, monthBy(db+".bi_campaign_daily"), monthBy(db+".load_campaign_stats_daily"), monthBy(db+".live_bi_campaign_daily"))
	view, raw, live := m[0], m[1], m[2]
	b.ReportMetric(float64(view.Microseconds())/1000, "bi-median-ms")
	b.ReportMetric(float64(raw.Microseconds())/1000, "raw-median-ms")
	b.ReportMetric(float64(view)/float64(raw), "bi/raw")
	b.ReportMetric(float64(live)/float64(raw), "live/raw")

	// A one-day re-load of advertiser 7 at ad and campaign level, committed;
	// the refresh rebuilds that day in both tables, the BI query sees it.
	const day = 45 // 2024-02-15
	adv := "WHERE intDiv(n, 10) % 20 = 7"
	exec(stats("load_ad_stats_daily", "campaign_id, adgroup_id, ad_id,", "intDiv(n, 10) % 20", adIDs, ads, day, day, 2, adv))
	exec(stats("load_campaign_stats_daily", "campaign_id,", "n % 20", "toString(n),", ads/adsPerCamp, day, day, 2, "WHERE n % 20 = 7"))
	exec(commits("load_ad_stats_daily", ads/advertisers, day, day, 2, "WHERE a = '7'"))
	exec(commits("load_campaign_stats_daily", ads/adsPerCamp/advertisers, day, day, 2, "WHERE a = '7'"))
	res, err = r.Refresh(ctx)
	require.NoError(b, err)
	require.Equal(b, 2, res.Days, "one advertiser's day in two tables")
	var stale uint64
	require.NoError(b, conn.QueryRow(ctx, fmt.Sprintf(`SELECT count() FROM (SELECT * EXCEPT (window_version) FROM %[1]s.bi_campaign_daily WHERE stat_date = '2024-02-15'
    EXCEPT SELECT * FROM %[1]s.live_bi_campaign_daily WHERE stat_date = '2024-02-15')`, db)).Scan(&stale))
	require.Zero(b, stale, "the re-loaded day is rebuilt")
	b.ReportMetric(float64(res.Took.Microseconds())/1000, "rebuild-1-day-ms")
	b.ReportMetric(float64(res.Checking.Microseconds())/1000, "rebuild-checking-ms")
	b.Logf("rebuilt %d days in %d months in %s after a one-day re-load", res.Days, res.Partitions, res.Took.Round(time.Millisecond))
}

// medians runs each query the given times, in turns (so a passing load on
// the machine weighs on each alike), checks each returns the expected number
// of rows, and returns each one's median wall time.
func medians(b *testing.B, conn driver.Conn, runs, wantRows int, queries ...string) []time.Duration {
	b.Helper()
	ctx := context.Background()
	ts := make([][]time.Duration, len(queries))
	for range runs {
		for i, q := range queries {
			start := time.Now()
			rows, err := conn.Query(ctx, q)
			require.NoError(b, err)
			n := 0
			for rows.Next() {
				n++
			}
			require.NoError(b, rows.Err())
			rows.Close()
			ts[i] = append(ts[i], time.Since(start))
			require.Equal(b, wantRows, n)
		}
	}
	out := make([]time.Duration, len(queries))
	for i := range ts {
		slices.Sort(ts[i])
		out[i] = ts[i][len(ts[i])/2]
	}
	return out
}

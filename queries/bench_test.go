package queries_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/queries"
)

// BenchmarkDailyCampaignView measures the median latency of a typical BI
// query — one month by campaign, with every metric as a ratio of the month's
// sums — on bi_campaign_daily over a warehouse of 10,000,000 ad-day rows
// (100,000 ads × 100 days, 10 ads per campaign, so 1,000,000 campaign-day
// rows in 20 advertisers) and, as the baseline in the same run, the same
// query on the raw campaign statistics table without the committed-version
// filter and without the entity joins. It waits for background merges to
// settle before timing. Run with -benchtime=1x: each iteration loads the
// data once and times both queries 15 times.
func BenchmarkDailyCampaignView(b *testing.B) {
	const (
		ads         = 100_000
		days        = 100
		adsPerCamp  = 10
		advertisers = 20
		runs        = 15
	)
	for range b.N {
		conn, cfg := setup(b, config.ProtocolNative)
		db := cfg.ClickHouse.Database
		ctx := context.Background()
		start := time.Now()
		exec := func(q string) {
			require.NoError(b, conn.Exec(ctx, strings.ReplaceAll(q, "{db}", db)))
		}
		// Ids: ad n belongs to campaign n/10, campaign c to advertiser c % 20;
		// row number r is day r / perDay, entity r % perDay.
		stats := func(table, idCols, advExpr, idExprs string, perDay int) string {
			return fmt.Sprintf(`INSERT INTO {db}.%s (advertiser_id, %s stat_date, timezone, currency, spend, impressions, clicks,
    conversion, app_install, real_time_app_install, complete_payment_value, load_version, loaded_at)
SELECT toString(%s), %s toDate('2024-01-01') + intDiv(number, %d), 'UTC', 'USD',
    toDecimal64((cityHash64(number) %% 100000000) / 1000000, 6), cityHash64(number, 1) %% 50000,
    cityHash64(number, 2) %% 1000, cityHash64(number, 3) %% 50, cityHash64(number, 4) %% 100, cityHash64(number, 5) %% 100,
    toDecimal64((cityHash64(number, 6) %% 300000000) / 1000000, 6), 1, now64(3)
FROM (SELECT number, number %% %d AS n FROM numbers(%d))`, table, idCols, advExpr, idExprs, perDay, perDay, perDay*days)
		}
		exec(stats("load_ad_stats_daily", "campaign_id, adgroup_id, ad_id,", "intDiv(n, 10) % 20",
			"toString(intDiv(n, 10)), toString(intDiv(n, 10)), toString(n),", ads))
		exec(stats("load_campaign_stats_daily", "campaign_id,", "n % 20", "toString(n),", ads/adsPerCamp))
		for _, tbl := range []string{"load_ad_stats_daily", "load_campaign_stats_daily"} {
			exec(fmt.Sprintf(`INSERT INTO {db}.load_commits (table_name, advertiser_id, stat_date, window_version, batch_versions, row_count, window_from, window_to, run_id, committed_at)
SELECT '%s', toString(number %% %d), toDate('2024-01-01') + intDiv(number, %d), 1, [1], 0, '2024-01-01', '2024-04-09', 'bench', now64(3) FROM numbers(%d)`,
				tbl, advertisers, advertisers, advertisers*days))
		}
		exec(fmt.Sprintf(`INSERT INTO {db}.campaigns (advertiser_id, campaign_id, campaign_name, load_version, loaded_at)
SELECT toString(number %% %d), toString(number), concat('Campaign ', toString(number)), 1, now64(3) FROM numbers(%d)`, advertisers, ads/adsPerCamp))
		exec(fmt.Sprintf(`INSERT INTO {db}.advertisers (advertiser_id, name, currency, timezone, load_version, loaded_at)
SELECT toString(number), concat('Advertiser ', toString(number)), 'USD', 'UTC', 1, now64(3) FROM numbers(%d)`, advertisers))
		var n uint64
		require.NoError(b, conn.QueryRow(ctx, "SELECT count() FROM "+db+".ad_stats_daily").Scan(&n))
		require.Equal(b, uint64(ads*days), n)
		require.NoError(b, conn.QueryRow(ctx, "SELECT count() FROM "+db+".bi_campaign_daily").Scan(&n))
		require.Equal(b, uint64(ads/adsPerCamp*days), n)
		b.Logf("seeded %d ad-day and %d campaign-day rows in %s", ads*days, ads/adsPerCamp*days, time.Since(start).Round(time.Millisecond))

		var sums []string
		for _, c := range queries.SumColumns[:9] {
			sums = append(sums, fmt.Sprintf("sum(%s) AS %s", c, c))
		}
		monthBy := func(from string) string {
			return fmt.Sprintf(`SELECT campaign_id, campaign_name, currency, spend, %s FROM (
    SELECT advertiser_id, campaign_id, %s AS campaign_name, currency, %s
    FROM %s WHERE stat_date BETWEEN '2024-02-01' AND '2024-02-29'
    GROUP BY advertiser_id, campaign_id, currency) ORDER BY campaign_id`,
				queries.MetricColumns(queries.TikTokColumns, ""), map[bool]string{true: "any(campaign_name)", false: "''"}[strings.Contains(from, "bi_")], strings.Join(sums, ", "), from)
		}
		quiet(b, conn, db)
		view := median(b, conn, monthBy(db+".bi_campaign_daily"), runs, ads/adsPerCamp)
		raw := median(b, conn, monthBy(db+".load_campaign_stats_daily"), runs, ads/adsPerCamp)
		b.ReportMetric(float64(view.Microseconds())/1000, "view-median-ms")
		b.ReportMetric(float64(raw.Microseconds())/1000, "raw-median-ms")
		b.ReportMetric(float64(view)/float64(raw), "view/raw")
	}
}

// median runs q the given times, checks it returns the expected number of
// rows, and returns the median wall time.
func median(b *testing.B, conn driver.Conn, q string, runs, wantRows int) time.Duration {
	b.Helper()
	ctx := context.Background()
	var ts []time.Duration
	for range runs {
		start := time.Now()
		rows, err := conn.Query(ctx, q)
		require.NoError(b, err)
		n := 0
		for rows.Next() {
			n++
		}
		require.NoError(b, rows.Err())
		rows.Close()
		ts = append(ts, time.Since(start))
		require.Equal(b, wantRows, n)
	}
	slices.Sort(ts)
	return ts[len(ts)/2]
}

// quiet waits until no merge of the database has run for three seconds, so
// background merges of freshly inserted parts do not share the cores with
// the timed queries.
func quiet(b *testing.B, conn driver.Conn, db string) {
	b.Helper()
	for idle := 0; idle < 15; {
		var n uint64
		require.NoError(b, conn.QueryRow(context.Background(), "SELECT count() FROM system.merges WHERE database = ?", db).Scan(&n))
		if idle++; n > 0 {
			idle = 0
		}
		time.Sleep(200 * time.Millisecond)
	}
}

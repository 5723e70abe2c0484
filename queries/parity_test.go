package queries_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/metrics"
	"github.com/adhouse/adhouse/queries"
)

var parityAdvertisers = []advertiser{
	{"adv-usd", "Acme US", "USD", "America/New_York"},
	{"adv-eur", "Acme DE", "EUR", "Europe/Berlin"},
	{"adv-jpy", "Acme JP", "JPY", "Asia/Tokyo"},
	{"adv-brl", "Acme BR", "BRL", "Etc/GMT+3"},
}

var day0 = time.Date(2024, 2, 20, 0, 0, 0, 0, time.UTC)

// metricByName maps the BI views' metric columns to the Go metrics.
func metricByName(t testing.TB) map[string]metrics.Metric {
	t.Helper()
	out := map[string]metrics.Metric{}
	for _, m := range metrics.Metrics() {
		out[m.Name()] = m
	}
	for _, n := range queries.MetricNames() {
		require.Contains(t, out, n)
	}
	return out
}

// TestParity computes every metric for every ad-day row, and for grouped
// aggregates at several grains, in Go (metrics) and in ClickHouse (the BI views
// and queries.MetricSQL), and requires the same digits, the same NULLs and the
// same sums. 4 advertisers in 4 currencies × 1,000 ads × 25 days = 100,000
// ad-day rows, with the edge cases of genDataset.
func TestParity(t *testing.T) {
	ds := genDataset(1, parityAdvertisers, 5, 5, 40, day0, 25)
	require.Len(t, ds.levels["ad"], 100_000)
	byName := metricByName(t)
	names := queries.MetricNames()

	// The grouped aggregate query a caller writes with MetricSQL: sums at its
	// grain, metrics over them.
	var sums []string
	for _, c := range queries.SumColumns {
		sums = append(sums, fmt.Sprintf("sum(%s) AS %s", c, c))
	}
	adHoc := func(key, view string) string {
		return fmt.Sprintf(`SELECT k, spend, %s FROM (
    SELECT %s AS k, %s FROM {db}.%s GROUP BY k)`, queries.MetricColumns(queries.TikTokColumns, ""), key, strings.Join(sums, ", "), view)
	}
	fromView := func(key, view string) string {
		return fmt.Sprintf("SELECT %s AS k, spend, %s FROM {db}.%s", key, strings.Join(names, ", "), view)
	}
	dayKey := func(id func(*load.StatRow) string) func(*load.StatRow) string {
		return func(r *load.StatRow) string { return id(r) + "|" + r.Date.Format(time.DateOnly) }
	}
	ad := func(r *load.StatRow) string { return r.AdID }
	adgroup := func(r *load.StatRow) string { return r.AdGroupID }
	campaign := func(r *load.StatRow) string { return r.CampaignID }
	adv := func(r *load.StatRow) string { return r.AdvertiserID }
	month := func(r *load.StatRow) string { return r.CampaignID + "|" + r.Date.Format("2006-01") + "-01" }
	week := func(r *load.StatRow) string {
		monday := r.Date.AddDate(0, 0, -(int(r.Date.Weekday())+6)%7)
		return r.CampaignID + "|" + monday.Format(time.DateOnly)
	}
	cases := []struct {
		name  string
		query string
		key   func(*load.StatRow) string
		// undefined says the grain has groups whose metrics are NULL, so the
		// rule is exercised, not only NULL = NULL.
		undefined bool
	}{
		{"every ad-day row (bi_ad_daily)", fromView("concat(ad_id, '|', toString(stat_date))", "bi_ad_daily"), dayKey(ad), true},
		{"ad group × day (bi_adgroup_daily)", fromView("concat(adgroup_id, '|', toString(stat_date))", "bi_adgroup_daily"), dayKey(adgroup), true},
		{"campaign × day (bi_campaign_daily)", fromView("concat(campaign_id, '|', toString(stat_date))", "bi_campaign_daily"), dayKey(campaign), true},
		{"advertiser × day (bi_advertiser_daily)", fromView("concat(advertiser_id, '|', toString(stat_date))", "bi_advertiser_daily"), dayKey(adv), false},
		{"campaign × week (bi_campaign_weekly)", fromView("concat(campaign_id, '|', toString(period_start))", "bi_campaign_weekly"), week, false},
		{"campaign × month (bi_campaign_monthly)", fromView("concat(campaign_id, '|', toString(period_start))", "bi_campaign_monthly"), month, false},
		{"campaign × 25 days over ad rows (MetricSQL)", adHoc("campaign_id", "bi_ad_daily"), campaign, false},
		{"advertiser × 25 days over ad rows (MetricSQL)", adHoc("advertiser_id", "bi_ad_daily"), adv, false},
	}
	warehousetest.ForEachProtocol(t, func(t *testing.T, proto config.Protocol) {
		conn, cfg := setup(t, proto)
		start := time.Now()
		ds.load(t, conn, cfg)
		t.Logf("seeded %d ad-day rows (and their ad group, campaign and advertiser rows) in %s", len(ds.levels["ad"]), time.Since(start).Round(time.Millisecond))
		ctx := context.Background()
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				want := metrics.NewGrouped[string](1024)
				for _, r := range ds.levels["ad"] {
					row := goRow(t, r)
					require.NoError(t, want.Add(tc.key(r), &row))
				}
				rows, err := conn.Query(ctx, strings.ReplaceAll(tc.query, "{db}", cfg.ClickHouse.Database))
				require.NoError(t, err)
				defer rows.Close()
				got, compared, defined := 0, 0, 0
				for rows.Next() {
					var k string
					var spend *decimal.Decimal
					vals := make([]*decimal.Decimal, len(names))
					dest := []any{&k, &spend}
					for i := range vals {
						dest = append(dest, &vals[i])
					}
					require.NoError(t, rows.Scan(dest...))
					agg, ok := want.Get(k)
					require.True(t, ok, "SQL row %q has no Go counterpart", k)
					got++
					require.Equal(t, agg.Spend().String(), fixed(spend, metrics.AmountScale), "spend of %s", k)
					for i, n := range names {
						w := agg.Eval(byName[n])
						if w.Defined() {
							defined++
						}
						if g := fixed(vals[i], w.Scale()); g != w.String() {
							t.Fatalf("%s of %s: SQL %s, Go %s", n, k, g, w)
						}
						compared++
					}
				}
				require.NoError(t, rows.Err())
				require.Equal(t, want.Len(), got, "every Go group has one SQL row")
				require.Greater(t, defined, compared/2, "most values are defined, so the comparison is not NULL = NULL")
				if tc.undefined {
					require.Less(t, defined, compared, "some values are undefined, so the NULL rule is exercised")
				}
				t.Logf("%d rows × %d metrics: %d values identical (%d defined)", got, len(names), compared, defined)
			})
		}
	})
}

// fixed prints a scanned decimal with exactly scale digits, or NULL, like
// metrics.Value.String.
func fixed(d *decimal.Decimal, scale int32) string {
	if d == nil {
		return "NULL"
	}
	return d.StringFixed(scale)
}

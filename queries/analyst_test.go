package queries_test

import (
	"context"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/queries"
	"github.com/adhouse/adhouse/schema"
)

// analystData is two ISO weeks (2024-05-06 to 2024-05-19) of one advertiser:
// campaign c1 (ad a1) spends 10 a day for 30 of revenue, c2 (ad a2) 20 for
// 20, c3 (ad a3) 0.01 for 5 on few impressions. a1's CTR halves in the
// second week, a2's drops 5 %.
func analystData() map[string][]*load.StatRow {
	type ad struct {
		campaign, id          string
		spend, revenue        string
		imp, clicks1, clicks2 uint64
	}
	ads := []ad{
		{"c1", "a1", "10", "30", 1000, 20, 10},
		{"c2", "a2", "20", "20", 1000, 20, 19},
		{"c3", "a3", "0.01", "5", 100, 5, 1},
	}
	from := time.Date(2024, 5, 6, 0, 0, 0, 0, time.UTC)
	var rows []*load.StatRow
	for d := range 14 {
		for _, a := range ads {
			clicks := a.clicks1
			if d >= 7 {
				clicks = a.clicks2
			}
			r := &load.StatRow{
				AdvertiserID: "adv1", CampaignID: a.campaign, AdGroupID: a.campaign + "-g", AdID: a.id,
				Date: from.AddDate(0, 0, d), Timezone: "Europe/Berlin", Currency: "USD",
			}
			r.Set("spend", ptr(decimal.RequireFromString(a.spend))).Set("complete_payment_value", ptr(decimal.RequireFromString(a.revenue)))
			r.Set("impressions", ptr(a.imp)).Set("clicks", ptr(clicks))
			rows = append(rows, r)
		}
	}
	ds := &dataset{levels: map[string][]*load.StatRow{"ad": rows}}
	ds.levels["adgroup"] = rollUp(rows, func(r *load.StatRow) load.StatRow {
		return load.StatRow{AdvertiserID: r.AdvertiserID, CampaignID: r.CampaignID, AdGroupID: r.AdGroupID}
	})
	ds.levels["campaign"] = rollUp(rows, func(r *load.StatRow) load.StatRow {
		return load.StatRow{AdvertiserID: r.AdvertiserID, CampaignID: r.CampaignID}
	})
	ds.levels["advertiser"] = rollUp(rows, func(r *load.StatRow) load.StatRow { return load.StatRow{AdvertiserID: r.AdvertiserID} })
	return ds.levels
}

// TestAnalystQueries runs every example analyst query on seeded data and
// checks its answer, not only that it runs.
func TestAnalystQueries(t *testing.T) {
	cases := []struct {
		file   string
		params map[string]string
		want   [][]string // selected columns of each row, as text
		cols   []int      // which result columns want holds
	}{
		{
			file:   "top_campaigns_by_roas.sql",
			params: map[string]string{"month": "2024-05-01", "min_spend": "1", "top": "2"},
			// currency, campaign_id, spend, roas_tiktok, rank
			cols: []int{0, 2, 4, 6, 9},
			want: [][]string{
				{"USD", "c1", "140", "3", "1"},
				{"USD", "c2", "280", "1", "2"},
			},
		},
		{
			file:   "spend_pacing.sql",
			params: map[string]string{"advertiser_id": "adv1", "as_of": "2024-05-19", "budget": "2000"},
			// days_elapsed, days_in_month, spend_to_date, expected_spend, projected_spend, budget_left, pace
			cols: []int{4, 5, 7, 10, 12, 13, 14},
			want: [][]string{{"19", "31", "420.14", "1225.806452", "685.491579", "1579.86", "under"}},
		},
		{
			file:   "creative_fatigue.sql",
			params: map[string]string{"week": "2024-05-15", "min_impressions": "1000"},
			// ad_id, prev_impressions, impressions, prev_ctr, ctr, ctr_delta, fatigued
			cols: []int{3, 6, 7, 8, 9, 10, 11},
			want: [][]string{
				{"a1", "7000", "7000", "0.02", "0.01", "-0.01", "1"},
				{"a2", "7000", "7000", "0.02", "0.019", "-0.001", "0"},
			},
		},
	}
	warehousetest.ForEachProtocol(t, func(t *testing.T, proto config.Protocol) {
		conn, cfg := setup(t, proto)
		l := load.New(conn, load.Options{Target: schema.Target{Database: cfg.ClickHouse.Database}})
		for level, rows := range analystData() {
			loadLevel(t, l, level, "daily", time.Date(2024, 5, 6, 0, 0, 0, 0, time.UTC), time.Date(2024, 5, 19, 0, 0, 0, 0, time.UTC), rows)
		}
		refresh(t, conn, cfg.ClickHouse.Database) // as a sync's last step does
		for _, tc := range cases {
			t.Run(tc.file, func(t *testing.T) {
				sql, err := queries.Analyst(tc.file)
				require.NoError(t, err)
				params := map[string]string{"db": cfg.ClickHouse.Database}
				for k, v := range tc.params {
					params[k] = v
				}
				ctx := clickhouse.Context(context.Background(), clickhouse.WithParameters(params))
				// Every column as text, so the check reads like the answer.
				rows, err := conn.Query(ctx, "SELECT * APPLY (x -> ifNull(toString(x), 'NULL')) FROM ("+sql+")")
				require.NoError(t, err)
				defer rows.Close()
				var got [][]string
				for rows.Next() {
					vals := make([]string, len(rows.Columns()))
					dest := make([]any, len(vals))
					for i := range vals {
						dest[i] = &vals[i]
					}
					require.NoError(t, rows.Scan(dest...))
					var sel []string
					for _, c := range tc.cols {
						sel = append(sel, vals[c])
					}
					got = append(got, sel)
				}
				require.NoError(t, rows.Err())
				require.Equal(t, tc.want, got)
			})
		}
	})
}

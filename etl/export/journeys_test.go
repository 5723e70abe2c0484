package export_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/parquet-go/parquet-go"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/attribution"
	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/crm"
	"github.com/adhouse/adhouse/etl/export"
	"github.com/adhouse/adhouse/etl/ga4"
	"github.com/adhouse/adhouse/etl/ingest"
	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/shop"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/metrics"
	"github.com/adhouse/adhouse/queries"
	"github.com/adhouse/adhouse/schema"
)

var update = flag.Bool("update", false, "rewrite the golden export files")

var rules = attribution.Rules{TikTokSources: []string{"tiktok"}, CampaignParam: "utm_campaign", AdGroupParam: "utm_term", AdParam: "utm_content"}

// world is the hand-built account: advertiser 7 (USD) with two campaigns on
// 2024-05-10, C1 "1001" (ad group 2001, ad 3001) and C2 "1002" named
// "=Retarget" (ad group 2002, ad 3002).
func world(t *testing.T, ctx context.Context, conn driver.Conn, db string) {
	t.Helper()
	for _, q := range []string{
		`INSERT INTO %s.campaigns (advertiser_id, campaign_id, campaign_name, load_version) VALUES ('7', '1001', 'Spring Sale', 1), ('7', '1002', '=Retarget', 1)`,
		`INSERT INTO %s.adgroups (advertiser_id, campaign_id, adgroup_id, adgroup_name, load_version) VALUES ('7', '1001', '2001', 'Broad', 1), ('7', '1002', '2002', 'Lookalike', 1)`,
		`INSERT INTO %s.ads (advertiser_id, campaign_id, adgroup_id, ad_id, ad_name, load_version) VALUES ('7', '1001', '2001', '3001', 'Video A', 1), ('7', '1002', '2002', '3002', 'Video B', 1)`,
	} {
		require.NoError(t, conn.Exec(ctx, fmt.Sprintf(q, db)))
	}
	l := load.New(conn, load.Options{Target: schema.Target{Database: db}})
	day := time.Date(2024, 5, 10, 0, 0, 0, 0, time.UTC)
	for _, level := range []string{"campaign", "adgroup", "ad"} {
		st, _ := load.NewStatsTable(level, "daily")
		w, err := l.Begin(load.WindowSpec{Table: st.Table, AdvertiserID: "7", From: day, To: day})
		require.NoError(t, err)
		for _, s := range []struct {
			c, g, a, spend, value string
			conv                  uint64
		}{{"1001", "2001", "3001", "100.00", "250.00", 5}, {"1002", "2002", "3002", "50.00", "80.00", 2}} {
			spend, value := decimal.RequireFromString(s.spend), decimal.RequireFromString(s.value)
			conv, purchases := s.conv, s.conv-1
			row := &load.StatRow{AdvertiserID: "7", CampaignID: s.c, AdGroupID: s.g, AdID: s.a, Date: day, Timezone: "UTC", Currency: "USD"}
			row.Set("spend", &spend).Set("conversion", &conv).Set("complete_payment", &purchases).Set("complete_payment_value", &value)
			require.NoError(t, w.Append(ctx, st.Bind(row)))
		}
		require.NoError(t, w.Commit(ctx))
	}
}

// event writes one GA4 export row as BigQuery exports it.
func event(user, at, name, page, tx, revenue string) string {
	ts, _ := time.Parse("2006-01-02 15:04", at)
	ecommerce := "null"
	if tx != "" {
		ecommerce = fmt.Sprintf(`{"transaction_id":%q,"purchase_revenue":%s}`, tx, revenue)
	}
	return fmt.Sprintf(`{"event_date":%q,"event_timestamp":"%d","event_name":%q,"user_pseudo_id":%q,"event_params":[{"key":"page_location","value":{"string_value":%q,"int_value":null}},{"key":"ga_session_id","value":{"string_value":null,"int_value":"17"}}],"ecommerce":%s}`,
		ts.Format("20060102"), ts.UnixMicro(), name, user, page, ecommerce) + "\n"
}

const site = "https://shop.example/"

// journeys: the conversions are all on 2024-05-10, lookback 7 days.
var journeys = []string{
	// u1: TikTok click on ad 3001 the day before, then a purchase: last click C1, 120.
	event("u1", "2024-05-09 10:00", "page_view", site+"?utm_source=tiktok&utm_campaign=1001&utm_content=3001&ttclid=abc", "", ""),
	event("u1", "2024-05-10 12:00", "purchase", site+"checkout", "T1", "120"),
	// The same transaction sent twice counts once.
	event("u1", "2024-05-10 12:01", "purchase", site+"checkout", "T1", "120"),
	// u2: TikTok (by campaign name) two days before, Google last: C2 assisted, 60.
	event("u2", "2024-05-08 09:00", "page_view", site+"?utm_source=tiktok&utm_campaign=%3DRetarget", "", ""),
	event("u2", "2024-05-10 09:00", "page_view", site+"?utm_source=google&utm_medium=cpc", "", ""),
	event("u2", "2024-05-10 10:00", "purchase", site+"checkout", "T2", "60"),
	// u3: TikTok 20 days before, outside the lookback: nobody is credited.
	event("u3", "2024-04-20 09:00", "page_view", site+"?utm_source=tiktok&utm_campaign=1001", "", ""),
	event("u3", "2024-05-10 10:00", "purchase", site+"checkout", "T3", "80"),
	// u4: TikTok, then a direct visit: direct never wins, last click C1, 40.
	event("u4", "2024-05-09 09:00", "page_view", site+"?utm_source=tiktok&utm_campaign=1001", "", ""),
	event("u4", "2024-05-10 08:00", "page_view", site, "", ""),
	event("u4", "2024-05-10 08:30", "purchase", site+"checkout", "T4", "40.00"),
	// u5: TikTok C1, TikTok C2, then Facebook last: both campaigns assisted, 100 each.
	event("u5", "2024-05-05 09:00", "page_view", site+"?utm_source=tiktok&utm_campaign=1001", "", ""),
	event("u5", "2024-05-06 09:00", "page_view", site+"?utm_source=tiktok&utm_campaign=1002", "", ""),
	event("u5", "2024-05-07 09:00", "page_view", site+"?utm_source=facebook&utm_medium=paid_social", "", ""),
	event("u5", "2024-05-10 09:00", "purchase", site+"checkout", "T5", "100"),
	// u7: a landing with only the ttclid of u1's click: last click C1 through the ttclid, 30.
	event("u7", "2024-05-10 07:00", "page_view", site+"?ttclid=abc", "", ""),
	event("u7", "2024-05-10 07:30", "purchase", site+"checkout", "T7", "30"),
}

const deals = `Record ID,Create Date,Close Date,Deal Stage,Is Closed Won,Amount,Currency,utm_source,utm_medium,utm_campaign,utm_content,utm_term,ttclid
D1,2024-05-01,2024-05-10 15:00,closedwon,true,500,USD,tiktok,paid,1002,,,
D2,2024-05-01,2024-05-10 15:00,closedlost,false,900,USD,tiktok,paid,1002,,,
D3,2024-05-02,2024-05-10 16:00,closedwon,true,200.50,USD,,,,,,abc
D4,2024-05-02,2024-05-10 16:00,closedwon,true,700,USD,google,cpc,x,,,
`

const orders = `order_id,created_at,currency,revenue,refunded,fees,financial_status,cancelled_at,sku,quantity,price,utm_source,utm_campaign,utm_term
O1,2024-05-10 11:00:00 -0400,USD,100.00,10.00,3.00,paid,,SKU-A,2,30.00,tiktok,1001,
O1,2024-05-10 11:00:00 -0400,,,,,,,SKU-B,1,40.00,,,
O2,2024-05-10 12:00:00 -0400,USD,500.00,0,0,paid,2024-05-10 13:00:00 -0400,SKU-A,1,500.00,tiktok,1001,
O3,2024-05-10 12:00:00 -0400,USD,70.00,0,0,pending,,SKU-B,1,70.00,tiktok,1001,
O4,2024-05-10 12:00:00 -0400,USD,80.00,0,0,paid,,SKU-B,2,40.00,facebook,x,
O5,2024-05-10 12:00:00 -0400,USD,50.00,0,0,paid,,SKU-C,1,50.00,tiktok,,Lookalike
`

const costs = `sku,unit_cost,currency,valid_from
SKU-A,10.00,USD,2024-01-01
SKU-A,12.00,USD,2024-05-10
SKU-B,15.00,USD,2024-01-01
`

func importAll(t *testing.T, ctx context.Context, conn driver.Conn, db string) {
	t.Helper()
	dir := t.TempDir()
	im := ingest.New(conn, ingest.Options{Target: schema.Target{Database: db}})
	for _, f := range []struct {
		name, body string
		format     ingest.Format
	}{
		{"events.ndjson", strings.Join(journeys, ""), ga4.NDJSON{Options: ga4.Options{Rules: rules, Currency: "USD"}}},
		{"deals.csv", deals, crm.Format{Columns: config.Default().Imports.CRM, Rules: rules}},
		{"orders.csv", orders, shop.Orders{Columns: config.Default().Imports.Orders, Rules: rules}},
		{"costs.csv", costs, shop.Costs{}},
	} {
		path := filepath.Join(dir, f.name)
		require.NoError(t, os.WriteFile(path, []byte(f.body), 0o644))
		_, err := im.Import(ctx, path, f.format, "")
		require.NoError(t, err)
	}
}

type daily struct {
	Spend                              *string
	LastClick, Assisted, Deals, Orders uint64
	RevLast, RevAssisted, RevCRM       string
	RevShop                            string
	COGS                               *string
	Refunds, Fees                      string
}

func level(t *testing.T, ctx context.Context, conn driver.Conn, db, lvl, id string) daily {
	t.Helper()
	var d daily
	q := fmt.Sprintf(`SELECT toString(spend), ga4_last_click_conversions, ga4_assisted_conversions, crm_deals, shop_orders,
        toString(revenue_ga4_last_click), toString(revenue_ga4_assisted), toString(revenue_crm), toString(revenue_shop),
        toString(cost_of_goods), toString(refunds), toString(fees)
        FROM %s.attribution_%s_daily WHERE %s_id = ? AND stat_date = '2024-05-10'`, db, lvl, lvl)
	require.NoError(t, conn.QueryRow(ctx, q, id).Scan(&d.Spend, &d.LastClick, &d.Assisted, &d.Deals, &d.Orders,
		&d.RevLast, &d.RevAssisted, &d.RevCRM, &d.RevShop, &d.COGS, &d.Refunds, &d.Fees))
	return d
}

func str(s string) *string { return &s }

// TestJourneys checks last-click, assisted, CRM and shop attribution and the
// margin-adjusted ROAS on journeys whose answers can be worked out by hand.
func TestJourneys(t *testing.T) {
	warehousetest.ForEachProtocol(t, func(t *testing.T, proto config.Protocol) {
		ctx := context.Background()
		conn, cfg := warehousetest.Migrated(t, proto)
		db := cfg.ClickHouse.Database
		world(t, ctx, conn, db)
		require.NoError(t, attribution.Save(ctx, conn, schema.Target{Database: db}, attribution.Settings{LookbackDays: 7, MatchBy: "id_or_name", ConversionEvents: []string{"purchase"}}))
		importAll(t, ctx, conn, db)

		// C1: last click T1 120 + T4 40 + T7 30; assisted T5 100; CRM D3 200.50 (ttclid);
		// shop O1: revenue 100, cost 2x12 + 15 = 39, refunds 10, fees 3.
		require.Equal(t, daily{Spend: str("100"), LastClick: 3, Assisted: 1, Deals: 1, Orders: 1,
			RevLast: "190", RevAssisted: "100", RevCRM: "200.5", RevShop: "100", COGS: str("39"), Refunds: "10", Fees: "3"},
			level(t, ctx, conn, db, "campaign", "1001"))
		// C2: assisted T2 60 (by name) + T5 100; CRM D1 500; shop O5 (ad group by
		// name) has no cost for SKU-C and no default margin: cost unknown.
		require.Equal(t, daily{Spend: str("50"), LastClick: 0, Assisted: 2, Deals: 1, Orders: 1,
			RevLast: "0", RevAssisted: "160", RevCRM: "500", RevShop: "50", COGS: nil, Refunds: "0", Fees: "0"},
			level(t, ctx, conn, db, "campaign", "1002"))
		// Ad 3001 carries u1's and u7's last clicks (u4's touch named only the campaign).
		ad := level(t, ctx, conn, db, "ad", "3001")
		require.Equal(t, uint64(2), ad.LastClick)
		require.Equal(t, "150", ad.RevLast)
		ag := level(t, ctx, conn, db, "adgroup", "2002")
		require.Equal(t, uint64(1), ag.Orders)

		rows, err := export.Load(ctx, conn, schema.Target{Database: db}, export.Query{From: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2024, 5, 31, 0, 0, 0, 0, time.UTC), By: export.ByDay})
		require.NoError(t, err)
		require.Len(t, rows, 2)
		c1 := rows[0]
		require.Equal(t, "1.900000", c1.Main.ROAS(metrics.GA4Revenue).String())                           // GA4 last click: 190 / 100
		require.Equal(t, "1.000000", c1.Assisted.ROAS(metrics.GA4Revenue).String())                       // GA4 assisted: 100 / 100
		require.Equal(t, "0.480000", c1.Main.MarginROAS(metrics.ShopRevenue).String())                    // shop: (100 − 39 − 10 − 3) / 100
		require.Equal(t, "48.000000", export.GrossMargin(&c1.Main).String())                              // the margin itself
		require.False(t, rows[1].Main.MarginROAS(metrics.ShopRevenue).Defined(), "unknown cost of goods") // C2

		// The BI view's SQL ratios equal the Go metrics digit for digit.
		require.NoError(t, queries.Apply(ctx, conn, schema.Target{Database: db}))
		for _, r := range rows {
			var last, assisted, margin *string
			require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf(`SELECT toString(roas_ga4_last_click), toString(roas_ga4_assisted), toString(margin_roas_shop)
                FROM %s.bi_attribution_campaign_daily WHERE campaign_id = ? AND stat_date = '2024-05-10'`, db), r.CampaignID).Scan(&last, &assisted, &margin))
			same := func(v metrics.Value, s *string) {
				if !v.Defined() {
					require.Nil(t, s, r.CampaignID)
					return
				}
				require.NotNil(t, s, r.CampaignID)
				d, _ := v.Decimal()
				require.True(t, d.Equal(decimal.RequireFromString(*s)), "%s: Go %s, SQL %s", r.CampaignID, v, *s)
			}
			same(r.Main.ROAS(metrics.GA4Revenue), last)
			same(r.Assisted.ROAS(metrics.GA4Revenue), assisted)
			same(r.Main.MarginROAS(metrics.ShopRevenue), margin)
		}

		golden(t, "journeys_day.csv", func(b *bytes.Buffer) error { return export.WriteCSV(b, rows) })
		golden(t, "journeys_day.parquet", func(b *bytes.Buffer) error { return export.WriteParquet(b, rows) })
		monthly, err := export.Load(ctx, conn, schema.Target{Database: db}, export.Query{From: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2024, 5, 31, 0, 0, 0, 0, time.UTC), By: export.ByMonth})
		require.NoError(t, err)
		golden(t, "journeys_month.csv", func(b *bytes.Buffer) error { return export.WriteCSV(b, monthly) })

		// A default margin of 40% costs the SKU-C line at 50 x 0.6 = 30.
		margin := decimal.RequireFromString("0.4")
		require.NoError(t, attribution.Save(ctx, conn, schema.Target{Database: db}, attribution.Settings{LookbackDays: 7, MatchBy: "id_or_name", ConversionEvents: []string{"purchase"}, DefaultMargin: &margin}))
		require.Equal(t, str("30"), level(t, ctx, conn, db, "campaign", "1002").COGS)

		// A 1-day lookback keeps only touches at most 24 hours before the
		// purchase: u1's click (26 hours) and every assist drop out, u4's
		// (23.5 hours) and u7's stay.
		require.NoError(t, attribution.Save(ctx, conn, schema.Target{Database: db}, attribution.Settings{LookbackDays: 1, MatchBy: "id_or_name", ConversionEvents: []string{"purchase"}}))
		c1d := level(t, ctx, conn, db, "campaign", "1001")
		require.Equal(t, uint64(2), c1d.LastClick) // u4, u7
		require.Equal(t, "70", c1d.RevLast)
		require.Equal(t, uint64(0), c1d.Assisted)
	})
}

func golden(t *testing.T, name string, write func(*bytes.Buffer) error) {
	t.Helper()
	var a, b bytes.Buffer
	require.NoError(t, write(&a))
	require.NoError(t, write(&b))
	require.Equal(t, a.Bytes(), b.Bytes(), "two writes of the same rows differ")
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, a.Bytes(), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./etl/export -update")
	require.Equal(t, string(want), a.String(), "export differs from %s", path)
	if strings.HasSuffix(name, ".parquet") {
		f, err := parquet.OpenFile(bytes.NewReader(a.Bytes()), int64(a.Len()))
		require.NoError(t, err)
		rule, ok := f.Lookup("adhouse.rounding")
		require.True(t, ok)
		require.Equal(t, export.RoundingRule, rule)
		spend, ok := f.Schema().Lookup("spend")
		require.True(t, ok)
		require.Contains(t, spend.Node.Type().LogicalType().String(), "DECIMAL(18,6)")
	}
}

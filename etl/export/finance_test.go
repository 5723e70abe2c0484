package export_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/attribution"
	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/export"
	"github.com/adhouse/adhouse/etl/fx"
	"github.com/adhouse/adhouse/etl/ga4"
	"github.com/adhouse/adhouse/etl/ingest"
	"github.com/adhouse/adhouse/etl/shop"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/schema"
)

// finance is a warehouse with the hand-built account of world(), for
// journeys whose answers a finance reader works out by hand.
type finance struct {
	t    *testing.T
	ctx  context.Context
	conn driver.Conn
	db   string
	dir  string
	im   *ingest.Importer
}

func newFinance(t *testing.T) *finance {
	t.Helper()
	ctx := context.Background()
	conn, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
	f := &finance{t: t, ctx: ctx, conn: conn, db: cfg.ClickHouse.Database, dir: t.TempDir()}
	world(t, ctx, conn, f.db)
	f.im = ingest.New(conn, ingest.Options{Target: f.target()})
	f.settings(attribution.Settings{LookbackDays: 7, MatchBy: "id_or_name", ConversionEvents: []string{"purchase"}})
	return f
}

func (f *finance) target() schema.Target { return schema.Target{Database: f.db} }

func (f *finance) settings(s attribution.Settings) {
	f.t.Helper()
	require.NoError(f.t, attribution.Save(f.ctx, f.conn, f.target(), s))
}

func (f *finance) importFile(name, body string, format ingest.Format) {
	f.t.Helper()
	path := filepath.Join(f.dir, name)
	require.NoError(f.t, os.WriteFile(path, []byte(body), 0o644))
	_, err := f.im.Import(f.ctx, path, format, "")
	require.NoError(f.t, err, name)
}

// value reads one text value (nil for NULL) of a query.
func (f *finance) value(q string, args ...any) *string {
	f.t.Helper()
	var v *string
	require.NoError(f.t, f.conn.QueryRow(f.ctx, q, args...).Scan(&v), q)
	return v
}

func (f *finance) orderCost(id string) *string {
	return f.value("SELECT toString(cost_of_goods) FROM "+f.db+".shop_order_costs WHERE order_id = ?", id)
}

var ordersFormat = shop.Orders{Columns: config.Default().Imports.Orders, Rules: rules}

// TestCostsPerCurrency: a SKU's costs in two currencies from the same day are
// two costs; a USD order takes the USD one. (Before, a later EUR line made
// the USD cost vanish.)
func TestCostsPerCurrency(t *testing.T) {
	f := newFinance(t)
	f.importFile("costs.csv", "sku,unit_cost,currency,valid_from\nSKU-X,38.00,USD,2024-01-01\nSKU-X,35.00,EUR,2024-01-01\n", shop.Costs{})
	f.importFile("orders.csv", `order_id,created_at,currency,revenue,refunded,fees,financial_status,cancelled_at,sku,quantity,price,utm_source,utm_campaign,utm_term
OU,2024-05-10 11:00:00 +0000,USD,100.00,0,0,paid,,SKU-X,2,50.00,tiktok,1001,
OE,2024-05-10 11:00:00 +0000,EUR,90.00,0,0,paid,,SKU-X,1,90.00,tiktok,1001,
`, ordersFormat)
	require.Equal(t, str("76"), f.orderCost("OU"), "2 × 38.00 USD")
	require.Equal(t, str("35"), f.orderCost("OE"), "1 × 35.00 EUR")
}

// TestDefaultMarginSwitchedOff: a configuration without a default margin
// switches it off again; the order without a cost is unknown again.
func TestDefaultMarginSwitchedOff(t *testing.T) {
	f := newFinance(t)
	f.importFile("orders.csv", `order_id,created_at,currency,revenue,refunded,fees,financial_status,cancelled_at,sku,quantity,price,utm_source,utm_campaign,utm_term
ON,2024-05-10 11:00:00 +0000,USD,50.00,0,0,paid,,SKU-NEW,1,50.00,tiktok,1001,
`, ordersFormat)
	require.Nil(t, f.orderCost("ON"))
	margin := decimal.RequireFromString("0.4")
	f.settings(attribution.Settings{LookbackDays: 7, MatchBy: "id_or_name", ConversionEvents: []string{"purchase"}, DefaultMargin: &margin})
	require.Equal(t, str("30"), f.orderCost("ON"), "50 × (1 − 0.4)")
	f.settings(attribution.Settings{LookbackDays: 7, MatchBy: "id_or_name", ConversionEvents: []string{"purchase"}})
	require.Nil(t, f.orderCost("ON"), "no default margin any more: the cost is unknown")
}

// ev is one GA4 BigQuery export row, with the fields the finance rules read.
type ev struct {
	user, at, name, page, referrer, tx, revenue, refund, currency string
}

func (e ev) line() string {
	ts, _ := time.Parse("2006-01-02 15:04", e.at)
	params := []string{
		fmt.Sprintf(`{"key":"page_location","value":{"string_value":%q}}`, e.page),
		`{"key":"ga_session_id","value":{"int_value":"17"}}`,
	}
	if e.referrer != "" {
		params = append(params, fmt.Sprintf(`{"key":"page_referrer","value":{"string_value":%q}}`, e.referrer))
	}
	if e.currency != "" {
		params = append(params, fmt.Sprintf(`{"key":"currency","value":{"string_value":%q}}`, e.currency))
	}
	ecommerce := "null"
	switch {
	case e.refund != "":
		ecommerce = fmt.Sprintf(`{"transaction_id":%q,"refund_value":%s}`, e.tx, e.refund)
	case e.revenue != "":
		ecommerce = fmt.Sprintf(`{"transaction_id":%q,"purchase_revenue":%s}`, e.tx, e.revenue)
	}
	return fmt.Sprintf(`{"event_date":%q,"event_timestamp":"%d","event_name":%q,"user_pseudo_id":%q,"event_params":[%s],"ecommerce":%s}`,
		ts.Format("20060102"), ts.UnixMicro(), e.name, e.user, strings.Join(params, ","), ecommerce) + "\n"
}

func lines(evs ...ev) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.line())
	}
	return b.String()
}

var ga4Format = ga4.NDJSON{Options: ga4.Options{Rules: rules, Currency: "USD"}}

const tiktokAd = site + "?utm_source=tiktok&utm_medium=paid&utm_campaign=1001&utm_content=3001"

// TestOrganicSearchTakesTheLastClick: TikTok, then a Google organic visit
// (no campaign parameters, only the referrer), then the purchase. GA4
// credits Organic Search; TikTok assisted. (Before, the organic visit was
// direct and TikTok took the last click.)
func TestOrganicSearchTakesTheLastClick(t *testing.T) {
	f := newFinance(t)
	f.importFile("events.ndjson", lines(
		ev{user: "o1", at: "2024-05-09 10:00", name: "page_view", page: tiktokAd},
		ev{user: "o1", at: "2024-05-10 09:00", name: "page_view", page: site, referrer: "https://www.google.com/"},
		ev{user: "o1", at: "2024-05-10 09:05", name: "page_view", page: site + "product", referrer: site}, // internal: not a visit
		ev{user: "o1", at: "2024-05-10 09:10", name: "purchase", page: site + "checkout", tx: "T10", revenue: "100"},
	), ga4Format)
	d := level(t, f.ctx, f.conn, f.db, "campaign", "1001")
	require.Equal(t, uint64(0), d.LastClick)
	require.Equal(t, uint64(1), d.Assisted)
	require.Equal(t, "100", d.RevAssisted)
	require.Equal(t, str("Organic Search"), f.value("SELECT last_touch.6 FROM "+f.db+".ga4_conversion_paths WHERE conversion_key = 'ga4tx:T10'"))
}

// TestDailyAndIntradayCountOnce: a purchase without transaction_id in both
// the daily and the intraday export is one conversion.
func TestDailyAndIntradayCountOnce(t *testing.T) {
	f := newFinance(t)
	body := lines(
		ev{user: "d1", at: "2024-05-10 08:00", name: "page_view", page: tiktokAd},
		ev{user: "d1", at: "2024-05-10 08:30", name: "purchase", page: site + "checkout", revenue: "45.50"},
	)
	f.importFile("events_20240510.ndjson", body, ga4Format)
	f.importFile("events_intraday_20240510.ndjson", body, ga4Format)
	d := level(t, f.ctx, f.conn, f.db, "campaign", "1001")
	require.Equal(t, uint64(1), d.LastClick)
	require.Equal(t, "45.5", d.RevLast)
}

// TestRefundsAreSubtracted: a refund of 20 on a 120 purchase leaves 100; a
// refund without a value refunds the whole purchase; the refund is counted
// once although both exports hold it.
func TestRefundsAreSubtracted(t *testing.T) {
	f := newFinance(t)
	body := lines(
		ev{user: "r1", at: "2024-05-10 08:00", name: "page_view", page: tiktokAd},
		ev{user: "r1", at: "2024-05-10 08:30", name: "purchase", page: site + "checkout", tx: "T12", revenue: "120"},
		ev{user: "r1", at: "2024-05-12 10:00", name: "refund", page: site + "account", tx: "T12", refund: "20"},
		ev{user: "r2", at: "2024-05-10 09:00", name: "page_view", page: tiktokAd},
		ev{user: "r2", at: "2024-05-10 09:30", name: "purchase", page: site + "checkout", tx: "T13", revenue: "80"},
		ev{user: "r2", at: "2024-05-13 10:00", name: "refund", page: site + "account", tx: "T13", refund: "null"},
	)
	f.importFile("events_daily.ndjson", body, ga4Format)
	f.importFile("events_intraday.ndjson", body, ga4Format)
	d := level(t, f.ctx, f.conn, f.db, "campaign", "1001")
	require.Equal(t, uint64(2), d.LastClick, "refunded purchases still happened")
	require.Equal(t, "100", d.RevLast, "(120 − 20) + (80 − 80)")
}

// TestEventCurrency: a purchase sent in EUR is EUR revenue, on a row of its
// own: never added to the USD row.
func TestEventCurrency(t *testing.T) {
	f := newFinance(t)
	f.importFile("events.ndjson", lines(
		ev{user: "c1", at: "2024-05-10 08:00", name: "page_view", page: tiktokAd},
		ev{user: "c1", at: "2024-05-10 08:30", name: "purchase", page: site + "checkout", tx: "T14", revenue: "70", currency: "EUR"},
	), ga4Format)
	require.Equal(t, str("70"), f.value("SELECT toString(revenue_ga4_last_click) FROM "+f.db+".attribution_campaign_daily WHERE campaign_id = '1001' AND currency = 'EUR'"))
	require.Equal(t, str("0"), f.value("SELECT toString(revenue_ga4_last_click) FROM "+f.db+".attribution_campaign_daily WHERE campaign_id = '1001' AND currency = 'USD'"))
}

// TestOrdersFindTheirSession: an order without campaign parameters is
// credited through its GA4 purchase (transaction_id = the order number or the
// shop's own id) to the visit that brought it; the routes view says how
// every order was attributed.
func TestOrdersFindTheirSession(t *testing.T) {
	f := newFinance(t)
	f.importFile("events.ndjson", lines(
		ev{user: "s1", at: "2024-05-10 08:00", name: "page_view", page: tiktokAd},
		ev{user: "s1", at: "2024-05-10 08:30", name: "purchase", page: site + "checkout", tx: "1005", revenue: "60"},
		ev{user: "s2", at: "2024-05-10 08:00", name: "page_view", page: site + "?utm_source=google&utm_medium=cpc"},
		ev{user: "s2", at: "2024-05-10 08:30", name: "purchase", page: site + "checkout", tx: "5550006", revenue: "40"},
	), ga4Format)
	f.importFile("orders.csv", `order_id,order_ref,created_at,currency,revenue,refunded,fees,financial_status,cancelled_at,sku,quantity,price,utm_source,utm_campaign,utm_term
#1005,5550005,2024-05-10 08:31:00 +0000,USD,60.00,0,0,paid,,SKU-A,1,60.00,,,
#1006,5550006,2024-05-10 08:31:00 +0000,USD,40.00,0,0,paid,,SKU-A,1,40.00,,,
#1007,,2024-05-10 09:00:00 +0000,USD,25.00,0,0,paid,,SKU-A,1,25.00,tiktok,1001,
#1008,,2024-05-10 09:00:00 +0000,USD,15.00,0,0,paid,,SKU-A,1,15.00,,,
`, ordersFormat)
	d := level(t, f.ctx, f.conn, f.db, "campaign", "1001")
	require.Equal(t, uint64(2), d.Orders, "#1005 through its GA4 session, #1007 by its own UTMs")
	require.Equal(t, "85", d.RevShop)
	routes := map[string]string{}
	rows, err := f.conn.Query(f.ctx, "SELECT order_id, route FROM "+f.db+".attribution_order_routes")
	require.NoError(t, err)
	for rows.Next() {
		var id, route string
		require.NoError(t, rows.Scan(&id, &route))
		routes[id] = route
	}
	require.Equal(t, map[string]string{"#1005": "ga4_session_tiktok", "#1006": "ga4_session_other", "#1007": "order_utm", "#1008": "unattributed"}, routes)
}

// TestFeeAndRefundRules: a fee per order and in percent of revenue adds to
// the file's fees; with refunded_order_cost = drop, a fully refunded order
// costs nothing, with keep it costs what it cost.
func TestFeeAndRefundRules(t *testing.T) {
	f := newFinance(t)
	f.importFile("costs.csv", "sku,unit_cost,currency,valid_from\nSKU-A,10.00,USD,2024-01-01\n", shop.Costs{})
	f.importFile("orders.csv", `order_id,created_at,currency,revenue,refunded,fees,financial_status,cancelled_at,sku,quantity,price,utm_source,utm_campaign,utm_term
F1,2024-05-10 08:00:00 +0000,USD,100.00,0,1.00,paid,,SKU-A,1,100.00,tiktok,1001,
F2,2024-05-10 09:00:00 +0000,USD,40.00,40.00,0,refunded,,SKU-A,2,20.00,tiktok,1001,
`, ordersFormat)
	base := attribution.Settings{LookbackDays: 7, MatchBy: "id_or_name", ConversionEvents: []string{"purchase"}}
	d := level(t, f.ctx, f.conn, f.db, "campaign", "1001")
	require.Equal(t, "1", d.Fees, "the file's fees only")
	require.Equal(t, str("30"), d.COGS, "1 × 10 + 2 × 10: refunded goods still cost (keep)")

	rule := base
	rule.FeePerOrder, rule.FeePercent = decimal.RequireFromString("0.30"), decimal.RequireFromString("2.9")
	rule.RefundedOrderCost = "drop"
	f.settings(rule)
	d = level(t, f.ctx, f.conn, f.db, "campaign", "1001")
	require.Equal(t, "5.66", d.Fees, "F1: 1 + 0.30 + 2.90 = 4.20; F2: 0.30 + 1.16 = 1.46 (processors keep fees of refunded orders)")
	require.Equal(t, str("10"), d.COGS, "F2 came back: only F1's goods cost")
}

// exportCells runs an export and returns its CSV cells by "period campaign currency"
// and column, with each row's missing rates.
func (f *finance) exportCells(q export.Query) (map[string]map[string]string, map[string][]string) {
	f.t.Helper()
	rows, err := export.Load(f.ctx, f.conn, f.target(), q)
	require.NoError(f.t, err)
	var b bytes.Buffer
	require.NoError(f.t, export.WriteCSV(&b, rows))
	recs, err := csv.NewReader(&b).ReadAll()
	require.NoError(f.t, err)
	cells, missing := map[string]map[string]string{}, map[string][]string{}
	for i, rec := range recs[1:] {
		k := rec[0] + " " + rec[2] + " " + rec[4]
		require.NotContains(f.t, cells, k, "one row per period, campaign and currency")
		cells[k] = map[string]string{}
		for j, c := range recs[0] {
			cells[k][c] = rec[j]
		}
		missing[k] = rows[i].NoRate
	}
	return cells, missing
}

// TestExportInOneCurrency: a USD campaign with EUR orders, one EUR/USD rate
// on Thursday 2024-05-09. In USD the Friday order converts at Thursday's
// rate and joins the spend on one row; the order eleven days later has no
// rate: its revenue, and what is built on it, is empty, named as missing,
// and the month's revenue is unknown too. In EUR the inverse rate serves.
func TestExportInOneCurrency(t *testing.T) {
	f := newFinance(t)
	f.importFile("rates.csv", "date,base,quote,rate\n2024-05-09,EUR,USD,1.08\n", fx.Format{})
	f.importFile("orders.csv", `order_id,created_at,currency,revenue,refunded,fees,financial_status,cancelled_at,sku,quantity,price,utm_source,utm_campaign,utm_term
X1,2024-05-10 11:00:00 +0000,EUR,90.00,0,0,paid,,SKU-A,1,90.00,tiktok,1001,
X2,2024-05-20 11:00:00 +0000,EUR,50.00,0,0,paid,,SKU-A,1,50.00,tiktok,1001,
`, ordersFormat)
	may := func(by export.By, currency string) export.Query {
		return export.Query{From: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2024, 5, 31, 0, 0, 0, 0, time.UTC), By: by, Currency: currency}
	}

	native, _ := f.exportCells(may(export.ByDay, ""))
	require.Contains(t, native, "2024-05-10 1001 USD")
	require.Contains(t, native, "2024-05-10 1001 EUR", "without --currency, each currency has its row: the EUR revenue has no spend to make a ROAS with")
	require.Equal(t, "", native["2024-05-10 1001 EUR"]["roas_shop"])

	usd, missing := f.exportCells(may(export.ByDay, "USD"))
	friday := usd["2024-05-10 1001 USD"]
	require.Equal(t, "USD", friday["currency"])
	require.Equal(t, "100.000000", friday["spend"])
	require.Equal(t, "97.200000", friday["revenue_shop"], "90 EUR × 1.08 (Thursday's rate)")
	require.Equal(t, "0.972000", friday["roas_shop"])
	require.Equal(t, "2.500000", friday["roas_tiktok"])
	require.Empty(t, missing["2024-05-10 1001 USD"])
	late := usd["2024-05-20 1001 USD"]
	require.Equal(t, "1", late["shop_orders"])
	require.Equal(t, "", late["revenue_shop"], "no rate within 7 days: unknown, not 0 and not 50")
	require.Equal(t, "", late["gross_margin"])
	require.Equal(t, "0.000000", late["revenue_crm"], "zero is zero in any currency: it needs no rate")
	require.Equal(t, []string{"2024-05-20 EUR/USD"}, missing["2024-05-20 1001 USD"])
	require.Equal(t, "50.000000", usd["2024-05-10 1002 USD"]["spend"], "USD stays USD")

	month, missing := f.exportCells(may(export.ByMonth, "USD"))
	m := month["2024-05 1001 USD"]
	require.Equal(t, "2", m["shop_orders"])
	require.Equal(t, "", m["revenue_shop"], "one unknown day makes the month unknown")
	require.Equal(t, "", m["roas_shop"])
	require.Equal(t, "", m["margin_roas_shop"])
	require.Equal(t, "250.000000", m["revenue_tiktok"], "amounts that had rates stay known")
	require.Equal(t, "2.500000", m["roas_tiktok"])
	require.Equal(t, []string{"2024-05-20 EUR/USD"}, missing["2024-05 1001 USD"])

	eur, _ := f.exportCells(may(export.ByDay, "EUR"))
	friday = eur["2024-05-10 1001 EUR"]
	require.Equal(t, "EUR", friday["currency"])
	require.Equal(t, "92.592593", friday["spend"], "100 USD ÷ 1.08, half-even to 6")
	require.Equal(t, "231.481481", friday["revenue_tiktok"], "250 USD ÷ 1.08")
	require.Equal(t, "90.000000", friday["revenue_shop"], "EUR stays EUR")
	require.Equal(t, "0.972000", friday["roas_shop"], "90 ÷ 92.592593")
	require.Equal(t, "46.296296", eur["2024-05-10 1002 EUR"]["spend"])

	gbp, missing := f.exportCells(may(export.ByDay, "GBP"))
	require.Equal(t, "", gbp["2024-05-10 1001 GBP"]["spend"], "no USD/GBP rate at all")
	require.Equal(t, "", gbp["2024-05-10 1001 GBP"]["roas_tiktok"])
	require.Equal(t, "5", gbp["2024-05-10 1001 GBP"]["tiktok_conversions"], "counts need no rate")
	require.Equal(t, []string{"2024-05-10 EUR/GBP", "2024-05-10 USD/GBP"}, missing["2024-05-10 1001 GBP"])

	_, err := export.Load(f.ctx, f.conn, f.target(), may(export.ByDay, "usd$"))
	require.ErrorContains(t, err, "--currency")
}

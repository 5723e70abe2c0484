package export_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/attribution"
	"github.com/adhouse/adhouse/etl/export"
	"github.com/adhouse/adhouse/etl/fx"
	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/shop"
)

// generated fills the finance world with six weeks of random spend, GA4
// journeys (duplicates, refunds, a second currency), orders (unknown costs,
// refunds) and costs, and returns the GA4 and orders files it imported.
func generated(t *testing.T, f *finance, seed uint64) (ga4File, ordersFile string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	first := time.Date(2024, 4, 10, 0, 0, 0, 0, time.UTC)
	const days = 42
	money := func(max int) string { return decimal.New(rng.Int64N(int64(max)*100), -2).StringFixed(2) }

	// Spend for both campaigns every day, at campaign level.
	l := load.New(f.conn, load.Options{Target: f.target()})
	st, _ := load.NewStatsTable("campaign", "daily")
	w, err := l.Begin(load.WindowSpec{Table: st.Table, AdvertiserID: "7", From: first, To: first.AddDate(0, 0, days-1)})
	require.NoError(t, err)
	for d := 0; d < days; d++ {
		for _, c := range []string{"1001", "1002"} {
			spend, value := decimal.RequireFromString(money(300)), decimal.RequireFromString(money(900))
			conv := uint64(rng.IntN(9))
			row := &load.StatRow{AdvertiserID: "7", CampaignID: c, Date: first.AddDate(0, 0, d), Timezone: "UTC", Currency: "USD"}
			row.Set("spend", &spend).Set("conversion", &conv).Set("complete_payment_value", &value)
			require.NoError(t, w.Append(f.ctx, st.Bind(row)))
		}
	}
	require.NoError(t, w.Commit(f.ctx))

	at := func(d int, minute int) string {
		return first.AddDate(0, 0, d).Add(time.Duration(minute) * time.Minute).Format("2006-01-02 15:04")
	}
	landings := []ev{
		{page: site + "?utm_source=tiktok&utm_medium=paid&utm_campaign=1001"},
		{page: site + "?utm_source=tiktok&utm_medium=paid&utm_campaign=1002&utm_content=3002"},
		{page: site + "?utm_source=google&utm_medium=cpc"},
		{page: site, referrer: "https://www.google.com/"},
		{page: site},
	}
	var evs []ev
	for u := 0; u < 150; u++ {
		user := fmt.Sprintf("g%d", u)
		d := rng.IntN(days)
		for k := rng.IntN(3) + 1; k > 0; k-- {
			e := landings[rng.IntN(len(landings))]
			e.user, e.name, e.at = user, "page_view", at(max(d-rng.IntN(9), 0), 60+k)
			evs = append(evs, e)
		}
		p := ev{user: user, name: "purchase", at: at(d, 600), page: site + "checkout", tx: fmt.Sprintf("T%d", u), revenue: money(400)}
		if rng.IntN(5) == 0 {
			p.currency = "EUR"
		}
		evs = append(evs, p)
		if rng.IntN(6) == 0 { // the same purchase sent twice
			evs = append(evs, p)
		}
		if rng.IntN(8) == 0 {
			evs = append(evs, ev{user: user, name: "refund", at: at(min(d+3, days-1), 700), page: site, tx: p.tx, refund: "10"})
		}
	}
	ga4File = lines(evs...)

	var b strings.Builder
	b.WriteString("order_id,created_at,currency,revenue,refunded,fees,financial_status,cancelled_at,sku,quantity,price,utm_source,utm_campaign,utm_term\n")
	for o := 0; o < 120; o++ {
		campaign := []string{"1001", "1002", ""}[rng.IntN(3)]
		source := "tiktok"
		if campaign == "" {
			source = "facebook"
		}
		d := rng.IntN(days)
		sku := []string{"SKU-A", "SKU-B", "SKU-C"}[rng.IntN(3)]
		if d >= 15 {
			sku = "SKU-A" // SKU-C, which has no cost, only in April
		}
		qty := rng.IntN(3) + 1
		price := money(80)
		revenue := decimal.RequireFromString(price).Mul(decimal.NewFromInt(int64(qty)))
		refunded, status := "0", "paid"
		if rng.IntN(7) == 0 {
			refunded, status = revenue.StringFixed(2), "refunded"
		}
		fmt.Fprintf(&b, "O%d,%s:00 +0000,USD,%s,%s,%s,%s,,%s,%d,%s,%s,%s,\n",
			o, at(d, rng.IntN(1400)), revenue.StringFixed(2), refunded, money(3), status, sku, qty, price, source, campaign)
	}
	ordersFile = b.String()
	f.importFile("costs.csv", "sku,unit_cost,currency,valid_from\nSKU-A,10.00,USD,2024-01-01\nSKU-B,7.25,USD,2024-04-25\n", shop.Costs{})
	f.importFile("events.ndjson", ga4File, ga4Format)
	f.importFile("orders.csv", ordersFile, ordersFormat)
	return ga4File, ordersFile
}

func (f *finance) csv(q export.Query) []byte {
	f.t.Helper()
	rows, err := export.Load(f.ctx, f.conn, f.target(), q)
	require.NoError(f.t, err)
	var b bytes.Buffer
	require.NoError(f.t, export.WriteCSV(&b, rows))
	return b.Bytes()
}

// exact reads a money cell as a rational; nil for an empty cell.
func exact(s string) *big.Rat {
	if s == "" {
		return nil
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic(s)
	}
	return r
}

// halfEven6 rounds x half-even to 6 decimals, independently of metrics.
func halfEven6(x *big.Rat) string {
	scaled := new(big.Rat).Mul(x, big.NewRat(1_000_000, 1))
	floor := new(big.Int).Div(scaled.Num(), scaled.Denom())
	frac := new(big.Rat).Sub(scaled, new(big.Rat).SetInt(floor))
	if c := frac.Cmp(big.NewRat(1, 2)); c > 0 || c == 0 && floor.Bit(0) == 1 {
		floor.Add(floor, big.NewInt(1))
	}
	return decimal.NewFromBigInt(floor, -6).StringFixed(6)
}

// TestExportInvariants checks, on generated data, what must hold whatever
// the data: a month is the sum of its days and its ratios come from those
// sums; one unknown day makes the month's cost unknown; the export agrees
// with the views; no GA4 conversion is last-clicked twice; importing the
// same content again, gzipped or under another name, changes nothing.
func TestExportInvariants(t *testing.T) {
	f := newFinance(t)
	ga4File, ordersFile := generated(t, f, 1)
	q := export.Query{From: time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2024, 5, 31, 0, 0, 0, 0, time.UTC), By: export.ByDay}
	daysCSV := f.csv(q)
	days, _ := f.exportCells(q)
	q.By = export.ByMonth
	monthCSV := f.csv(q)
	months, _ := f.exportCells(q)
	require.GreaterOrEqual(t, len(months), 6, "2 campaigns × 2 months × USD, and EUR where GA4 had EUR purchases")

	additive := []string{"spend", "tiktok_conversions", "revenue_tiktok", "ga4_last_click_conversions", "revenue_ga4_last_click",
		"ga4_assisted_conversions", "revenue_ga4_assisted", "crm_deals", "revenue_crm", "shop_orders", "revenue_shop", "refunds", "fees"}
	sums := map[string]map[string]*big.Rat{}
	unknownCost := map[string]bool{}
	for k, row := range days {
		p := strings.Fields(k)
		mk := p[0][:7] + " " + p[1] + " " + p[2]
		if sums[mk] == nil {
			sums[mk] = map[string]*big.Rat{}
		}
		for _, c := range append(additive, "cost_of_goods") {
			if v := exact(row[c]); v != nil {
				if sums[mk][c] == nil {
					sums[mk][c] = new(big.Rat)
				}
				sums[mk][c].Add(sums[mk][c], v)
			}
		}
		unknownCost[mk] = unknownCost[mk] || row["cost_of_goods"] == ""
	}
	sawUnknown, sawKnown := false, false
	for mk, m := range months {
		for _, c := range additive {
			want := sums[mk][c]
			if want == nil {
				require.Equal(t, "", m[c], "%s %s", mk, c)
				continue
			}
			require.Zero(t, want.Cmp(exact(m[c])), "%s %s: month %s, days sum to %s", mk, c, m[c], want.FloatString(6))
		}
		if unknownCost[mk] {
			sawUnknown = true
			require.Equal(t, "", m["cost_of_goods"], mk)
			require.Equal(t, "", m["gross_margin"], mk)
			require.Equal(t, "", m["margin_roas_shop"], mk)
		} else {
			sawKnown = sawKnown || m["shop_orders"] != "0"
			require.Zero(t, sums[mk]["cost_of_goods"].Cmp(exact(m["cost_of_goods"])), mk)
			margin := new(big.Rat).Set(exact(m["revenue_shop"]))
			for _, c := range []string{"cost_of_goods", "refunds", "fees"} {
				margin.Sub(margin, exact(m[c]))
			}
			require.Zero(t, margin.Cmp(exact(m["gross_margin"])), mk)
		}
		spend := exact(m["spend"])
		for ratio, revenue := range map[string]string{"roas_tiktok": "revenue_tiktok", "roas_ga4_last_click": "revenue_ga4_last_click",
			"roas_ga4_assisted": "revenue_ga4_assisted", "roas_shop": "revenue_shop", "margin_roas_shop": "gross_margin"} {
			if spend == nil || spend.Sign() == 0 || m[revenue] == "" {
				require.Equal(t, "", m[ratio], "%s %s: undefined", mk, ratio)
				continue
			}
			require.Equal(t, halfEven6(new(big.Rat).Quo(exact(m[revenue]), spend)), m[ratio], "%s %s from the month's sums", mk, ratio)
		}
	}
	require.True(t, sawUnknown && sawKnown, "the generated data has months with known and with unknown cost")

	// The export and the views agree.
	var viewSpend, viewRevenue string
	require.NoError(t, f.conn.QueryRow(f.ctx, "SELECT toString(sum(spend)), toString(sum(revenue_ga4_last_click + revenue_shop)) FROM "+f.db+".attribution_campaign_daily").Scan(&viewSpend, &viewRevenue))
	exportSpend, exportRevenue := new(big.Rat), new(big.Rat)
	var lastClicks uint64
	for _, row := range days {
		if v := exact(row["spend"]); v != nil {
			exportSpend.Add(exportSpend, v)
		}
		exportRevenue.Add(exportRevenue, exact(row["revenue_ga4_last_click"]))
		exportRevenue.Add(exportRevenue, exact(row["revenue_shop"]))
		var n uint64
		fmt.Sscan(row["ga4_last_click_conversions"], &n)
		lastClicks += n
	}
	require.Zero(t, exact(viewSpend).Cmp(exportSpend), "spend: view %s", viewSpend)
	require.Zero(t, exact(viewRevenue).Cmp(exportRevenue), "revenue: view %s", viewRevenue)

	var conversions uint64
	require.NoError(t, f.conn.QueryRow(f.ctx, "SELECT count() FROM "+f.db+".ga4_conversions").Scan(&conversions))
	require.LessOrEqual(t, lastClicks, conversions, "a GA4 conversion is last-clicked at most once")
	require.Greater(t, lastClicks, uint64(0))

	// The same content again: gzipped under the same name, and plain under
	// other names, changes no byte of either export.
	gz := func(s string) string {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write([]byte(s))
		require.NoError(t, zw.Close())
		return b.String()
	}
	f.importFile("events.ndjson", gz(ga4File), ga4Format)
	f.importFile("orders.csv", gz(ordersFile), ordersFormat)
	f.importFile("events_intraday.ndjson", ga4File, ga4Format)
	f.importFile("orders-again.csv", ordersFile, ordersFormat)
	q.By = export.ByDay
	require.Equal(t, string(daysCSV), string(f.csv(q)))
	q.By = export.ByMonth
	require.Equal(t, string(monthCSV), string(f.csv(q)))
}

// TestReportingViewsAgreeWithExport: with a reporting currency set, the BI
// reporting view and `export roas --currency` convert independently (SQL
// and Go) and agree to the digit on every cell, for a currency reached by
// multiplying (USD, rates quoted EUR→USD) and one reached by dividing (EUR),
// with random 4- to 12-place rates, weekends without rates and a gap of
// more than a week where amounts are unknown.
func TestReportingViewsAgreeWithExport(t *testing.T) {
	f := newFinance(t)
	generated(t, f, 2)
	rng := rand.New(rand.NewPCG(3, 4))
	var rates strings.Builder
	rates.WriteString("date,base,quote,rate\n")
	for d := time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC); d.Before(time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)); d = d.AddDate(0, 0, 1) {
		if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday || d.After(time.Date(2024, 4, 24, 0, 0, 0, 0, time.UTC)) && d.Before(time.Date(2024, 5, 6, 0, 0, 0, 0, time.UTC)) {
			continue
		}
		places := int32(4 + rng.IntN(9))
		rate := decimal.New(1_000_000_000_000+rng.Int64N(200_000_000_000), -12).Truncate(places)
		fmt.Fprintf(&rates, "%s,EUR,USD,%s\n", d.Format(time.DateOnly), rate)
	}
	f.importFile("rates.csv", rates.String(), fx.Format{})

	q := export.Query{From: time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2024, 5, 31, 0, 0, 0, 0, time.UTC), By: export.ByDay}
	for _, rc := range []string{"USD", "EUR"} {
		t.Run(rc, func(t *testing.T) {
			f.settings(attribution.Settings{LookbackDays: 7, MatchBy: "id_or_name", ConversionEvents: []string{"purchase"}, ReportingCurrency: rc})
			stored, err := export.ReportingCurrency(f.ctx, f.conn, f.target())
			require.NoError(t, err)
			require.Equal(t, rc, stored, "export roas without --currency uses it")
			q.Currency = rc
			cells, _ := f.exportCells(q)
			cols := export.Columns[5:]
			sel := make([]string, len(cols))
			for i, c := range cols {
				sel[i] = "toString(" + c + ")"
			}
			rows, err := f.conn.Query(f.ctx, fmt.Sprintf("SELECT toString(stat_date), campaign_id, currency, %s FROM %s.bi_attribution_campaign_daily_reporting",
				strings.Join(sel, ", "), f.db))
			require.NoError(t, err)
			seen, unknown := 0, 0
			for rows.Next() {
				vals := make([]*string, len(cols))
				day, campaign, currency := "", "", ""
				dest := []any{&day, &campaign, &currency}
				for i := range vals {
					dest = append(dest, &vals[i])
				}
				require.NoError(t, rows.Scan(dest...))
				require.Equal(t, rc, currency)
				row, ok := cells[day+" "+campaign+" "+rc]
				require.True(t, ok, "the export has %s %s", day, campaign)
				seen++
				for i, c := range cols {
					want := row[c]
					if vals[i] == nil {
						require.Equal(t, "", want, "%s %s %s: view NULL, export %q", day, campaign, c)
						if c == "revenue_ga4_last_click" {
							unknown++
						}
						continue
					}
					require.NotEqual(t, "", want, "%s %s %s: export empty, view %s", day, campaign, c, *vals[i])
					require.Zero(t, exact(want).Cmp(exact(*vals[i])), "%s %s %s: export %s, view %s", day, campaign, c, want, *vals[i])
				}
			}
			require.NoError(t, rows.Err())
			require.Equal(t, len(cells), seen, "one view row per export row")
			require.Positive(t, unknown, "the gap without rates leaves amounts unknown")
		})
	}
}

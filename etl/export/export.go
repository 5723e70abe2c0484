// Package export writes the finance ROAS export: per period and campaign,
// spend, revenue by source, cost of goods, refunds, fees, gross margin, ROAS
// and margin-adjusted ROAS, as CSV or Parquet, reproducible byte for byte.
//
// Rounding: money columns are exact sums of 6-decimal inputs and are never
// rounded; ratios (ROAS) are exact rationals rounded once, half-even, to 6
// decimals (metrics.ROASScale). An undefined value (no spend, unknown cost)
// is an empty CSV cell and a Parquet null.
package export

import (
	"context"
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"

	"github.com/adhouse/adhouse/metrics"
	"github.com/adhouse/adhouse/schema"
)

// RoundingRule is the rounding statement carried in every export.
const RoundingRule = "money: exact sums of 6-decimal amounts, never rounded; ratios: exact, rounded half-even (banker's) once to 6 decimals; empty/null = undefined (zero or missing denominator, unknown cost)"

// By is the period a row covers.
type By string

// The periods rows can cover.
const (
	ByDay   By = "day"
	ByMonth By = "month"
)

// Query selects the rows of an export.
type Query struct {
	From, To time.Time // inclusive local days
	By       By
	// Currency, when set, reports every amount in this currency: each day's
	// amounts convert at that day's imported rate (fx.Table.Convert), and a
	// campaign's rows in several currencies become one.
	Currency string
}

// Row is one period × advertiser × campaign × currency of the export.
type Row struct {
	Period, AdvertiserID, CampaignID, CampaignName, Currency string

	TikTokConversions, GA4LastClick, GA4Assisted, CRMDeals, ShopOrders uint64

	// Main aggregates spend, TikTok revenue, GA4 last-click revenue, shop and
	// CRM revenue, cost of goods, refunds and fees; Assisted holds the same
	// spend with GA4 assisted revenue as its GA4 revenue.
	Main, Assisted metrics.Aggregate

	// Unknown and AssistedUnknown hold the money fields of Main and of
	// Assisted that lacked an exchange rate on some day: their totals, and
	// every ratio or margin built on them, are unknown.
	Unknown, AssistedUnknown metrics.FieldSet
	// NoRate names each missing rate as "DAY FROM/TO", sorted.
	NoRate []string
}

// Columns is the export's header, in order.
var Columns = []string{
	"period", "advertiser_id", "campaign_id", "campaign_name", "currency",
	"spend",
	"tiktok_conversions", "revenue_tiktok",
	"ga4_last_click_conversions", "revenue_ga4_last_click",
	"ga4_assisted_conversions", "revenue_ga4_assisted",
	"crm_deals", "revenue_crm",
	"shop_orders", "revenue_shop", "cost_of_goods", "refunds", "fees", "gross_margin",
	"roas_tiktok", "roas_ga4_last_click", "roas_ga4_assisted", "roas_crm", "roas_shop", "margin_roas_shop",
}

// Cell is one value of a row: text, a count, or a decimal (which may be undefined).
type Cell struct {
	Text    string
	IsText  bool
	Count   uint64
	IsCount bool
	Value   metrics.Value
}

// Cells returns the row's values in Columns order.
func (r *Row) Cells() []Cell {
	txt := func(s string) Cell { return Cell{Text: s, IsText: true} }
	cnt := func(n uint64) Cell { return Cell{Count: n, IsCount: true} }
	m, a := &r.Main, &r.Assisted
	unknown := r.Unknown
	if m.HasNull(metrics.FieldCostOfGoods) {
		// One day of unknown cost makes the whole period's cost unknown: a
		// sum that skipped it would understate the cost and flatter the margin.
		unknown |= metrics.Fields(metrics.FieldCostOfGoods)
	}
	// val (Main) and assisted (Assisted) blank v when a field it is built
	// from is unknown there.
	in := func(unknown metrics.FieldSet) func(v metrics.Value, from ...metrics.Field) Cell {
		return func(v metrics.Value, from ...metrics.Field) Cell {
			for _, f := range from {
				if unknown.Has(f) {
					return Cell{}
				}
			}
			return Cell{Value: v}
		}
	}
	val, assisted := in(unknown), in(r.AssistedUnknown)
	const (
		spend, tiktok, ga4, crm, shop = metrics.FieldSpend, metrics.FieldTikTokRevenue, metrics.FieldGA4Revenue, metrics.FieldCRMRevenue, metrics.FieldShopRevenue
		cogs, refunds, fees           = metrics.FieldCostOfGoods, metrics.FieldRefunds, metrics.FieldFees
	)
	return []Cell{
		txt(r.Period), txt(r.AdvertiserID), txt(r.CampaignID), txt(r.CampaignName), txt(r.Currency),
		val(m.Spend(), spend),
		cnt(r.TikTokConversions), val(m.Revenue(metrics.TikTokRevenue), tiktok),
		cnt(r.GA4LastClick), val(m.Revenue(metrics.GA4Revenue), ga4),
		cnt(r.GA4Assisted), assisted(a.Revenue(metrics.GA4Revenue), ga4),
		cnt(r.CRMDeals), val(m.Revenue(metrics.CRMRevenue), crm),
		cnt(r.ShopOrders), val(m.Revenue(metrics.ShopRevenue), shop), val(m.CostOfGoods(), cogs), val(m.Refunds(), refunds), val(m.Fees(), fees),
		val(GrossMargin(m), shop, cogs, refunds, fees),
		val(m.ROAS(metrics.TikTokRevenue), spend, tiktok), val(m.ROAS(metrics.GA4Revenue), spend, ga4), assisted(a.ROAS(metrics.GA4Revenue), spend, ga4),
		val(m.ROAS(metrics.CRMRevenue), spend, crm), val(m.ROAS(metrics.ShopRevenue), spend, shop),
		val(m.MarginROAS(metrics.ShopRevenue), spend, shop, cogs, refunds, fees),
	}
}

// GrossMargin is shop revenue − cost of goods − refunds − fees, exact, at
// money scale; undefined when any of them is unknown.
func GrossMargin(a *metrics.Aggregate) metrics.Value {
	sum := new(big.Int)
	for i, v := range []metrics.Value{a.Revenue(metrics.ShopRevenue), a.CostOfGoods(), a.Refunds(), a.Fees()} {
		q, ok := v.Scaled()
		if !ok {
			return metrics.Value{}
		}
		if i == 0 {
			sum.Add(sum, q)
		} else {
			sum.Sub(sum, q)
		}
	}
	return metrics.NewRatio(sum, big.NewInt(1_000_000), metrics.AmountScale)
}

// Load reads the export's rows from the attribution_campaign_daily view and
// aggregates them by period, in a stable order: period, currency, advertiser,
// campaign.
func Load(ctx context.Context, conn driver.Conn, t schema.Target, q Query) ([]*Row, error) {
	database := t.Database
	if q.By != ByDay && q.By != ByMonth {
		return nil, fmt.Errorf("export: by %q: want day or month", q.By)
	}
	if q.To.Before(q.From) {
		return nil, fmt.Errorf("export: --to %s is before --from %s", q.To.Format(time.DateOnly), q.From.Format(time.DateOnly))
	}
	sql := fmt.Sprintf(`SELECT a.advertiser_id, a.campaign_id, ifNull(c.campaign_name, ''), a.stat_date, a.currency,
    toString(a.spend), a.tiktok_conversions, toString(a.revenue_tiktok),
    a.ga4_last_click_conversions, toString(a.revenue_ga4_last_click),
    a.ga4_assisted_conversions, toString(a.revenue_ga4_assisted),
    a.crm_deals, toString(a.revenue_crm),
    a.shop_orders, toString(a.revenue_shop), toString(a.cost_of_goods), toString(a.refunds), toString(a.fees)
FROM %[1]s.attribution_campaign_daily AS a
LEFT JOIN (SELECT advertiser_id, campaign_id, campaign_name FROM %[1]s.campaigns FINAL) AS c
    ON a.advertiser_id = c.advertiser_id AND a.campaign_id = c.campaign_id
WHERE a.stat_date >= ? AND a.stat_date <= ?
SETTINGS join_use_nulls = 1`, database)
	var rates metrics.ExchangeRates
	if q.Currency != "" {
		c, err := metrics.ParseCurrency(q.Currency)
		if err != nil {
			return nil, fmt.Errorf("export: --currency: %w", err)
		}
		q.Currency = c.String()
		if rates, err = loadRates(ctx, conn, database, q); err != nil {
			return nil, err
		}
	}
	rows, err := conn.Query(ctx, sql, q.From.Format(time.DateOnly), q.To.Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	defer rows.Close()
	type key struct{ period, adv, campaign, currency string }
	groups := map[key]*Row{}
	noRate := map[*Row]map[string]bool{}
	for rows.Next() {
		var (
			adv, campaign, name, currency                 string
			day                                           time.Time
			tiktokConv, last, assisted, deals, shopOrders uint64
			// In moneyFields order; NULL is an unknown amount.
			money [9]*string
		)
		if err := rows.Scan(&adv, &campaign, &name, &day, &currency, &money[0], &tiktokConv, &money[1],
			&last, &money[2], &assisted, &money[3], &deals, &money[4], &shopOrders, &money[5], &money[6], &money[7], &money[8]); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		period := day.Format(time.DateOnly)
		if q.By == ByMonth {
			period = day.Format("2006-01")
		}
		from := currency
		if q.Currency != "" {
			currency = q.Currency
		}
		k := key{period, adv, campaign, currency}
		g := groups[k]
		if g == nil {
			g = &Row{Period: period, AdvertiserID: adv, CampaignID: campaign, CampaignName: name, Currency: currency}
			groups[k] = g
		}
		g.TikTokConversions += tiktokConv
		g.GA4LastClick += last
		g.GA4Assisted += assisted
		g.CRMDeals += deals
		g.ShopOrders += shopOrders
		var main, assist metrics.Row
		cur, err := metrics.ParseCurrency(currency)
		if err != nil {
			return nil, fmt.Errorf("export: campaign %s on %s: currency %q: %w", campaign, period, currency, err)
		}
		main.Currency, assist.Currency = cur, cur
		fromCur, err := metrics.ParseCurrency(from)
		if err != nil {
			return nil, fmt.Errorf("export: campaign %s on %s: currency %q: %w", campaign, period, from, err)
		}
		for i, s := range money {
			f, r := moneyFields[i], &main
			if i == 3 {
				r = &assist
			}
			if s == nil {
				r.SetNull(f)
				if i == 0 {
					assist.SetNull(f)
				}
				continue
			}
			v := *s
			if from != currency {
				amount, err := decimal.NewFromString(v)
				if err != nil {
					return nil, fmt.Errorf("export: campaign %s on %s: %s %q: %w", campaign, period, f, v, err)
				}
				converted, ok := rates.Convert(amount, day, fromCur, cur)
				if amount.IsZero() {
					// Nothing converts to nothing in any currency, rate or not.
					converted, ok = amount, true
				}
				if !ok {
					// Unknown, not zero: the row is kept, its amount blank.
					r.SetNull(f)
					if r == &main {
						g.Unknown |= metrics.Fields(f)
					}
					if i == 0 || r == &assist {
						assist.SetNull(f)
						g.AssistedUnknown |= metrics.Fields(f)
					}
					if noRate[g] == nil {
						noRate[g] = map[string]bool{}
					}
					noRate[g][day.Format(time.DateOnly)+" "+from+"/"+currency] = true
					continue
				}
				v = converted.StringFixed(metrics.AmountScale)
			}
			if err := r.Set(f, v); err != nil {
				return nil, fmt.Errorf("export: campaign %s on %s: %s: %w", campaign, period, f, err)
			}
			if i == 0 {
				if err := assist.Set(f, v); err != nil {
					return nil, fmt.Errorf("export: campaign %s on %s: %s: %w", campaign, period, f, err)
				}
			}
		}
		if err := g.Main.Add(&main); err != nil {
			return nil, fmt.Errorf("export: campaign %s on %s: %w", campaign, period, err)
		}
		if err := g.Assisted.Add(&assist); err != nil {
			return nil, fmt.Errorf("export: campaign %s on %s: %w", campaign, period, err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	out := make([]*Row, 0, len(groups))
	for _, g := range groups {
		for r := range noRate[g] {
			g.NoRate = append(g.NoRate, r)
		}
		sort.Strings(g.NoRate)
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Period != b.Period {
			return a.Period < b.Period
		}
		if a.Currency != b.Currency {
			return a.Currency < b.Currency
		}
		if a.AdvertiserID != b.AdvertiserID {
			return a.AdvertiserID < b.AdvertiserID
		}
		return a.CampaignID < b.CampaignID
	})
	return out, nil
}

// moneyFields are the money columns Load reads, in query order; the fourth
// (GA4 assisted revenue) belongs to Row.Assisted, spend to both aggregates.
var moneyFields = [9]metrics.Field{
	metrics.FieldSpend, metrics.FieldTikTokRevenue, metrics.FieldGA4Revenue, metrics.FieldGA4Revenue,
	metrics.FieldCRMRevenue, metrics.FieldShopRevenue, metrics.FieldCostOfGoods, metrics.FieldRefunds, metrics.FieldFees,
}

// loadRates reads the imported rates an export of q may use: from
// metrics.RateMaxAge days before its first day to its last.
func loadRates(ctx context.Context, conn driver.Conn, database string, q Query) (metrics.ExchangeRates, error) {
	rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT rate_date, base, quote, toString(rate) FROM %s.fx_rates
WHERE rate_date >= ? AND rate_date <= ?`, database),
		q.From.AddDate(0, 0, -metrics.RateMaxAge).Format(time.DateOnly), q.To.Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("export: exchange rates: %w", err)
	}
	defer rows.Close()
	t := metrics.ExchangeRates{}
	for rows.Next() {
		var (
			day               time.Time
			base, quote, text string
		)
		if err := rows.Scan(&day, &base, &quote, &text); err != nil {
			return nil, fmt.Errorf("export: exchange rates: %w", err)
		}
		where := fmt.Sprintf("export: exchange rate %s %s/%s %q", day.Format(time.DateOnly), base, quote, text)
		rate, err := decimal.NewFromString(text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		b, err := metrics.ParseCurrency(base)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		qc, err := metrics.ParseCurrency(quote)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		t.Add(day, b, qc, rate)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("export: exchange rates: %w", err)
	}
	return t, nil
}

// ReportingCurrency returns the reporting currency stored in the attribution
// settings (imports.reporting_currency, saved by migrate and import), or "".
func ReportingCurrency(ctx context.Context, conn driver.Conn, t schema.Target) (string, error) {
	var c string
	if err := conn.QueryRow(ctx, "SELECT ifNull(any(reporting_currency), '') FROM "+t.Database+".attribution_config").Scan(&c); err != nil {
		return "", fmt.Errorf("export: reporting currency: %w", err)
	}
	return c, nil
}

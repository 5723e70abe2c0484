package queries

import (
	"fmt"
	"strings"

	"github.com/adhouse/adhouse/metrics"
)

// AttributionRatio is one ROAS column of the BI attribution views: a metric
// over the sums of attribution_<level>_daily, named by its column.
type AttributionRatio struct {
	Name   string
	Metric metrics.Metric
	// Sums names the attribution column behind each field of the metric.
	Sums map[metrics.Field]string
}

// AttributionRatios are the ROAS columns of bi_attribution_<level>_daily,
// one per revenue source (rules: docs/attribution.md).
var AttributionRatios = []AttributionRatio{
	{"roas_tiktok", metrics.Metric{Kind: metrics.KindROAS, Revenue: metrics.TikTokRevenue}, map[metrics.Field]string{metrics.FieldSpend: "spend", metrics.FieldTikTokRevenue: "revenue_tiktok"}},
	{"roas_ga4_last_click", metrics.Metric{Kind: metrics.KindROAS, Revenue: metrics.GA4Revenue}, map[metrics.Field]string{metrics.FieldSpend: "spend", metrics.FieldGA4Revenue: "revenue_ga4_last_click"}},
	{"roas_ga4_assisted", metrics.Metric{Kind: metrics.KindROAS, Revenue: metrics.GA4Revenue}, map[metrics.Field]string{metrics.FieldSpend: "spend", metrics.FieldGA4Revenue: "revenue_ga4_assisted"}},
	{"roas_crm", metrics.Metric{Kind: metrics.KindROAS, Revenue: metrics.CRMRevenue}, map[metrics.Field]string{metrics.FieldSpend: "spend", metrics.FieldCRMRevenue: "revenue_crm"}},
	{"roas_shop", metrics.Metric{Kind: metrics.KindROAS, Revenue: metrics.ShopRevenue}, map[metrics.Field]string{metrics.FieldSpend: "spend", metrics.FieldShopRevenue: "revenue_shop"}},
	{"margin_roas_shop", metrics.Metric{Kind: metrics.KindMarginROAS, Revenue: metrics.ShopRevenue}, map[metrics.Field]string{
		metrics.FieldSpend: "spend", metrics.FieldShopRevenue: "revenue_shop", metrics.FieldCostOfGoods: "cost_of_goods",
		metrics.FieldRefunds: "refunds", metrics.FieldFees: "fees"}},
}

// attributionRatioColumns renders AttributionRatios as select items, each
// ratio by MetricSQL, so the SQL equals the Go metrics digit for digit.
func attributionRatioColumns(indent string) (string, error) {
	cols := make([]string, 0, len(AttributionRatios))
	for _, r := range AttributionRatios {
		d, ok := r.Metric.Descriptor()
		if !ok {
			return "", fmt.Errorf("queries: attribution ratio %s has no descriptor", r.Name)
		}
		expr, err := MetricSQL(d, r.Sums)
		if err != nil {
			return "", fmt.Errorf("queries: attribution ratio %s: %w", r.Name, err)
		}
		cols = append(cols, indent+expr+" AS "+r.Name)
	}
	return strings.Join(cols, ",\n"), nil
}

// attributionMoney are the money columns of attribution_<level>_daily; the
// reporting views convert them. attributionCounts are its counts.
var (
	attributionMoney  = []string{"spend", "revenue_tiktok", "revenue_ga4_last_click", "revenue_ga4_assisted", "revenue_crm", "revenue_shop", "cost_of_goods", "refunds", "fees"}
	attributionCounts = []string{"tiktok_conversions", "tiktok_purchases", "ga4_last_click_conversions", "ga4_assisted_conversions", "crm_deals", "shop_orders"}
)

// fxConverted is the SQL converting money column col of a row in
// source_currency into rc at the row's joined rate: the product (direct
// pair) or the quotient (inverse pair) rounded half-even to 6 decimals from
// the exact value, as metrics.ExchangeRates.Convert does; NULL (unknown)
// when no rate applies, and zero needs none. The row must carry rc, rate
// (1 when none), inverse and no_rate.
func fxConverted(col string) string {
	x := "abs(CAST(" + col + ", 'Decimal(76, 6)'))"
	rate := "CAST(rate, 'Decimal(76, 12)')"
	// The quotient truncated to 6 places, its exact remainder, and half a
	// unit of the 6th place times the rate: 2·rem against that decides.
	q := fmt.Sprintf("CAST(CAST(%s, 'Decimal(76, 18)') / %s, 'Decimal(76, 6)')", x, rate)
	rem := fmt.Sprintf("(%s - %s * %s)", x, q, rate)
	unit := rate + " * toDecimal256('0.000001', 6)"
	quotient := fmt.Sprintf("(%s + if(2 * %s > %s OR (2 * %s = %s AND toInt256(%s * 1000000) %% 2 = 1), toDecimal256('0.000001', 6), toDecimal256(0, 6)))",
		q, rem, unit, rem, unit, q)
	product := fmt.Sprintf("roundBankers(%s * %s, 6)", x, rate)
	return fmt.Sprintf(`CAST(multiIf(source_currency = rc OR isNull(%[1]s) OR %[1]s = 0, CAST(%[1]s, 'Nullable(Decimal(76, 18))'),
        no_rate, NULL,
        if(%[1]s < 0, -1, 1) * if(inverse = 1, CAST(%[2]s, 'Decimal(76, 18)'), CAST(%[3]s, 'Decimal(76, 18)'))), 'Nullable(Decimal(38, 6))')`,
		col, quotient, product)
}

// fxUnknown is the SQL that tells whether fxConverted(col) lacked a rate.
func fxUnknown(col string) string {
	return fmt.Sprintf("(source_currency != rc AND ifNull(%s != 0, 0) AND no_rate)", col)
}

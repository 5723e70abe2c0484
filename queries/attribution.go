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

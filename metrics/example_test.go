package metrics_test

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"

	"github.com/adhouse/adhouse/metrics"
	"github.com/shopspring/decimal"
)

// usdRow builds a USD row from TikTok-style strings.
func usdRow(spend string, impressions, clicks uint64) metrics.Row {
	return metrics.Row{
		Currency:    metrics.MustCurrency("USD"),
		Spend:       metrics.MustParseAmount(spend),
		Impressions: impressions,
		Clicks:      clicks,
	}
}

// Two ad groups' days: a ratio of sums, never a mean of the rows' ratios.
func ExampleAggregate() {
	a := usdRow("20.000", 20000, 300)
	a.Installs[metrics.AppInstall] = 40
	b := usdRow("10.50", 5000, 100)
	b.Installs[metrics.AppInstall] = 10

	var agg metrics.Aggregate
	for _, r := range []*metrics.Row{&a, &b} {
		if err := agg.Add(r); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Println(agg.Spend(), agg.Spend().Currency(), agg.Rows())
	fmt.Println("CPI", agg.CPI(metrics.AppInstall))
	fmt.Println("CTR", agg.CTR())
	// Output:
	// 30.500000 USD 2
	// CPI 0.610000
	// CTR 0.01600000
}

// CPI is spend divided by the chosen installs: here attributed app_install
// versus SKAN, whose numbers are missing on one day.
func ExampleAggregate_CPI() {
	day1 := usdRow("20.00", 0, 0)
	day1.Installs[metrics.AppInstall] = 40
	day1.Installs[metrics.SKANInstall] = 16
	day2 := usdRow("10.00", 0, 0)
	day2.Installs[metrics.AppInstall] = 10
	day2.SetNull(metrics.FieldSKANInstall) // TikTok returned "-"

	var agg metrics.Aggregate
	_ = agg.Add(&day1)
	_ = agg.Add(&day2)
	fmt.Println(agg.CPI(metrics.AppInstall), agg.CPI(metrics.AppInstall).Currency())
	fmt.Println(agg.CPI(metrics.SKANInstall), agg.HasNull(metrics.FieldSKANInstall))
	fmt.Println(agg.CPI(metrics.MMPInstall)) // no MMP installs: 0, so undefined
	// Output:
	// 0.600000 USD
	// 1.875000 true
	// NULL
}

// IPM is installs per thousand impressions.
func ExampleAggregate_IPM() {
	r := usdRow("12.00", 8000, 90)
	r.Installs[metrics.RealTimeAppInstall] = 27
	var agg metrics.Aggregate
	_ = agg.Add(&r)
	fmt.Println(agg.IPM(metrics.RealTimeAppInstall))
	// Output: 3.375000
}

// CPM is spend per thousand impressions.
func ExampleAggregate_CPM() {
	r := usdRow("12.34", 4696, 51)
	var agg metrics.Aggregate
	_ = agg.Add(&r)
	fmt.Println(agg.CPM(), agg.CPM().Currency())
	// Output: 2.627768 USD
}

// CPC is spend per click; zero clicks give an undefined CPC, not 0 or Inf.
func ExampleAggregate_CPC() {
	r := usdRow("12.34", 4696, 51)
	var agg, noClicks metrics.Aggregate
	_ = agg.Add(&r)
	r.Clicks = 0
	_ = noClicks.Add(&r)
	fmt.Println(agg.CPC(), noClicks.CPC(), noClicks.CPC().Defined())
	// Output: 0.241961 NULL false
}

// CTR is a fraction; render it as a percentage only at the edge. Rounding
// the fraction to scale 4 is the single rounding for a percentage with 2
// decimals.
func ExampleAggregate_CTR() {
	r := usdRow("12.34", 4696, 51)
	var agg metrics.Aggregate
	_ = agg.Add(&r)
	ctr := agg.CTR()
	pct, _ := ctr.WithScale(4).Decimal()
	fmt.Println(ctr, pct.Shift(2).StringFixed(2)+"%")
	// Output: 0.01086031 1.09%
}

// Click-to-install is installs per click, a fraction.
func ExampleAggregate_ClickToInstall() {
	r := usdRow("5.00", 1000, 64)
	r.Installs[metrics.AppInstall] = 8
	var agg metrics.Aggregate
	_ = agg.Add(&r)
	fmt.Println(agg.ClickToInstall(metrics.AppInstall))
	// Output: 0.12500000
}

// ROAS is revenue over spend, with the revenue source chosen per call.
func ExampleAggregate_ROAS() {
	r := usdRow("40.00", 0, 0)
	r.Revenue[metrics.TikTokRevenue] = metrics.MustParseAmount("130.00")
	r.Revenue[metrics.GA4Revenue] = metrics.MustParseAmount("97.25")
	var agg metrics.Aggregate
	_ = agg.Add(&r)
	fmt.Println("tiktok", agg.ROAS(metrics.TikTokRevenue))
	fmt.Println("ga4   ", agg.ROAS(metrics.GA4Revenue))
	// Output:
	// tiktok 3.250000
	// ga4    2.431250
}

// Margin-adjusted ROAS subtracts cost of goods, refunds and fees; it can be
// negative.
func ExampleAggregate_MarginROAS() {
	r := usdRow("40.00", 0, 0)
	r.Revenue[metrics.ShopRevenue] = metrics.MustParseAmount("100.00")
	r.CostOfGoods = metrics.MustParseAmount("55.00")
	r.Refunds = metrics.MustParseAmount("10.00")
	r.Fees = metrics.MustParseAmount("3.00")
	var agg metrics.Aggregate
	_ = agg.Add(&r)
	fmt.Println(agg.MarginROAS(metrics.ShopRevenue))
	r.CostOfGoods = metrics.MustParseAmount("95.00")
	agg = metrics.Aggregate{}
	_ = agg.Add(&r)
	fmt.Println(agg.MarginROAS(metrics.ShopRevenue))
	// Output:
	// 0.800000
	// -0.200000
}

// With a configured margin fraction instead of per-row costs.
func ExampleAggregate_MarginFractionROAS() {
	r := usdRow("40.00", 0, 0)
	r.Revenue[metrics.CRMRevenue] = metrics.MustParseAmount("100.00")
	var agg metrics.Aggregate
	_ = agg.Add(&r)
	fmt.Println(agg.MarginFractionROAS(metrics.CRMRevenue, decimal.RequireFromString("0.35")))
	// Output: 0.875000
}

// CPA is spend per conversion.
func ExampleAggregate_CPA() {
	r := usdRow("100.00", 50000, 700)
	r.Conversions = 7
	var agg metrics.Aggregate
	_ = agg.Add(&r)
	fmt.Println(agg.CPA())
	// Output: 14.285714
}

// Conversion rate is conversions per click, a fraction.
func ExampleAggregate_ConversionRate() {
	r := usdRow("100.00", 50000, 700)
	r.Conversions = 7
	var agg metrics.Aggregate
	_ = agg.Add(&r)
	fmt.Println(agg.ConversionRate())
	// Output: 0.01000000
}

// Partial aggregates, e.g. one per goroutine, merge into the same exact
// result; money of different currencies never mixes.
func ExampleAggregate_Merge() {
	a, b := usdRow("0.10", 1, 1), usdRow("0.20", 2, 2)
	var left, right metrics.Aggregate
	_ = left.Add(&a)
	_ = right.Add(&b)
	if err := left.Merge(&right); err != nil {
		fmt.Println(err)
	}
	fmt.Println(left.Spend()) // 0.1 + 0.2, exactly

	eur := metrics.Row{Currency: metrics.MustCurrency("EUR"), Spend: metrics.MustParseAmount("1")}
	fmt.Println(left.Add(&eur))
	// Output:
	// 0.300000
	// metrics: currency mismatch: aggregate is USD, got EUR (convert with an explicit FX table first)
}

// Grouped keeps one aggregate per key, in first-seen order.
func ExampleGrouped() {
	type key struct {
		Day      string
		Campaign string
	}
	var g metrics.Grouped[key]
	for _, in := range []struct {
		k      key
		spend  string
		clicks uint64
	}{
		{key{"2024-05-01", "A"}, "10.00", 40},
		{key{"2024-05-01", "B"}, "5.00", 0},
		{key{"2024-05-01", "A"}, "2.00", 8},
	} {
		r := usdRow(in.spend, 1000, in.clicks)
		if err := g.Add(in.k, &r); err != nil {
			fmt.Println(err)
			return
		}
	}
	for k, agg := range g.All() {
		fmt.Println(k.Day, k.Campaign, agg.Spend(), agg.CPC())
	}
	// Output:
	// 2024-05-01 A 12.000000 0.250000
	// 2024-05-01 B 5.000000 NULL
}

// TikTok money strings go straight into micro-units; "-" is a missing value
// for the caller to mark NULL.
func ExampleParseAmount() {
	for _, s := range []string{"20.000", "0.10", "1.1234567", "-"} {
		a, err := metrics.ParseAmount(s)
		fmt.Println(a.Micros(), err)
	}
	// Output:
	// 20000000 <nil>
	// 100000 <nil>
	// 0 metrics: parse amount "1.1234567": metrics: amount has more than 6 decimals
	// 0 metrics: parse amount "-": metrics: invalid decimal syntax
}

// The package's one rounding rule: half-even of the exact ratio.
func ExampleRoundRatio() {
	for _, c := range [][2]int64{{1, 8}, {3, 8}, {-1, 8}, {1250000001, 10000000000}} {
		q, _ := metrics.RoundRatio(big.NewInt(c[0]), big.NewInt(c[1]), 2)
		fmt.Println(q)
	}
	_, ok := metrics.RoundRatio(big.NewInt(1), big.NewInt(0), 2)
	fmt.Println(ok)
	// Output:
	// 12
	// 38
	// -12
	// 13
	// false
}

// WithScale re-rounds from the exact value, not from the printed one.
func ExampleValue_WithScale() {
	v := metrics.NewRatio(big.NewInt(1251), big.NewInt(10000), 3)
	fmt.Println(v, v.WithScale(2), v.WithScale(6))
	// Output: 0.125 0.13 0.125100
}

// JSON carries the fixed digits as a string, and null when undefined.
func ExampleValue_MarshalJSON() {
	r := usdRow("12.34", 4696, 0)
	var agg metrics.Aggregate
	_ = agg.Add(&r)
	out, _ := json.Marshal(map[string]metrics.Value{"cpm": agg.CPM(), "cpc": agg.CPC()})
	fmt.Println(string(out))
	// Output: {"cpc":null,"cpm":"2.627768"}
}

// The descriptors from which the SQL views are generated.
func ExampleMetrics() {
	for _, m := range metrics.Metrics()[8:12] {
		d, _ := m.Descriptor()
		var num []string
		for _, t := range d.Numerator {
			sign := "+"
			if t.Negative {
				sign = "-"
			}
			num = append(num, sign+"sum("+t.Field.Name()+")")
		}
		fmt.Printf("%-29s (%s) * %d / sum(%s) scale %d\n",
			d.Name, strings.Join(num, " "), d.Multiplier, d.Denominator.Name(), d.Scale)
	}
	d, _ := metrics.Metric{Kind: metrics.KindMarginROAS, Revenue: metrics.GA4Revenue}.Descriptor()
	fmt.Println(d.Name, len(d.Numerator), d.Denominator)
	// Output:
	// cpm                           (+sum(spend)) * 1000 / sum(impressions) scale 6
	// cpc                           (+sum(spend)) * 1 / sum(clicks) scale 6
	// ctr                           (+sum(clicks)) * 1 / sum(impressions) scale 8
	// click_to_install_app_install  (+sum(app_install)) * 1 / sum(clicks) scale 8
	// margin_roas_ga4 4 spend
}

// Filling a row from a TikTok report row, whose metrics arrive as strings
// and "-" for missing.
func ExampleRow_Set() {
	api := map[string]string{"spend": "20.00", "impressions": "5830", "clicks": "47", "app_install": "-"}
	r := metrics.Row{Currency: metrics.MustCurrency("USD")}
	for name, f := range map[string]metrics.Field{
		"spend": metrics.FieldSpend, "impressions": metrics.FieldImpressions,
		"clicks": metrics.FieldClicks, "app_install": metrics.FieldAppInstall,
	} {
		if err := r.Set(f, api[name]); err != nil {
			fmt.Println(err)
			return
		}
	}
	var agg metrics.Aggregate
	_ = agg.Add(&r)
	fmt.Println(agg.CPC(), agg.CPI(metrics.AppInstall))
	// Output: 0.425532 NULL
}

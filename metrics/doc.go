// Package metrics computes TikTok Ads reporting metrics — CPI, IPM, CPM, CPC,
// CTR, click-to-install, ROAS, margin-adjusted ROAS, CPA and conversion rate —
// exactly, from additive bases. It is pure Go: no I/O, no logging, no
// floating point.
//
// # Model
//
// A Row holds additive bases in one currency: spend, impressions, clicks,
// conversions, installs by InstallSource, revenue by RevenueSource, cost of
// goods, refunds and fees. An Aggregate sums rows; a Grouped keeps one
// Aggregate per caller key. Every metric is a ratio of sums read from an
// Aggregate — never a mean of per-row ratios — so a metric for a group is the
// same however its rows were split, merged or ordered. Reach and frequency
// are not additive and are deliberately not offered.
//
//	var agg metrics.Aggregate
//	for _, r := range rows {
//		if err := agg.Add(&r); err != nil { ... }
//	}
//	cpi := agg.CPI(metrics.SKANInstall) // which installs: the caller's choice
//	fmt.Println(cpi)                     // "1.250000", or "NULL"
//
// Which installs and which revenue feed a metric is always an explicit
// argument, and shows in the metric's column name (Metric.Name), e.g.
// "cpi_skan_app_install" or "roas_ga4".
//
// # Exactness
//
// Money is held as int64 micro-units (6 decimals; TikTok reports at most 6)
// and parsed straight from text (ParseAmount) or from decimal.Decimal
// (AmountFromDecimal). A money value with a non-zero seventh decimal is
// rejected with ErrPrecision rather than rounded, so no input is altered
// before aggregation. Sums of money and of counts are kept as 128-bit
// integers, which cannot overflow below 2^63 rows. Metric
// values are exact rationals until output. Add and Merge never allocate.
//
// # Currency
//
// Every Row carries its currency, an Aggregate takes the currency of its
// first row that has one, and adding or merging money of another currency
// fails with ErrCurrencyMismatch. There is no implicit FX conversion: revenue
// from GA4, shop or CRM in another currency must be converted, with an
// explicit FX table, before it enters a Row. Money-valued results (totals,
// CPI, CPM, CPC, CPA) carry the currency in Value.Currency.
//
// # Undefined results and NULL
//
// A zero or NULL denominator gives an undefined Value (Defined() == false,
// printed as NULL, JSON null), never 0, ±Inf, NaN or a panic. A NULL
// numerator gives an undefined Value too: unknown installs mean an unknown
// CPI, unknown cost of goods an unknown margin ROAS.
//
// A field is NULL in a row when marked with Row.SetNull (TikTok's "-"). Sums
// follow SQL sum(): a row's NULL field contributes nothing, and a total is
// NULL only when no row gave that field a value. Aggregate.HasNull tells
// whether any row's value was missing, for callers who need all-or-nothing.
//
// # Rounding (the contract the SQL views mirror digit for digit)
//
// Full precision inside; one rounding, at output only. A metric's exact
// value is the rational n/d of its Descriptor:
//
//	n = (Σ ±sum(numerator bases) [× margin]) × multiplier × 10^sd
//	d = sum(denominator base) × 10^sn
//
// where sums are integers in storage units (micro-units for money, so
// sn or sd is 6 for a money base and 0 for a count). With s the output scale,
//
//	a  = |n| × 10^s
//	q0 = ⌊a / |d|⌋,  r = a − q0 × |d|
//	q  = q0 + 1  if 2r > |d|, or if 2r = |d| and q0 is odd
//	q  = q0      otherwise
//	result = sign(n/d) × q × 10^−s
//
// That is round-half-to-even (banker's rounding) of the exact rational,
// symmetric for negative values: at scale 2, 1/8 → 0.12, 3/8 → 0.38,
// 0.125 → 0.12, 0.1250000001 → 0.13, −0.125 → −0.12, −0.375 → −0.38. No
// intermediate result is rounded (decimal.Div, which rounds to 16 digits, is
// not used). The text form prints exactly s digits after the point and never
// a negative zero ("-0.001" at scale 2 prints "0.00").
//
// # Output scales
//
// Each Kind declares its scale: MoneyScale (6) for CPI, CPM, CPC, CPA and
// money totals; PerMilleScale (6) for IPM; ROASScale (6) for the ROAS family;
// FractionScale (8) for CTR, click-to-install and conversion rate, which are
// fractions, not percentages. Value.WithScale re-rounds from the exact value
// to any scale in [0, MaxScale].
//
// # SQL mirror
//
// Metrics lists every parameter-free metric; Metric.Descriptor gives its
// column name, signed numerator bases, denominator base, multiplier, margin
// factor and scale, and Field.Name the base-column names, so the ClickHouse
// views can be generated from the same definitions this package evaluates.
package metrics

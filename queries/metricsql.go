package queries

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/adhouse/adhouse/metrics"
)

// MetricSQL renders the ClickHouse expression of one metric over SQL sum
// expressions, mirroring metrics.Aggregate.Eval digit for digit.
//
// sums[f] is an expression for the sum of base f at the caller's grain: a
// Decimal with at most 6 decimals for money (for example sum(spend), a
// Nullable(Decimal(38, 6))), an integer for counts. It may be NULL, which
// means "no row had a value", as SQL sum() gives.
//
// The result has type Nullable(Decimal(38, d.Scale)): NULL when a numerator
// sum or the denominator sum is NULL or the denominator is 0, otherwise the
// exact rational n/d rounded half-to-even to d.Scale decimals. ClickHouse's
// Decimal division truncates and its round() rounds half away from zero, so
// neither is used: both sides become Int256 integers in storage units
// (micro-units for money), and with a = |n|·10^scale, q0 = intDiv(a, |d|),
// r = a − q0·|d|, the magnitude is q0 + 1 when 2r > |d| or when 2r = |d| and q0
// is odd, else q0; the sign is sign(n)·sign(d). That is metrics.RoundRatio.
func MetricSQL(d metrics.Descriptor, sums map[metrics.Field]string) (string, error) {
	return metricSQL(d, sums, false, func(_ int, expr string) string { return "(" + expr + ")" })
}

// stages is the number of steps of MetricSQL's arithmetic that a binder may
// name: the bases in storage units; the magnitudes and signs; the quotient;
// the remainder (a separate step only when it is computed from the
// quotient).
const stages = 4

// metricSQL renders MetricSQL with bind deciding how each step's expression
// reaches the next: inlined (MetricSQL) or named as a column of a nested
// SELECT (MetricStages). bind(s, expr) returns what later steps write for
// expr, which uses only expressions bound at stages before s. native divides
// magnitudes that fit an Int64 natively: faster to run over many rows, but
// three times the text inlined, which ClickHouse then takes longer to plan.
func metricSQL(d metrics.Descriptor, sums map[metrics.Field]string, native bool, bind func(stage int, expr string) string) (string, error) {
	if len(d.Numerator) == 0 {
		return "", fmt.Errorf("queries: metric %q has no numerator", d.Name)
	}
	for _, f := range append(fieldsOf(d.Numerator), d.Denominator) {
		if sums[f] == "" {
			return "", fmt.Errorf("queries: metric %q needs the sum of %s: %w", d.Name, f, ErrNoSum)
		}
	}
	// n = Σ±num × multiplier × 10^(denominator scale) [× margin]
	// d = den × 10^(numerator scale)
	var num strings.Builder
	for i, t := range d.Numerator {
		switch {
		case t.Negative:
			num.WriteString(" - ")
		case i > 0:
			num.WriteString(" + ")
		}
		num.WriteString(bind(0, storageUnits(t.Field, sums[t.Field])))
	}
	numK := new(big.Int).Mul(big.NewInt(d.Multiplier), pow10(int64(d.Denominator.Scale())+int64(d.Scale)))
	denK := pow10(int64(d.Numerator[0].Field.Scale()))
	n := num.String()
	if len(d.Numerator) > 1 {
		n = "(" + n + ")"
	}
	if d.MarginFraction {
		n = fmt.Sprintf("(%s * %s)", n, int256(d.Margin.Coefficient()))
		if e := int64(d.Margin.Exponent()); e >= 0 {
			numK.Mul(numK, pow10(e))
		} else {
			denK.Mul(denK, pow10(-e))
		}
	}
	den := bind(0, storageUnits(d.Denominator, sums[d.Denominator]))
	// a and b are the magnitudes of n and d, q and r the quotient and
	// remainder of a/b. Rounding half to even adds one to q when 2r > b, or
	// when 2r = b and q is odd: both are 2r + (q mod 2) > b. The sign of d is
	// NULL when d is 0, which makes the metric NULL; b is 1 there (not an
	// if() around the division, which costs ClickHouse more to analyse), so
	// no engine setting can surface a division by zero.
	a := bind(1, fmt.Sprintf("toInt256(abs(%s)) * %s", n, int256(numK)))
	b := bind(1, fmt.Sprintf("toInt256(abs(%[1]s)) * %[2]s + (%[1]s = 0)", den, int256(denK)))
	signN := bind(1, fmt.Sprintf("sign(%s)", n))
	signD := bind(1, fmt.Sprintf("nullIf(sign(%s), 0)", den))
	var q, r string
	if !native {
		q = bind(2, fmt.Sprintf("intDiv(%s, %s)", a, b))
		r = bind(2, fmt.Sprintf("%s %% %s", a, b))
	} else {
		// ClickHouse divides Int256 in software: the two divisions of each
		// of 13 metrics cost 3.4 µs a row, which a BI table's build pays for
		// every row. Magnitudes that fit an Int64, nearly all of them,
		// divide natively (ClickHouse evaluates if() branches short-circuit,
		// so the Int256 branch runs only for the rows that need it; NULL
		// bases take the native one, which gives NULL too; greatest() keeps
		// a row the native branch does not take from dividing by a wrapped
		// 0), and the remainder is a − q·b: 0.8 µs a row.
		q = bind(2, fmt.Sprintf("if(ifNull(%[1]s <= %[3]s AND %[2]s <= %[3]s, 1), toInt256(intDiv(toInt64(%[1]s), greatest(toInt64(%[2]s), 1))), intDiv(%[1]s, %[2]s))",
			a, b, int64Max))
		r = bind(3, fmt.Sprintf("%s - %s * %s", a, q, b))
	}
	unit := "1"
	if d.Scale > 0 {
		unit = "0." + strings.Repeat("0", int(d.Scale)-1) + "1"
	}
	return fmt.Sprintf("toDecimal128(%s * %s * (%s + (2 * %s + bitAnd(%s, 1) > %s)), 0) * toDecimal128('%s', %d)", signN, signD, q, r, q, b, unit, d.Scale), nil
}

// int64Max is the largest magnitude a metric divides as an Int64.
const int64Max = "9223372036854775807"

// MetricStages renders a SELECT of every column of from but the except
// columns, followed by every metric of metrics.Metrics() whose bases sums
// provides (as MetricColumns, with the same values). The metrics' shared
// steps are columns of nested SELECTs, computed and planned once each
// rather than repeated inside every metric: ClickHouse plans a view's every
// column at every query that reads it, and the inlined metrics cost about
// twice as much to plan.
func MetricStages(sums map[metrics.Field]string, from string, except []string, indent string) string {
	var (
		cols   [stages][]string // "expression AS column" per stage
		hidden = slices.Clone(except)
		names  = map[string]string{} // expression → its column
	)
	bind := func(stage int, expr string) string {
		if name, ok := names[expr]; ok {
			return name
		}
		name := fmt.Sprintf("_metric_%d_%d", stage, len(cols[stage]))
		names[expr] = name
		cols[stage] = append(cols[stage], expr+" AS "+name)
		hidden = append(hidden, name)
		return name
	}
	var metricCols []string
	for _, d := range Descriptors(sums) {
		expr, err := metricSQL(d, sums, true, bind)
		if err != nil {
			continue // Descriptors only returns metrics whose bases are present
		}
		metricCols = append(metricCols, indent+expr+" AS "+d.Name)
	}
	src := from
	for _, c := range cols {
		if len(c) > 0 {
			src = fmt.Sprintf("(SELECT *, %s FROM %s)", strings.Join(c, ", "), src)
		}
	}
	head := indent + "*"
	if len(hidden) > 0 {
		head += " EXCEPT (" + strings.Join(hidden, ", ") + ")"
	}
	return fmt.Sprintf("SELECT\n%s,\n%s\nFROM %s", head, strings.Join(metricCols, ",\n"), src)
}

// ErrNoSum is wrapped by MetricSQL when the sums lack a base the metric needs.
var ErrNoSum = errors.New("no sum expression for a base field")

// MetricColumns renders "expression AS name" for every metric of
// metrics.Metrics() whose bases sums provides, in that stable order, one per
// line with the given indent and separated by commas. Views list them after
// their sum columns, so every view carries the same metric set under the same
// names.
func MetricColumns(sums map[metrics.Field]string, indent string) string {
	var cols []string
	for _, d := range Descriptors(sums) {
		expr, err := MetricSQL(d, sums)
		if err != nil {
			continue // Descriptors only returns metrics whose bases are present
		}
		cols = append(cols, indent+expr+" AS "+d.Name)
	}
	return strings.Join(cols, ",\n")
}

// Descriptors returns the descriptors of metrics.Metrics() whose every base
// has an expression in sums, in the stable order of metrics.Metrics().
func Descriptors(sums map[metrics.Field]string) []metrics.Descriptor {
	var out []metrics.Descriptor
	for _, m := range metrics.Metrics() {
		d, ok := m.Descriptor()
		if !ok {
			continue
		}
		have := sums[d.Denominator] != ""
		for _, t := range d.Numerator {
			have = have && sums[t.Field] != ""
		}
		if have {
			out = append(out, d)
		}
	}
	return out
}

// TikTokColumns maps the metrics bases TikTok reports to the columns of the
// statistics views (and of every BI view, which keeps those names for its
// sums). TikTok-reported revenue is complete_payment_value, the purchase value
// Ads Manager's "complete payment ROAS" uses; installs come in two sources,
// attributed (app_install) and real-time (real_time_app_install), so install
// metrics appear once per source.
var TikTokColumns = map[metrics.Field]string{
	metrics.FieldSpend:              "spend",
	metrics.FieldImpressions:        "impressions",
	metrics.FieldClicks:             "clicks",
	metrics.FieldConversions:        "conversion",
	metrics.FieldAppInstall:         "app_install",
	metrics.FieldRealTimeAppInstall: "real_time_app_install",
	metrics.FieldTikTokRevenue:      "complete_payment_value",
	metrics.FieldVideoPlays:         "video_play_actions",
	metrics.FieldVideoCompletions:   "video_views_p100",
}

// Prefixed returns the sums map with every expression qualified by a table
// alias, e.g. Prefixed(TikTokColumns, "prev.") for a joined previous period.
func Prefixed(sums map[metrics.Field]string, prefix string) map[metrics.Field]string {
	out := make(map[metrics.Field]string, len(sums))
	for f, s := range sums {
		out[f] = prefix + s
	}
	return out
}

func fieldsOf(ts []metrics.Term) []metrics.Field {
	fs := make([]metrics.Field, len(ts))
	for i, t := range ts {
		fs[i] = t.Field
	}
	return fs
}

// storageUnits converts a sum expression to an Int256 in the field's storage
// unit: micro-units for money (exact, since money has at most 6 decimals),
// the count itself otherwise.
func storageUnits(f metrics.Field, expr string) string {
	if f.IsMoney() {
		return fmt.Sprintf("toInt256(toDecimal256(%s, %d) * %s)", expr, metrics.AmountScale, pow10(int64(metrics.AmountScale)))
	}
	return fmt.Sprintf("toInt256(%s)", expr)
}

func pow10(n int64) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(n), nil) }

// int256 renders an integer constant; small ones as plain literals, larger
// ones through a string so no literal overflows a 64-bit parse.
func int256(x *big.Int) string {
	if x.IsInt64() && x.Int64() >= 0 && x.Int64() < 1<<31 {
		return x.String()
	}
	return "toInt256('" + x.String() + "')"
}

package metrics

import (
	"math/big"

	"github.com/shopspring/decimal"
)

// Kind is a metric formula, independent of which installs or revenue feed it.
type Kind uint8

// The metric formulas. Each is a ratio of sums; see Descriptor for the exact
// definition the Go and SQL implementations share.
const (
	// KindCPI is cost per install: spend / installs.
	KindCPI Kind = iota + 1
	// KindIPM is installs per mille: installs / impressions × 1000.
	KindIPM
	// KindCPM is cost per mille: spend / impressions × 1000.
	KindCPM
	// KindCPC is cost per click: spend / clicks.
	KindCPC
	// KindCTR is click-through rate as a fraction (not a percentage):
	// clicks / impressions.
	KindCTR
	// KindClickToInstall is installs / clicks, a fraction.
	KindClickToInstall
	// KindROAS is return on ad spend: revenue / spend.
	KindROAS
	// KindMarginROAS is (revenue − cost of goods − refunds − fees) / spend.
	KindMarginROAS
	// KindMarginFractionROAS is revenue × margin / spend for a configured
	// margin fraction, when per-row costs are not known.
	KindMarginFractionROAS
	// KindCPA is cost per action: spend / conversions.
	KindCPA
	// KindConversionRate is conversions / clicks, a fraction.
	KindConversionRate
	// KindVideoCompletionRate is video views to the end / video plays, a
	// fraction.
	KindVideoCompletionRate

	numKinds = iota + 1
)

// Declared output scales. Money-per-unit results keep the 6 decimals of the
// input money; per-mille and ROAS results use the same; fractions use 8 so
// that, shown as a percentage at the edge, they keep 6 decimals.
const (
	// MoneyScale is the output scale of CPI, CPM, CPC, CPA and money totals.
	MoneyScale int32 = 6
	// PerMilleScale is the output scale of IPM.
	PerMilleScale int32 = 6
	// FractionScale is the output scale of CTR, click-to-install,
	// conversion rate and video completion rate.
	FractionScale int32 = 8
	// ROASScale is the output scale of ROAS, margin ROAS and margin-fraction
	// ROAS.
	ROASScale int32 = 6
)

type source uint8

const (
	noSource source = iota
	installSource
	revenueSource
)

// fromSource is a placeholder Field in kinds for the caller's chosen source.
const fromSource Field = 255

type kindSpec struct {
	name       string
	src        source
	num, den   Field // fromSource stands for the chosen source's field
	multiplier int64
	scale      int32
	money      bool
}

var kinds = [numKinds]kindSpec{
	KindCPI:                 {"cpi", installSource, FieldSpend, fromSource, 1, MoneyScale, true},
	KindIPM:                 {"ipm", installSource, fromSource, FieldImpressions, 1000, PerMilleScale, false},
	KindCPM:                 {"cpm", noSource, FieldSpend, FieldImpressions, 1000, MoneyScale, true},
	KindCPC:                 {"cpc", noSource, FieldSpend, FieldClicks, 1, MoneyScale, true},
	KindCTR:                 {"ctr", noSource, FieldClicks, FieldImpressions, 1, FractionScale, false},
	KindClickToInstall:      {"click_to_install", installSource, fromSource, FieldClicks, 1, FractionScale, false},
	KindROAS:                {"roas", revenueSource, fromSource, FieldSpend, 1, ROASScale, false},
	KindMarginROAS:          {"margin_roas", revenueSource, fromSource, FieldSpend, 1, ROASScale, false},
	KindMarginFractionROAS:  {"margin_fraction_roas", revenueSource, fromSource, FieldSpend, 1, ROASScale, false},
	KindCPA:                 {"cpa", noSource, FieldSpend, FieldConversions, 1, MoneyScale, true},
	KindConversionRate:      {"conversion_rate", noSource, FieldConversions, FieldClicks, 1, FractionScale, false},
	KindVideoCompletionRate: {"video_completion_rate", noSource, FieldVideoCompletions, FieldVideoPlays, 1, FractionScale, false},
}

func (k Kind) valid() bool { return k >= KindCPI && k < numKinds }

// String returns the formula's snake_case name, e.g. "cpi".
func (k Kind) String() string {
	if !k.valid() {
		return "invalid_kind"
	}
	return kinds[k].name
}

// Scale returns the declared output scale of the formula's results.
func (k Kind) Scale() int32 {
	if !k.valid() {
		return 0
	}
	return kinds[k].scale
}

// Metric is one concrete metric column: a formula plus, where the formula
// needs them, the chosen install or revenue source and the margin fraction.
// Fields a Kind does not use are ignored. Identify metrics by Name, not ==,
// because Margin is a decimal.Decimal.
type Metric struct {
	Kind     Kind
	Installs InstallSource // CPI, IPM, click-to-install
	Revenue  RevenueSource // ROAS, margin ROAS, margin-fraction ROAS
	// Margin is the configured margin fraction for KindMarginFractionROAS,
	// e.g. 0.35; it may be negative or above 1. The zero Decimal is a
	// margin of 0. A decimal exponent beyond ±1000 makes the metric
	// undefined.
	Margin decimal.Decimal
}

// maxMarginExp bounds the margin's decimal exponent so that a pathological
// margin such as 1e-1000000000 cannot make Eval build an enormous power of
// ten; real margins have a handful of decimals.
const maxMarginExp = 1000

// Term is one signed base in a metric's numerator.
type Term struct {
	Field    Field
	Negative bool // subtract this base instead of adding it
}

// Descriptor is the complete, implementation-neutral definition of a Metric,
// from which the SQL mirror is generated:
//
//	value = (Σ±sum(Numerator) [× Margin]) × Multiplier / sum(Denominator)
//
// with money sums in currency units and counts as integers. The value is
// undefined (NULL) when any numerator sum or the denominator sum is NULL, or
// the denominator sum is 0; otherwise the exact value is rounded half-even to
// Scale decimals (see RoundRatio).
type Descriptor struct {
	Name        string // column name, e.g. "cpi_skan_app_install", "roas_ga4"
	Kind        Kind
	Numerator   []Term // all money or all counts
	Denominator Field
	Multiplier  int64 // 1000 for per-mille metrics, else 1
	// MarginFraction reports that the numerator is multiplied by Margin.
	MarginFraction bool
	Margin         decimal.Decimal
	Scale          int32
	Money          bool // the result is money per unit, in the rows' currency
}

// spec is Descriptor without allocation, for evaluation.
type spec struct {
	terms  [4]Term
	nterms int
	kindSpec
	marginFraction bool
}

func (m Metric) spec() (spec, bool) {
	if !m.Kind.valid() {
		return spec{}, false
	}
	k := kinds[m.Kind]
	s := spec{kindSpec: k}
	var src Field
	switch k.src {
	case installSource:
		if m.Installs >= NumInstallSources {
			return spec{}, false
		}
		src = m.Installs.Field()
	case revenueSource:
		if m.Revenue >= NumRevenueSources {
			return spec{}, false
		}
		src = m.Revenue.Field()
	}
	if s.num == fromSource {
		s.num = src
	}
	if s.den == fromSource {
		s.den = src
	}
	s.terms[0] = Term{Field: s.num}
	s.nterms = 1
	switch m.Kind {
	case KindMarginROAS:
		s.terms[1] = Term{Field: FieldCostOfGoods, Negative: true}
		s.terms[2] = Term{Field: FieldRefunds, Negative: true}
		s.terms[3] = Term{Field: FieldFees, Negative: true}
		s.nterms = 4
	case KindMarginFractionROAS:
		s.marginFraction = true
	}
	return s, true
}

// Name returns the metric's column name: the formula, then the source where
// one was chosen, e.g. "cpi_app_install", "ctr", "margin_roas_shop". It is ""
// for an invalid metric.
func (m Metric) Name() string {
	s, ok := m.spec()
	if !ok {
		return ""
	}
	switch s.src {
	case installSource:
		return s.name + "_" + m.Installs.String()
	case revenueSource:
		return s.name + "_" + m.Revenue.String()
	}
	return s.name
}

// Descriptor returns the metric's full definition; ok is false for an
// invalid Kind or source.
func (m Metric) Descriptor() (d Descriptor, ok bool) {
	s, ok := m.spec()
	if !ok {
		return Descriptor{}, false
	}
	d = Descriptor{
		Name:           m.Name(),
		Kind:           m.Kind,
		Numerator:      append([]Term(nil), s.terms[:s.nterms]...),
		Denominator:    s.den,
		Multiplier:     s.multiplier,
		MarginFraction: s.marginFraction,
		Scale:          s.scale,
		Money:          s.money,
	}
	if s.marginFraction {
		d.Margin = m.Margin
	}
	return d, true
}

// Metrics returns every parameter-free metric — each formula with each
// applicable source — in a stable order, for generating the SQL views and
// for comparing them with Go. KindMarginFractionROAS needs a margin and is
// not listed.
func Metrics() []Metric {
	var ms []Metric
	for k := KindCPI; k < numKinds; k++ {
		switch kinds[k].src {
		case installSource:
			for s := InstallSource(0); s < NumInstallSources; s++ {
				ms = append(ms, Metric{Kind: k, Installs: s})
			}
		case revenueSource:
			if k == KindMarginFractionROAS {
				continue
			}
			for s := RevenueSource(0); s < NumRevenueSources; s++ {
				ms = append(ms, Metric{Kind: k, Revenue: s})
			}
		default:
			ms = append(ms, Metric{Kind: k})
		}
	}
	return ms
}

// Eval computes m over the aggregate: the exact ratio of sums, with the
// metric's declared scale and, for money-per-unit metrics, the aggregate's
// currency. It is undefined for an invalid metric, a NULL numerator or
// denominator base, or a zero denominator.
func (a *Aggregate) Eval(m Metric) Value {
	s, ok := m.spec()
	if !ok {
		return Value{}
	}
	num := new(big.Int)
	for _, t := range s.terms[:s.nterms] {
		b, ok := a.base(t.Field)
		if !ok {
			return Value{}
		}
		if t.Negative {
			num.Sub(num, b)
		} else {
			num.Add(num, b)
		}
	}
	den, ok := a.base(s.den)
	if !ok || den.Sign() == 0 {
		return Value{}
	}
	// Sums are stored in their field's unit (micro-units for money); scale
	// both sides back to currency units: n/10^ns ÷ d/10^ds.
	num.Mul(num, big.NewInt(s.multiplier))
	num.Mul(num, pow10Big[s.den.Scale()])
	den.Mul(den, pow10Big[s.terms[0].Field.Scale()])
	if s.marginFraction {
		if e := m.Margin.Exponent(); e < -maxMarginExp || e > maxMarginExp {
			return Value{}
		}
		num.Mul(num, m.Margin.Coefficient())
		if e := m.Margin.Exponent(); e >= 0 {
			num.Mul(num, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(e)), nil))
		} else {
			den.Mul(den, new(big.Int).Exp(big.NewInt(10), big.NewInt(-int64(e)), nil))
		}
	}
	if den.Sign() < 0 { // negative total spend: keep den > 0 for RoundRatio's callers
		num.Neg(num)
		den.Neg(den)
	}
	v := Value{num: num, den: den, scale: s.scale}
	if s.money {
		v.cur = a.currency
	}
	return v
}

// CPI returns cost per install, spend / installs of src, at MoneyScale in
// the aggregate's currency.
func (a *Aggregate) CPI(src InstallSource) Value {
	return a.Eval(Metric{Kind: KindCPI, Installs: src})
}

// IPM returns installs of src per thousand impressions at PerMilleScale.
func (a *Aggregate) IPM(src InstallSource) Value {
	return a.Eval(Metric{Kind: KindIPM, Installs: src})
}

// CPM returns spend per thousand impressions at MoneyScale.
func (a *Aggregate) CPM() Value { return a.Eval(Metric{Kind: KindCPM}) }

// CPC returns spend per click at MoneyScale.
func (a *Aggregate) CPC() Value { return a.Eval(Metric{Kind: KindCPC}) }

// CTR returns clicks / impressions as a fraction (0.0123 is 1.23 %) at
// FractionScale.
func (a *Aggregate) CTR() Value { return a.Eval(Metric{Kind: KindCTR}) }

// ClickToInstall returns installs of src per click, a fraction, at
// FractionScale.
func (a *Aggregate) ClickToInstall(src InstallSource) Value {
	return a.Eval(Metric{Kind: KindClickToInstall, Installs: src})
}

// ROAS returns revenue of src / spend at ROASScale. Revenue and spend are in
// the same currency, so the result is unitless.
func (a *Aggregate) ROAS(src RevenueSource) Value {
	return a.Eval(Metric{Kind: KindROAS, Revenue: src})
}

// MarginROAS returns (revenue of src − cost of goods − refunds − fees) /
// spend at ROASScale. It is undefined if any of those bases is NULL: an
// unknown cost means an unknown margin. It can be negative.
func (a *Aggregate) MarginROAS(src RevenueSource) Value {
	return a.Eval(Metric{Kind: KindMarginROAS, Revenue: src})
}

// MarginFractionROAS returns revenue of src × margin / spend at ROASScale,
// for when a configured margin fraction stands in for per-row costs.
func (a *Aggregate) MarginFractionROAS(src RevenueSource, margin decimal.Decimal) Value {
	return a.Eval(Metric{Kind: KindMarginFractionROAS, Revenue: src, Margin: margin})
}

// CPA returns spend per conversion at MoneyScale.
func (a *Aggregate) CPA() Value { return a.Eval(Metric{Kind: KindCPA}) }

// ConversionRate returns conversions / clicks, a fraction, at FractionScale.
func (a *Aggregate) ConversionRate() Value {
	return a.Eval(Metric{Kind: KindConversionRate})
}

package metrics

import (
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"
)

// randRow returns a row with money up to ±10^6 at 6 decimals (negative for
// adjustments and refunds), counts up to 10^7, and occasional NULLs.
func randRow(rng *rand.Rand, cur Currency) Row {
	money := func() Amount {
		switch rng.IntN(10) {
		case 0:
			return Amount{}
		case 1:
			return AmountFromMicros(-rng.Int64N(1_000_000_000_000))
		default:
			return AmountFromMicros(rng.Int64N(1_000_000_000_000))
		}
	}
	count := func() uint64 {
		if rng.IntN(8) == 0 {
			return 0
		}
		return rng.Uint64N(10_000_000)
	}
	r := Row{Currency: cur, Spend: money(), Impressions: count(), Clicks: count(), Conversions: count(),
		CostOfGoods: money(), Refunds: money(), Fees: money(), VideoPlays: count(), VideoCompletions: count()}
	for i := range r.Installs {
		r.Installs[i] = count()
	}
	for i := range r.Revenue {
		r.Revenue[i] = money()
	}
	if rng.IntN(4) == 0 {
		r.SetNull(Field(rng.IntN(NumFields)))
	}
	return r
}

// refSum is the independent reference: the exact sum of f over the rows in
// currency units (NULLs skipped), and whether any row had it.
func refSum(rows []Row, f Field) (*big.Rat, bool) {
	sum, seen := new(big.Rat), false
	for i := range rows {
		r := &rows[i]
		if r.IsNull(f) {
			continue
		}
		seen = true
		var x *big.Rat
		switch {
		case f == FieldSpend:
			x = r.Spend.Decimal().Rat()
		case f == FieldImpressions:
			x = new(big.Rat).SetUint64(r.Impressions)
		case f == FieldClicks:
			x = new(big.Rat).SetUint64(r.Clicks)
		case f == FieldConversions:
			x = new(big.Rat).SetUint64(r.Conversions)
		case f >= FieldAppInstall && f <= FieldMMPInstall:
			x = new(big.Rat).SetUint64(r.Installs[f-FieldAppInstall])
		case f >= FieldTikTokRevenue && f <= FieldCRMRevenue:
			x = r.Revenue[f-FieldTikTokRevenue].Decimal().Rat()
		case f == FieldCostOfGoods:
			x = r.CostOfGoods.Decimal().Rat()
		case f == FieldRefunds:
			x = r.Refunds.Decimal().Rat()
		case f == FieldFees:
			x = r.Fees.Decimal().Rat()
		case f == FieldVideoPlays:
			x = new(big.Rat).SetUint64(r.VideoPlays)
		case f == FieldVideoCompletions:
			x = new(big.Rat).SetUint64(r.VideoCompletions)
		}
		sum.Add(sum, x)
	}
	return sum, seen
}

// refMetric writes each formula out by hand over refSum, independently of
// the Descriptor table the package evaluates.
func refMetric(rows []Row, m Metric) (*big.Rat, bool) {
	s := func(f Field) *big.Rat {
		v, ok := refSum(rows, f)
		if !ok {
			return nil
		}
		return v
	}
	ratio := func(n, d *big.Rat, mult int64) (*big.Rat, bool) {
		if n == nil || d == nil || d.Sign() == 0 {
			return nil, false
		}
		q := new(big.Rat).Quo(n, d)
		return q.Mul(q, big.NewRat(mult, 1)), true
	}
	inst := s(m.Installs.Field())
	rev := s(m.Revenue.Field())
	switch m.Kind {
	case KindCPI:
		return ratio(s(FieldSpend), inst, 1)
	case KindIPM:
		return ratio(inst, s(FieldImpressions), 1000)
	case KindCPM:
		return ratio(s(FieldSpend), s(FieldImpressions), 1000)
	case KindCPC:
		return ratio(s(FieldSpend), s(FieldClicks), 1)
	case KindCTR:
		return ratio(s(FieldClicks), s(FieldImpressions), 1)
	case KindClickToInstall:
		return ratio(inst, s(FieldClicks), 1)
	case KindROAS:
		return ratio(rev, s(FieldSpend), 1)
	case KindMarginROAS:
		cogs, ref, fees := s(FieldCostOfGoods), s(FieldRefunds), s(FieldFees)
		if rev == nil || cogs == nil || ref == nil || fees == nil {
			return nil, false
		}
		n := new(big.Rat).Sub(rev, cogs)
		n.Sub(n, ref).Sub(n, fees)
		return ratio(n, s(FieldSpend), 1)
	case KindMarginFractionROAS:
		if rev == nil {
			return nil, false
		}
		return ratio(new(big.Rat).Mul(rev, m.Margin.Rat()), s(FieldSpend), 1)
	case KindCPA:
		return ratio(s(FieldSpend), s(FieldConversions), 1)
	case KindConversionRate:
		return ratio(s(FieldConversions), s(FieldClicks), 1)
	case KindVideoCompletionRate:
		return ratio(s(FieldVideoCompletions), s(FieldVideoPlays), 1)
	}
	return nil, false
}

func allMetrics() []Metric {
	ms := Metrics()
	for src := RevenueSource(0); src < NumRevenueSources; src++ {
		ms = append(ms,
			Metric{Kind: KindMarginFractionROAS, Revenue: src, Margin: decimal.RequireFromString("0.3333")},
			Metric{Kind: KindMarginFractionROAS, Revenue: src, Margin: decimal.RequireFromString("-12.5")},
			Metric{Kind: KindMarginFractionROAS, Revenue: src, Margin: decimal.New(3, 2)})
	}
	return ms
}

// mergeRandomly splits rows into random parts, aggregates each, and merges
// the parts in a random order and a random tree shape.
func mergeRandomly(t testing.TB, rng *rand.Rand, rows []Row) Aggregate {
	t.Helper()
	parts := make([]Aggregate, 1+rng.IntN(8))
	for i := range rows {
		if err := parts[rng.IntN(len(parts))].Add(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	for len(parts) > 1 {
		i, j := rng.IntN(len(parts)), rng.IntN(len(parts))
		if i == j {
			continue
		}
		if err := parts[i].Merge(&parts[j]); err != nil {
			t.Fatal(err)
		}
		parts = append(parts[:j], parts[j+1:]...)
	}
	return parts[0]
}

func TestMergeOrderProperty(t *testing.T) {
	metrics := allMetrics()
	for seed := uint64(1); seed <= 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, 42))
		rows := make([]Row, rng.IntN(60))
		for i := range rows {
			rows[i] = randRow(rng, usd)
		}
		seq := aggregateOf(t, rows)
		for trial := 0; trial < 3; trial++ {
			merged := mergeRandomly(t, rng, rows)
			if merged != seq {
				t.Fatalf("seed %d: merged aggregate differs from sequential one", seed)
			}
		}
		for _, m := range metrics {
			got := seq.Eval(m)
			want, ok := refMetric(rows, m)
			if got.Defined() != ok {
				t.Fatalf("seed %d %s: defined = %v, reference %v", seed, m.Name(), got.Defined(), ok)
			}
			if !ok {
				continue
			}
			r, _ := got.Rat()
			if r.Cmp(want) != 0 {
				t.Fatalf("seed %d %s: %s, reference %s", seed, m.Name(), r.RatString(), want.RatString())
			}
		}
		for f := Field(0); f < NumFields; f++ {
			got := seq.Total(f)
			want, ok := refSum(rows, f)
			if got.Defined() != ok {
				t.Fatalf("seed %d total %s: defined %v, reference %v", seed, f, got.Defined(), ok)
			}
			if r, _ := got.Rat(); ok && r.Cmp(want) != 0 {
				t.Fatalf("seed %d total %s: %s, reference %s", seed, f, r.RatString(), want.RatString())
			}
		}
	}
}

// TestRatioOfSumsNotMeanOfRatios pins down the definition with numbers where
// the two differ.
func TestRatioOfSumsNotMeanOfRatios(t *testing.T) {
	rows := []Row{
		{Currency: usd, Spend: amt("100"), Installs: [NumInstallSources]uint64{AppInstall: 100}}, // CPI 1
		{Currency: usd, Spend: amt("10"), Installs: [NumInstallSources]uint64{AppInstall: 1}},    // CPI 10
	}
	a := aggregateOf(t, rows)
	if got := a.CPI(AppInstall).String(); got != "1.089109" { // 110/101, not (1+10)/2
		t.Fatalf("cpi = %s", got)
	}
}

func TestGroupedMergeProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	rows := make([]Row, 2000)
	keys := make([]int, len(rows))
	for i := range rows {
		rows[i] = randRow(rng, usd)
		keys[i] = rng.IntN(37)
	}
	var whole Grouped[int]
	for i := range rows {
		if err := whole.Add(keys[i], &rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	parts := make([]*Grouped[int], 5)
	for i := range parts {
		parts[i] = NewGrouped[int](0)
	}
	for i := range rows {
		if err := parts[rng.IntN(len(parts))].Add(keys[i], &rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
	var merged Grouped[int]
	for _, p := range parts {
		if err := merged.Merge(p); err != nil {
			t.Fatal(err)
		}
	}
	if merged.Len() != whole.Len() {
		t.Fatalf("len %d vs %d", merged.Len(), whole.Len())
	}
	for k, a := range whole.All() {
		b, ok := merged.Get(k)
		if !ok || a != b {
			t.Fatalf("group %d differs after merge", k)
		}
	}
}

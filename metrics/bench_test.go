package metrics

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

const benchRows = 1_000_000

// floatRow and floatAggregate are the float64 implementation this package
// refuses to ship: the same bases, currency check and NULL handling, but
// money summed in binary floating point, which cannot represent 0.10 and
// drifts with the order of addition. They exist only as a speed baseline.
type floatRow struct {
	Currency    Currency
	Spend       float64
	Impressions uint64
	Clicks      uint64
	Conversions uint64
	Installs    [NumInstallSources]uint64
	Revenue     [NumRevenueSources]float64
	CostOfGoods float64
	Refunds     float64
	Fees        float64
	Null        FieldSet
}

type floatAggregate struct {
	currency    Currency
	seen, nulls FieldSet
	rows        uint64
	spend       float64
	impressions uint64
	clicks      uint64
	conversions uint64
	installs    [NumInstallSources]uint64
	revenue     [NumRevenueSources]float64
	costOfGoods float64
	refunds     float64
	fees        float64
}

func (a *floatAggregate) add(r *floatRow) bool {
	if r.Currency != a.currency || a.currency.IsZero() {
		if !a.currency.IsZero() && !r.Currency.IsZero() {
			return false
		}
		a.currency = r.Currency
	}
	if r.Null&AllFields != 0 {
		a.nulls |= r.Null
		r2 := *r
		for f := Field(0); f < NumFields; f++ {
			if r.Null.Has(f) {
				switch {
				case f == FieldSpend:
					r2.Spend = 0
				case f >= FieldAppInstall && f <= FieldMMPInstall:
					r2.Installs[f-FieldAppInstall] = 0
				}
			}
		}
		r = &r2
	}
	a.rows++
	a.seen = AllFields
	a.spend += r.Spend
	a.impressions += r.Impressions
	a.clicks += r.Clicks
	a.conversions += r.Conversions
	a.installs[0] += r.Installs[0]
	a.installs[1] += r.Installs[1]
	a.installs[2] += r.Installs[2]
	a.installs[3] += r.Installs[3]
	a.revenue[0] += r.Revenue[0]
	a.revenue[1] += r.Revenue[1]
	a.revenue[2] += r.Revenue[2]
	a.revenue[3] += r.Revenue[3]
	a.costOfGoods += r.CostOfGoods
	a.refunds += r.Refunds
	a.fees += r.Fees
	return true
}

func (a *floatAggregate) cpi() float64 { return a.spend / float64(a.installs[AppInstall]) }

var benchData = sync.OnceValues(func() ([]Row, []floatRow) {
	rng := rand.New(rand.NewPCG(2024, 5))
	rows := make([]Row, benchRows)
	frows := make([]floatRow, benchRows)
	money := func() Amount { return AmountFromMicros(rng.Int64N(5_000_000_000)) } // up to 5000.000000
	for i := range rows {
		r := Row{Currency: usd, Spend: money(), Impressions: rng.Uint64N(200_000), Clicks: rng.Uint64N(5_000),
			Conversions: rng.Uint64N(100), CostOfGoods: money(), Refunds: money(), Fees: money()}
		for j := range r.Installs {
			r.Installs[j] = rng.Uint64N(500)
		}
		for j := range r.Revenue {
			r.Revenue[j] = money()
		}
		if i%20 == 0 { // 5 % of rows miss their SKAN numbers
			r.SetNull(FieldSKANInstall)
		}
		rows[i] = r
		fr := floatRow{Currency: r.Currency, Spend: float64(r.Spend.micros) / 1e6,
			Impressions: r.Impressions, Clicks: r.Clicks, Conversions: r.Conversions, Installs: r.Installs,
			CostOfGoods: float64(r.CostOfGoods.micros) / 1e6, Refunds: float64(r.Refunds.micros) / 1e6,
			Fees: float64(r.Fees.micros) / 1e6, Null: r.Null}
		for j := range r.Revenue {
			fr.Revenue[j] = float64(r.Revenue[j].micros) / 1e6
		}
		frows[i] = fr
	}
	runtime.GC() // keep the generator's garbage out of the first timed run
	return rows, frows
})

// BenchmarkAggregate sums the same 1,000,000 rows exactly and in float64;
// one op is one pass over all rows.
func BenchmarkAggregate(b *testing.B) {
	rows, frows := benchData()
	b.Run("exact", func(b *testing.B) {
		b.ReportAllocs()
		var cpi Value
		for b.Loop() {
			var a Aggregate
			for i := range rows {
				if err := a.Add(&rows[i]); err != nil {
					b.Fatal(err)
				}
			}
			cpi = a.CPI(AppInstall)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchRows, "ns/row")
		_ = cpi
	})
	b.Run("float64", func(b *testing.B) {
		b.ReportAllocs()
		var cpi float64
		for b.Loop() {
			var a floatAggregate
			for i := range frows {
				if !a.add(&frows[i]) {
					b.Fatal("currency")
				}
			}
			cpi = a.cpi()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchRows, "ns/row")
		_ = cpi
	})
}

type benchKey struct {
	Day      int32
	Campaign int64
}

var benchKeys = sync.OnceValue(func() []benchKey {
	keys := make([]benchKey, benchRows)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range keys {
		keys[i] = benchKey{Day: int32(rng.IntN(100)), Campaign: 1_700_000_000_000_000_000 + int64(rng.IntN(100))}
	}
	return keys
})

// BenchmarkGrouped sums the same rows into 10,000 (day, campaign) groups,
// exactly and in float64, and reads CPI and ROAS for every group. "ratio"
// runs the two in turns and reports their ratio: each alone moved by a
// third between runs minutes apart on a shared machine. Its per-row figures
// leave out the collections it forces, so they are below the separate ones.
func BenchmarkGrouped(b *testing.B) {
	rows, frows := benchData()
	keys := benchKeys()
	b.Run("exact", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			groupExact(b, rows, keys)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchRows, "ns/row")
	})
	b.Run("float64", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			groupFloat(b, frows, keys)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchRows, "ns/row")
	})
	b.Run("ratio", func(b *testing.B) {
		// Each side starts after a collection, outside its time, and the
		// sides swap places every round: neither pays for the other's
		// garbage or always runs first.
		sides := [2]func(){func() { groupExact(b, rows, keys) }, func() { groupFloat(b, frows, keys) }}
		var took [2]time.Duration
		for round := 0; b.Loop(); round++ {
			for k := range 2 {
				side := (round + k) % 2
				runtime.GC()
				start := time.Now()
				sides[side]()
				took[side] += time.Since(start)
			}
		}
		b.ReportMetric(float64(took[0].Nanoseconds())/float64(b.N)/benchRows, "exact_ns/row")
		b.ReportMetric(float64(took[1].Nanoseconds())/float64(b.N)/benchRows, "float64_ns/row")
		b.ReportMetric(float64(took[0])/float64(took[1]), "exact/float64")
	})
}

func groupExact(b *testing.B, rows []Row, keys []benchKey) {
	g := NewGrouped[benchKey](10_000)
	for i := range rows {
		if err := g.Add(keys[i], &rows[i]); err != nil {
			b.Fatal(err)
		}
	}
	for _, a := range g.All() {
		_ = a.CPI(AppInstall)
		_ = a.ROAS(GA4Revenue)
	}
}

func groupFloat(b *testing.B, frows []floatRow, keys []benchKey) {
	index := make(map[benchKey]int, 10_000)
	aggs := make([]floatAggregate, 0, 10_000)
	for i := range frows {
		j, ok := index[keys[i]]
		if !ok {
			j = len(aggs)
			index[keys[i]] = j
			aggs = append(aggs, floatAggregate{})
		}
		if !aggs[j].add(&frows[i]) {
			b.Fatal("currency")
		}
	}
	for j := range aggs {
		_ = aggs[j].cpi()
		_ = aggs[j].revenue[GA4Revenue] / aggs[j].spend
	}
}

// BenchmarkParseAmount parses TikTok-style money strings.
func BenchmarkParseAmount(b *testing.B) {
	in := []string{"20.000", "0.10", "1234.567891", "-3.5", "987654321.1"}
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range in {
			if _, err := ParseAmount(s); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkMetric reads every metric of one aggregate (the per-group cost).
func BenchmarkMetric(b *testing.B) {
	a := aggregateOf(b, campaign())
	ms := Metrics()
	b.ReportAllocs()
	for b.Loop() {
		for _, m := range ms {
			_ = a.Eval(m).String()
		}
	}
}

package metrics

import (
	"errors"
	"math/big"
	"regexp"
	"testing"

	"github.com/shopspring/decimal"
)

var amountGrammar = regexp.MustCompile(`^[+-]?[0-9]+(\.[0-9]+)?$`)

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{
		"20.000", "0.10", "-0.125", "+1", "0", "-", "", ".", "1.", ".5", "1e5",
		"9223372036854.775807", "-9223372036854.775808", "9223372036854.775808",
		"0.0000001", "1.0000000", "00000000000000000000000001.5", "١", "NaN",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAmount(s)
		valid := amountGrammar.MatchString(s)
		if errors.Is(err, ErrSyntax) == valid {
			t.Fatalf("ParseAmount(%q) = %v, grammar match %v", s, err, valid)
		}
		if !valid {
			return
		}
		d, derr := decimal.NewFromString(s)
		if derr != nil {
			t.Fatalf("decimal rejects %q: %v", s, derr)
		}
		exact := d.Mul(decimal.New(1, 6))
		switch {
		case err == nil:
			if !a.Decimal().Equal(d) {
				t.Fatalf("ParseAmount(%q) = %s, decimal says %s", s, a, d)
			}
			back, err := ParseAmount(a.String())
			if err != nil || back != a {
				t.Fatalf("round trip %q → %q → %v, %v", s, a, back, err)
			}
			via, err := AmountFromDecimal(d)
			if err != nil || via != a {
				t.Fatalf("AmountFromDecimal(%s) = %v, %v; ParseAmount gave %v", d, via, err, a)
			}
		case errors.Is(err, ErrPrecision):
			if exact.IsInteger() {
				t.Fatalf("ParseAmount(%q) ErrPrecision, but it is a whole number of micros", s)
			}
		case errors.Is(err, ErrRange):
			if exact.IsInteger() && exact.BigInt().IsInt64() {
				t.Fatalf("ParseAmount(%q) ErrRange, but it fits", s)
			}
		default:
			t.Fatalf("ParseAmount(%q): unexpected %v", s, err)
		}
	})
}

// FuzzRoundRatio checks RoundRatio against the definition of half-even
// rounding rather than against another implementation: the result is within
// half a unit of the last place of the exact value, and on an exact tie it is
// even.
func FuzzRoundRatio(f *testing.F) {
	f.Add([]byte{1}, false, []byte{8}, false, uint8(2))
	f.Add([]byte{3}, false, []byte{8}, false, uint8(2))
	f.Add([]byte{1}, true, []byte{8}, false, uint8(2))
	f.Add([]byte{5}, false, []byte{2}, true, uint8(0))
	f.Add([]byte{0}, false, []byte{0}, false, uint8(6))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0}, true, []byte{3}, false, uint8(40))
	f.Fuzz(func(t *testing.T, nb []byte, nneg bool, db []byte, dneg bool, scale uint8) {
		n, d := new(big.Int).SetBytes(nb), new(big.Int).SetBytes(db)
		if nneg {
			n.Neg(n)
		}
		if dneg {
			d.Neg(d)
		}
		s := int32(scale) - 10 // also exercise clamping of negative scales
		q, ok := RoundRatio(n, d, s)
		if ok != (d.Sign() != 0) {
			t.Fatalf("RoundRatio(%s/%s) ok = %v", n, d, ok)
		}
		if !ok {
			if NewRatio(n, d, s).Defined() {
				t.Fatal("NewRatio defined with zero denominator")
			}
			return
		}
		s = clampScale(s)
		exact := new(big.Rat).SetFrac(n, d)
		unit := new(big.Rat).SetFrac(big.NewInt(1), pow10Big[s])
		got := new(big.Rat).Mul(new(big.Rat).SetInt(q), unit)
		diff := new(big.Rat).Sub(exact, got)
		diff.Abs(diff)
		half := new(big.Rat).Quo(unit, big.NewRat(2, 1))
		switch diff.Cmp(half) {
		case 1:
			t.Fatalf("%s/%s at %d → %s: more than half a unit off", n, d, s, q)
		case 0:
			if q.Bit(0) != 0 {
				t.Fatalf("%s/%s at %d → %s: tie not rounded to even", n, d, s, q)
			}
		}
		// The text form is the same number with exactly s decimals.
		v := NewRatio(n, d, s)
		txt := v.String()
		dec, err := decimal.NewFromString(txt)
		if err != nil || dec.Rat().Cmp(got) != 0 {
			t.Fatalf("String %q is not %s", txt, got.RatString())
		}
		if s > 0 && (len(txt) < int(s)+2 || txt[len(txt)-int(s)-1] != '.') {
			t.Fatalf("String %q does not have %d decimals", txt, s)
		}
		if txt[0] == '-' && q.Sign() == 0 {
			t.Fatalf("negative zero %q", txt)
		}
	})
}

// FuzzAggregate decodes arbitrary bytes into rows and checks that Add never
// panics and that splitting and merging in both orders changes nothing.
func FuzzAggregate(f *testing.F) {
	f.Add([]byte("seed rows for the aggregate fuzzer, any bytes will do"), uint8(3))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0x80}, uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		var rows []Row
		next := func() uint64 {
			var u uint64
			for i := 0; i < 8 && len(data) > 0; i++ {
				u = u<<8 | uint64(data[0])
				data = data[1:]
			}
			return u
		}
		for len(data) > 0 {
			r := Row{Currency: usd}
			if next()%5 == 0 {
				r.Currency = eur
			}
			r.Spend = AmountFromMicros(int64(next()))
			r.Impressions, r.Clicks, r.Conversions = next(), next(), next()
			r.Installs[next()%NumInstallSources] = next()
			r.Revenue[next()%NumRevenueSources] = AmountFromMicros(int64(next()))
			r.CostOfGoods = AmountFromMicros(int64(next()))
			if n := next(); n%3 == 0 { // most rows take Add's fast path
				r.Null = FieldSet(n >> 2)
			}
			rows = append(rows, r)
		}
		cut := 0
		if len(rows) > 0 {
			cut = int(split) % (len(rows) + 1)
		}
		var whole, left, right Aggregate
		var wholeErr error
		for i := range rows {
			if err := whole.Add(&rows[i]); err != nil {
				wholeErr = err
				break
			}
			if i < cut {
				_ = left.Add(&rows[i])
			} else {
				_ = right.Add(&rows[i])
			}
		}
		for _, m := range allMetrics() {
			_ = whole.Eval(m).String()
		}
		if wholeErr != nil {
			return
		}
		for f := range Field(NumFields) {
			want, ok := refSum(rows, f)
			got, gotOK := whole.Total(f).Rat()
			if ok != gotOK || (ok && got.Cmp(want) != 0) {
				t.Fatalf("total %s = %v, reference %v", f, got, want)
			}
		}
		lr, rl := left, right
		if err := lr.Merge(&right); err != nil {
			t.Fatal(err)
		}
		if err := rl.Merge(&left); err != nil {
			t.Fatal(err)
		}
		if lr != whole || rl != whole {
			t.Fatal("merge result differs from sequential aggregate")
		}
	})
}

package metrics

import (
	"math/big"

	"github.com/shopspring/decimal"
)

// MaxScale is the largest output scale; requests outside [0, MaxScale] are
// clamped. 38 is the widest scale of ClickHouse Decimal128, far more than any
// metric needs.
const MaxScale = 38

var pow10Big = func() [MaxScale + 1]*big.Int {
	var t [MaxScale + 1]*big.Int
	t[0] = big.NewInt(1)
	ten := big.NewInt(10)
	for i := 1; i <= MaxScale; i++ {
		t[i] = new(big.Int).Mul(t[i-1], ten)
	}
	return t
}()

func clampScale(s int32) int32 {
	switch {
	case s < 0:
		return 0
	case s > MaxScale:
		return MaxScale
	}
	return s
}

// RoundRatio rounds the exact rational num/den half-even to scale decimal
// places and returns the integer q such that the result is q·10^-scale. It
// reports false, and returns nil, when den is nil or zero or num is nil — the
// metric is then not defined. Scale is clamped to [0, MaxScale].
//
// This is the package's single rounding rule (see the package documentation):
// with a = |num|·10^scale, d = |den|, q0 = ⌊a/d⌋ and r = a − q0·d, the result
// magnitude is q0+1 if 2r > d, or if 2r = d and q0 is odd; otherwise q0. The
// sign is that of num/den. No intermediate value is rounded.
func RoundRatio(num, den *big.Int, scale int32) (*big.Int, bool) {
	if num == nil || den == nil || den.Sign() == 0 {
		return nil, false
	}
	scale = clampScale(scale)
	a := new(big.Int).Abs(num)
	a.Mul(a, pow10Big[scale])
	d := new(big.Int).Abs(den)
	q, r := new(big.Int).QuoRem(a, d, new(big.Int))
	r.Lsh(r, 1)
	if c := r.Cmp(d); c > 0 || (c == 0 && q.Bit(0) == 1) {
		q.Add(q, pow10Big[0])
	}
	if num.Sign()*den.Sign() < 0 {
		q.Neg(q)
	}
	return q, true
}

// Value is the result of a metric or a total: an exact rational number with
// a declared output scale, an optional currency, or "not defined".
//
// The zero Value is not defined (SQL NULL). A defined Value keeps its exact
// rational; rounding happens only when it is printed or converted, so
// WithScale never rounds twice. Values are immutable and safe to share.
type Value struct {
	num, den *big.Int // den > 0; num == nil means not defined
	scale    int32
	cur      Currency
}

// NewRatio returns the exact value num/den with output scale scale and no
// currency. A nil or zero den, or a nil num, gives an undefined Value. The
// arguments are copied.
func NewRatio(num, den *big.Int, scale int32) Value {
	if num == nil || den == nil || den.Sign() == 0 {
		return Value{}
	}
	n, d := new(big.Int).Set(num), new(big.Int).Set(den)
	if d.Sign() < 0 {
		n.Neg(n)
		d.Neg(d)
	}
	return Value{num: n, den: d, scale: clampScale(scale)}
}

// Defined reports whether the value exists. It is false when a denominator
// was zero or NULL, or a numerator NULL.
func (v Value) Defined() bool { return v.num != nil }

// Scale returns the number of decimals the value is rounded to on output.
func (v Value) Scale() int32 { return v.scale }

// Currency returns the currency of a money-valued result (a total of money,
// CPI, CPM, CPC, CPA), or the zero Currency for unitless results.
func (v Value) Currency() Currency { return v.cur }

// WithScale returns the same exact value with another output scale, clamped
// to [0, MaxScale]. Because the exact rational is kept, the new rounding is
// from the exact value, not from the previously rounded one.
func (v Value) WithScale(scale int32) Value {
	v.scale = clampScale(scale)
	return v
}

// Rat returns the exact, unrounded value; ok is false when not defined.
func (v Value) Rat() (r *big.Rat, ok bool) {
	if v.num == nil {
		return nil, false
	}
	return new(big.Rat).SetFrac(v.num, v.den), true
}

// Scaled returns the value rounded to its scale as an integer q meaning
// q·10^-Scale(); ok is false when not defined.
func (v Value) Scaled() (q *big.Int, ok bool) {
	return RoundRatio(v.num, v.den, v.scale)
}

// Decimal returns the value rounded half-even to its scale; ok is false when
// not defined.
func (v Value) Decimal() (d decimal.Decimal, ok bool) {
	q, ok := v.Scaled()
	if !ok {
		return decimal.Decimal{}, false
	}
	return decimal.NewFromBigInt(q, -v.scale), true
}

// String returns the value rounded to its scale with exactly Scale() digits
// after the point (e.g. "0.120000"), or "NULL" when not defined, so that an
// undefined metric is visible in logs and test output. Currency is not
// printed.
func (v Value) String() string {
	if v.num == nil {
		return "NULL"
	}
	return string(v.appendDigits(nil))
}

// AppendText implements encoding.TextAppender: the String form, but empty for
// an undefined value, so that text-based formats (CSV cells, query
// parameters) show a missing value rather than the word NULL.
func (v Value) AppendText(b []byte) ([]byte, error) {
	if v.num == nil {
		return b, nil
	}
	return v.appendDigits(b), nil
}

// MarshalText implements encoding.TextMarshaler like AppendText.
func (v Value) MarshalText() ([]byte, error) {
	return v.AppendText(nil)
}

// MarshalJSON implements json.Marshaler: null when undefined, otherwise a
// JSON string with the fixed digits, e.g. "0.120000". A string, not a
// number, because most JSON readers parse numbers into binary floating point
// and would lose the exact digits.
func (v Value) MarshalJSON() ([]byte, error) {
	if v.num == nil {
		return []byte("null"), nil
	}
	b := append(make([]byte, 0, 32), '"')
	b = v.appendDigits(b)
	return append(b, '"'), nil
}

func (v Value) appendDigits(b []byte) []byte {
	q, _ := RoundRatio(v.num, v.den, v.scale)
	return appendScaled(b, q, v.scale)
}

// appendScaled prints q·10^-scale with exactly scale decimals. Zero is never
// printed with a minus sign.
func appendScaled(b []byte, q *big.Int, scale int32) []byte {
	if q.Sign() < 0 {
		b = append(b, '-')
	}
	digits := new(big.Int).Abs(q).Append(nil, 10)
	if pad := int(scale) + 1 - len(digits); pad > 0 {
		b = append(b, zeros(pad)...)
		b = append(b, digits...)
	} else {
		b = append(b, digits...)
	}
	if scale == 0 {
		return b
	}
	// Move the last scale digits behind a decimal point.
	n := len(b)
	b = append(b, 0)
	copy(b[n-int(scale)+1:], b[n-int(scale):n])
	b[n-int(scale)] = '.'
	return b
}

func zeros(n int) []byte {
	z := make([]byte, n)
	for i := range z {
		z[i] = '0'
	}
	return z
}

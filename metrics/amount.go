package metrics

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"

	"github.com/shopspring/decimal"
)

// AmountScale is the number of decimal places an Amount holds exactly. TikTok
// reports money with at most 6 decimals, so micro-units lose nothing.
const AmountScale = 6

const microsPerUnit = 1_000_000

// Errors returned by the parsers and by aggregation. They are wrapped with
// context; test for them with errors.Is.
var (
	// ErrSyntax reports text that is not a plain decimal number.
	ErrSyntax = errors.New("metrics: invalid decimal syntax")
	// ErrRange reports a money value outside ±9,223,372,036,854.775807, the
	// range of int64 micro-units.
	ErrRange = errors.New("metrics: amount out of range")
	// ErrPrecision reports a money value with a non-zero digit beyond the
	// sixth decimal. It is rejected rather than rounded so that no input is
	// silently altered before aggregation.
	ErrPrecision = errors.New("metrics: amount has more than 6 decimals")
	// ErrCurrency reports an invalid currency code.
	ErrCurrency = errors.New("metrics: invalid currency code")
	// ErrCurrencyMismatch reports an attempt to add or merge money of two
	// different currencies; there is no implicit FX conversion.
	ErrCurrencyMismatch = errors.New("metrics: currency mismatch")
	// ErrOverflow reports a merge whose row count would exceed 2^63-1, the
	// bound under which the 128-bit accumulators are proven not to overflow.
	ErrOverflow = errors.New("metrics: aggregate overflow")
)

// Currency is an ISO 4217 alphabetic code such as USD. The zero Currency
// means "no currency", which is only valid where no money is present.
//
// It is a fixed-size array so that rows can carry and compare it without
// allocating.
type Currency [3]byte

// ParseCurrency parses a three-letter ISO 4217 code, case-insensitively, and
// stores it in upper case.
func ParseCurrency(s string) (Currency, error) {
	var c Currency
	if len(s) != 3 {
		return c, fmt.Errorf("%w: %q", ErrCurrency, s)
	}
	for i := 0; i < 3; i++ {
		b := s[i]
		switch {
		case b >= 'A' && b <= 'Z':
		case b >= 'a' && b <= 'z':
			b -= 'a' - 'A'
		default:
			return Currency{}, fmt.Errorf("%w: %q", ErrCurrency, s)
		}
		c[i] = b
	}
	return c, nil
}

// MustCurrency is ParseCurrency for codes known at compile time; it panics on
// an invalid code, like regexp.MustCompile.
func MustCurrency(s string) Currency {
	c, err := ParseCurrency(s)
	if err != nil {
		panic(err)
	}
	return c
}

// IsZero reports whether c is the zero "no currency" value.
func (c Currency) IsZero() bool { return c == Currency{} }

// String returns the code, or "" for the zero Currency.
func (c Currency) String() string {
	if c.IsZero() {
		return ""
	}
	return string(c[:])
}

// MarshalText implements encoding.TextMarshaler; the zero Currency is empty.
func (c Currency) MarshalText() ([]byte, error) {
	if c.IsZero() {
		return []byte{}, nil
	}
	return c[:], nil
}

// UnmarshalText implements encoding.TextUnmarshaler; empty text gives the
// zero Currency.
func (c *Currency) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*c = Currency{}
		return nil
	}
	v, err := ParseCurrency(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Amount is an exact money quantity without its currency, held as int64
// micro-units (scale 6). Rows carry the currency once for all their amounts.
//
// The zero Amount is 0. Amounts are built by ParseAmount, AmountFromDecimal or
// AmountFromMicros, never from binary floating point.
type Amount struct {
	micros int64
}

// AmountFromMicros returns the amount of m millionths of a currency unit.
func AmountFromMicros(m int64) Amount { return Amount{micros: m} }

// Micros returns the amount in millionths of a currency unit.
func (a Amount) Micros() int64 { return a.micros }

// IsZero reports whether the amount is exactly 0.
func (a Amount) IsZero() bool { return a.micros == 0 }

// Decimal returns the amount as an exact decimal.Decimal.
func (a Amount) Decimal() decimal.Decimal { return decimal.New(a.micros, -AmountScale) }

// String returns the shortest exact decimal form, e.g. "20", "0.1", "-1.000001".
func (a Amount) String() string {
	var buf [24]byte
	return string(appendMicros(buf[:0], a.micros))
}

// MarshalText implements encoding.TextMarshaler with the String form.
func (a Amount) MarshalText() ([]byte, error) {
	return appendMicros(nil, a.micros), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseAmount rules.
func (a *Amount) UnmarshalText(b []byte) error {
	v, err := ParseAmount(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

func appendMicros(dst []byte, m int64) []byte {
	u := uint64(m)
	if m < 0 {
		dst = append(dst, '-')
		u = -u
	}
	ip, fp := u/microsPerUnit, u%microsPerUnit
	dst = appendUint(dst, ip)
	if fp == 0 {
		return dst
	}
	var frac [AmountScale]byte
	for i := AmountScale - 1; i >= 0; i-- {
		frac[i] = byte('0' + fp%10)
		fp /= 10
	}
	n := AmountScale
	for frac[n-1] == '0' {
		n--
	}
	dst = append(dst, '.')
	return append(dst, frac[:n]...)
}

func appendUint(dst []byte, u uint64) []byte {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	return append(dst, b[i:]...)
}

// ParseAmount parses a plain decimal string such as "20.000" or "-0.10"
// straight into micro-units, without floating point and without allocating.
//
// Accepted syntax is [+-]?[0-9]+(\.[0-9]+)? — no exponent, no spaces, no
// thousands separators. Digits beyond the sixth decimal must be zeros
// (ErrPrecision otherwise); the magnitude must fit int64 micro-units
// (ErrRange). TikTok's "-" for a missing value is a syntax error here: map it
// to a NULL field with Row.SetNull.
func ParseAmount(s string) (Amount, error) {
	m, err := parseMicros(s)
	if err != nil {
		return Amount{}, fmt.Errorf("metrics: parse amount %q: %w", s, err)
	}
	return Amount{micros: m}, nil
}

// MustParseAmount is ParseAmount for literals known to be valid; it panics
// otherwise, like regexp.MustCompile.
func MustParseAmount(s string) Amount {
	a, err := ParseAmount(s)
	if err != nil {
		panic(err)
	}
	return a
}

// parseMicros returns a bare sentinel error so that callers can decide how
// much context to allocate.
func parseMicros(s string) (int64, error) {
	i := 0
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	const maxInt = math.MaxInt64 / microsPerUnit // 9223372036854
	var ip uint64
	digits := 0
	overflow := false // reported only once the whole string is known to be well-formed
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if !overflow {
			ip = ip*10 + uint64(s[i]-'0')
			overflow = ip > maxInt
		}
		digits++
	}
	if digits == 0 {
		return 0, ErrSyntax
	}
	var fp uint64
	if i < len(s) {
		if s[i] != '.' {
			return 0, ErrSyntax
		}
		i++
		fd := 0
		precise := true
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if fd < AmountScale {
				fp = fp*10 + uint64(s[i]-'0')
			} else if s[i] != '0' {
				precise = false
			}
			fd++
		}
		if fd == 0 || i != len(s) {
			return 0, ErrSyntax
		}
		if overflow {
			return 0, ErrRange
		}
		if !precise {
			return 0, ErrPrecision
		}
		for ; fd < AmountScale; fd++ {
			fp *= 10
		}
	}
	if overflow {
		return 0, ErrRange
	}
	u := ip*microsPerUnit + fp
	if neg {
		if u > 1<<63 {
			return 0, ErrRange
		}
		return int64(-u), nil
	}
	if u > math.MaxInt64 {
		return 0, ErrRange
	}
	return int64(u), nil
}

// AmountFromDecimal converts an exact decimal to an Amount. It does not
// allocate when the coefficient has at most 18 digits; it fails with
// ErrPrecision for a non-zero digit beyond the sixth decimal and ErrRange
// outside the int64 micro-unit range.
func AmountFromDecimal(d decimal.Decimal) (Amount, error) {
	m, err := decimalMicros(d)
	if err != nil {
		return Amount{}, fmt.Errorf("metrics: amount from decimal %s: %w", d.String(), err)
	}
	return Amount{micros: m}, nil
}

func decimalMicros(d decimal.Decimal) (int64, error) {
	if d.IsZero() {
		return 0, nil
	}
	// shift is how many powers of ten turn the coefficient into micros.
	shift := int64(d.Exponent()) + AmountScale
	if d.NumDigits() <= 18 {
		c := d.CoefficientInt64()
		switch {
		case shift == 0:
			return c, nil
		case shift > 0:
			if shift > 18 {
				return 0, ErrRange
			}
			p := pow10u64[shift]
			hi, lo := bits.Mul64(absU64(c), p)
			if hi != 0 {
				return 0, ErrRange
			}
			return signed(lo, c < 0)
		default:
			if -shift > 18 || c%int64(pow10u64[-shift]) != 0 {
				return 0, ErrPrecision
			}
			return c / int64(pow10u64[-shift]), nil
		}
	}
	// Slow path for coefficients beyond int64: exact big arithmetic.
	r := d.Rat()
	r.Mul(r, new(big.Rat).SetInt64(microsPerUnit))
	if !r.IsInt() {
		return 0, ErrPrecision
	}
	n := r.Num()
	if !n.IsInt64() {
		return 0, ErrRange
	}
	return n.Int64(), nil
}

func absU64(c int64) uint64 {
	if c < 0 {
		return -uint64(c)
	}
	return uint64(c)
}

func signed(u uint64, neg bool) (int64, error) {
	if neg {
		if u > 1<<63 {
			return 0, ErrRange
		}
		return int64(-u), nil
	}
	if u > math.MaxInt64 {
		return 0, ErrRange
	}
	return int64(u), nil
}

var pow10u64 = [20]uint64{
	1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000,
	1_000_000_000, 10_000_000_000, 100_000_000_000, 1_000_000_000_000,
	10_000_000_000_000, 100_000_000_000_000, 1_000_000_000_000_000,
	10_000_000_000_000_000, 100_000_000_000_000_000, 1_000_000_000_000_000_000,
	10_000_000_000_000_000_000,
}

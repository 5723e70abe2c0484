package metrics

import (
	"math/big"
	"time"

	"github.com/shopspring/decimal"
)

// RateMaxAge is how old an exchange rate may be, in days: an amount of a day
// converts at the rate of that day, or else of the latest of the RateMaxAge
// days before it (weekends and holidays have none); older rates are not used.
const RateMaxAge = 7

// ExchangeRates holds exchange rates by day and currency pair, for reporting
// amounts of several currencies in one.
type ExchangeRates map[rateKey]decimal.Decimal

type rateKey struct {
	day         string
	base, quote Currency
}

// Add records that on day one unit of base costs rate units of quote.
func (t ExchangeRates) Add(day time.Time, base, quote Currency, rate decimal.Decimal) {
	t[rateKey{day.Format(time.DateOnly), base, quote}] = rate
}

// Convert converts an amount of from into to on day: at the pair's rate of
// that day, else of the latest of the RateMaxAge days before; the inverse
// pair's rate serves too, cross rates through a third currency never do.
// The result is rounded half-even to 6 decimals, once; ok is false when no
// rate applies, and the amount is then unknown.
func (t ExchangeRates) Convert(amount decimal.Decimal, day time.Time, from, to Currency) (decimal.Decimal, bool) {
	if from == to {
		return amount, true
	}
	for back := 0; back <= RateMaxAge; back++ {
		d := day.AddDate(0, 0, -back).Format(time.DateOnly)
		if r, ok := t[rateKey{d, from, to}]; ok {
			return amount.Mul(r).RoundBank(AmountScale), true
		}
		if r, ok := t[rateKey{d, to, from}]; ok {
			return divideHalfEven(amount, r), true
		}
	}
	return decimal.Decimal{}, false
}

// divideHalfEven is a / b rounded half-even to AmountScale from the exact
// quotient: rounding an 18-place quotient again could turn a value just
// below a tie into a tie.
func divideHalfEven(a, b decimal.Decimal) decimal.Decimal {
	// Bring both to integers at a common exponent, then take a·10^6 / b.
	exp := min(a.Exponent(), b.Exponent(), 0)
	num := a.Shift(-exp + AmountScale).BigInt()
	den := b.Shift(-exp).BigInt()
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	// Compare 2|r| with |den| to round; the signs follow the quotient.
	twice := new(big.Int).Abs(r)
	twice.Lsh(twice, 1)
	switch c := twice.Cmp(new(big.Int).Abs(den)); {
	case c > 0, c == 0 && q.Bit(0) == 1:
		if (num.Sign() < 0) != (den.Sign() < 0) {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return decimal.NewFromBigInt(q, -AmountScale)
}

package metrics_test

import (
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/metrics"
)

func day(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func cur(s string) metrics.Currency {
	c, err := metrics.ParseCurrency(s)
	if err != nil {
		panic(err)
	}
	return c
}

func TestConvert(t *testing.T) {
	tbl := metrics.ExchangeRates{}
	tbl.Add(day("2024-05-09"), cur("EUR"), cur("USD"), decimal.RequireFromString("1.08"))
	tbl.Add(day("2024-05-10"), cur("GBP"), cur("USD"), decimal.RequireFromString("1.25"))
	tbl.Add(day("2024-05-03"), cur("USD"), cur("JPY"), decimal.RequireFromString("153.123456789012"))
	for _, tc := range []struct {
		amount, on, from, to string
		want                 string // "" = no rate
	}{
		{"90", "2024-05-10", "EUR", "USD", "97.2"},                  // Thursday's rate on Friday
		{"100", "2024-05-10", "USD", "EUR", "92.592593"},            // inverse, half-even at 6
		{"100", "2024-05-16", "USD", "EUR", "92.592593"},            // 7 days after: still used
		{"100", "2024-05-17", "USD", "EUR", ""},                     // 8 days after: too old
		{"100", "2024-05-08", "USD", "EUR", ""},                     // never a later rate
		{"1", "2024-05-10", "GBP", "EUR", ""},                       // no cross rates through USD
		{"0.000001", "2024-05-03", "USD", "JPY", "0.000153"},        // 0.000153123… rounds down
		{"0.0000025", "2024-05-03", "JPY", "JPY", "0.0000025"},      // same currency: untouched
		{"1000000", "2024-05-03", "USD", "JPY", "153123456.789012"}, // all 12 decimals of the rate count
		{"0.5", "2024-05-10", "GBP", "USD", "0.625"},
	} {
		got, ok := tbl.Convert(decimal.RequireFromString(tc.amount), day(tc.on), cur(tc.from), cur(tc.to))
		if tc.want == "" {
			require.False(t, ok, "%+v", tc)
			continue
		}
		require.True(t, ok, "%+v", tc)
		require.Equal(t, decimal.RequireFromString(tc.want).String(), got.String(), "%+v", tc)
	}
}

func TestConvertRoundsHalfEven(t *testing.T) {
	tbl := metrics.ExchangeRates{}
	tbl.Add(day("2024-01-01"), cur("AAA"), cur("BBB"), decimal.RequireFromString("0.5"))
	for amount, want := range map[string]string{"0.000001": "0", "0.000003": "0.000002", "0.000005": "0.000002", "0.000007": "0.000004"} {
		got, ok := tbl.Convert(decimal.RequireFromString(amount), day("2024-01-01"), cur("AAA"), cur("BBB"))
		require.True(t, ok)
		require.Equal(t, want, got.String(), amount)
	}
}

// TestConvertInverseIsExact: through the inverse pair, the result is the
// exact quotient rounded half-even once, checked against big.Rat on
// random amounts and rates, ties and near-ties included.
func TestConvertInverseIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tbl := metrics.ExchangeRates{}
	on := day("2024-01-01")
	for i := 0; i < 20000; i++ {
		amount := decimal.New(rng.Int64N(2_000_000_000_000)-1_000_000_000_000, -int32(rng.IntN(7)))
		rate := decimal.New(rng.Int64N(1_000_000_000_000_000)+1, -int32(rng.IntN(13)))
		if i%4 == 0 { // a tie at the 7th place: rate 2, 4 or 8, amount ending in an odd micro-unit
			rate = decimal.New(int64(2<<rng.IntN(3)), 0)
		}
		tbl.Add(on, cur("AAA"), cur("BBB"), rate)
		got, ok := tbl.Convert(amount, on, cur("BBB"), cur("AAA"))
		require.True(t, ok)
		exact := new(big.Rat).Quo(amount.Rat(), rate.Rat())
		require.Equal(t, roundHalfEven(exact).String(), got.String(), "%s / %s", amount, rate)
	}
}

// roundHalfEven rounds x half-even to 6 decimals, independently of the code
// under test.
func roundHalfEven(x *big.Rat) decimal.Decimal {
	scaled := new(big.Rat).Mul(x, new(big.Rat).SetInt64(1_000_000))
	floor := new(big.Int).Div(scaled.Num(), scaled.Denom()) // Euclidean: floor for positive denominators
	frac := new(big.Rat).Sub(scaled, new(big.Rat).SetInt(floor))
	switch c := frac.Cmp(big.NewRat(1, 2)); {
	case c > 0, c == 0 && floor.Bit(0) == 1:
		floor.Add(floor, big.NewInt(1))
	}
	return decimal.NewFromBigInt(floor, -6)
}

package fx_test

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/fx"
)

func day(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestConvert(t *testing.T) {
	tbl := fx.Table{}
	tbl.Add(fx.Rate{Date: day("2024-05-09"), Base: "EUR", Quote: "USD", Rate: decimal.RequireFromString("1.08")})
	tbl.Add(fx.Rate{Date: day("2024-05-10"), Base: "GBP", Quote: "USD", Rate: decimal.RequireFromString("1.25")})
	tbl.Add(fx.Rate{Date: day("2024-05-03"), Base: "USD", Quote: "JPY", Rate: decimal.RequireFromString("153.123456789012")})
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
		got, ok := tbl.Convert(decimal.RequireFromString(tc.amount), day(tc.on), tc.from, tc.to)
		if tc.want == "" {
			require.False(t, ok, "%+v", tc)
			continue
		}
		require.True(t, ok, "%+v", tc)
		require.Equal(t, decimal.RequireFromString(tc.want).String(), got.String(), "%+v", tc)
	}
}

func TestConvertRoundsHalfEven(t *testing.T) {
	tbl := fx.Table{}
	tbl.Add(fx.Rate{Date: day("2024-01-01"), Base: "AAA", Quote: "BBB", Rate: decimal.RequireFromString("0.5")})
	for amount, want := range map[string]string{"0.000001": "0", "0.000003": "0.000002", "0.000005": "0.000002", "0.000007": "0.000004"} {
		got, ok := tbl.Convert(decimal.RequireFromString(amount), day("2024-01-01"), "AAA", "BBB")
		require.True(t, ok)
		require.Equal(t, want, got.String(), amount)
	}
}

func TestParseRate(t *testing.T) {
	for s, want := range map[string]string{
		"1.08": "", "0.000000000001": "", "100000000000000000000": "out of range", "99999999999999999999.5": "",
		"0": "positive", "-1": "positive", "1e3": "plain decimal", "1,08": "plain decimal", " 1": "plain decimal",
		"": "plain decimal", "abc": "not a decimal", "1.0000000000001": "more than 12 decimals", "0x10": "not a decimal",
	} {
		_, err := fx.ParseRate(s)
		if want == "" {
			require.NoError(t, err, s)
		} else {
			require.ErrorContains(t, err, want, s)
		}
	}
}

// FuzzParseRate: an accepted rate is positive, has at most 12 decimals and
// round-trips through its text.
func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"1.08", "0.5", "153.123456789012", "-1", "1e3", "00.10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := fx.ParseRate(s)
		if err != nil {
			return
		}
		if !d.IsPositive() || d.Exponent() < -12 {
			t.Fatalf("%q accepted as %s", s, d)
		}
		back, err := fx.ParseRate(d.String())
		if err != nil || !back.Equal(d) {
			t.Fatalf("%q: %s does not round-trip: %v", s, d, err)
		}
	})
}

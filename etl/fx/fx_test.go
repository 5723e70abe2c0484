package fx_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/fx"
)

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

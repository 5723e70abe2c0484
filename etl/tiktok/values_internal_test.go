package tiktok

import "testing"

// TestPlainDecimal: the fast path takes what TikTok sends for nearly every
// decimal and leaves the rest to parseDecimal.
func TestPlainDecimal(t *testing.T) {
	for _, c := range []struct {
		text string
		ok   bool
	}{
		{"12.50", true}, {"0", true}, {"0.00", true}, {"0.000001", true}, {"007.5", true},
		{"123456789012345678", true}, {"12345678901234567.8", true},
		{"1234567890123456789", false}, {"1.", false}, {".5", false}, {"1.2.3", false},
		{"-1", false}, {"+1", false}, {"1e3", false}, {"", false}, {"-", false}, {" 1", false},
	} {
		if _, ok := plainDecimal([]byte(`"` + c.text + `"`)); ok != c.ok {
			t.Errorf("plainDecimal(%q) ok = %v, want %v", c.text, ok, c.ok)
		}
	}
	if _, ok := plainDecimal([]byte("12.5")); ok {
		t.Error("plainDecimal took a bare number; those go through parseDecimal")
	}
}

// FuzzPlainDecimal: wherever the fast path answers, parseDecimal, the
// general parser, gives the same coefficient and exponent: the same value,
// and the same text in extra_metrics.
func FuzzPlainDecimal(f *testing.F) {
	for _, s := range []string{"0", "12.50", "0.000001", "007.5", "1.", ".5", "123456789012345678", "1234567890123456789", "9.99999999999999999", "1.2.3", "-1", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := plainDecimal([]byte(`"` + s + `"`))
		if !ok {
			return
		}
		want, err := parseDecimal(s)
		if err != nil {
			t.Fatalf("plainDecimal took %q, which parseDecimal refuses: %v", s, err)
		}
		if got.Exponent() != want.Exponent() || got.Coefficient().Cmp(want.Coefficient()) != 0 {
			t.Fatalf("%q: plainDecimal %s·10^%d, parseDecimal %s·10^%d", s, got.Coefficient(), got.Exponent(), want.Coefficient(), want.Exponent())
		}
	})
}

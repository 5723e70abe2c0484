package metrics

import (
	"errors"
	"math"
	"testing"

	"github.com/shopspring/decimal"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in     string
		micros int64
		err    error
	}{
		{"20.000", 20_000_000, nil},
		{"0.10", 100_000, nil},
		{"0", 0, nil},
		{"-0", 0, nil},
		{"+1.5", 1_500_000, nil},
		{"-1.5", -1_500_000, nil},
		{"0.000001", 1, nil},
		{"-0.000001", -1, nil},
		{"1.0000000000", 1_000_000, nil}, // trailing zeros beyond scale 6 are exact
		{"007.25", 7_250_000, nil},
		{"9223372036854.775807", math.MaxInt64, nil},
		{"-9223372036854.775808", math.MinInt64, nil},
		{"9223372036854.775808", 0, ErrRange},
		{"-9223372036854.775809", 0, ErrRange},
		{"9223372036855", 0, ErrRange},
		{"99999999999999999999999", 0, ErrRange},
		{"0.0000001", 0, ErrPrecision},
		{"1.1234567", 0, ErrPrecision},
		{"", 0, ErrSyntax},
		{"-", 0, ErrSyntax}, // TikTok's missing value: the caller maps it to NULL
		{"+", 0, ErrSyntax},
		{".5", 0, ErrSyntax},
		{"5.", 0, ErrSyntax},
		{"1e3", 0, ErrSyntax},
		{" 1", 0, ErrSyntax},
		{"1 ", 0, ErrSyntax},
		{"1,000.00", 0, ErrSyntax},
		{"1.2.3", 0, ErrSyntax},
		{"--1", 0, ErrSyntax},
		{"NaN", 0, ErrSyntax},
		{"Inf", 0, ErrSyntax},
		{"١", 0, ErrSyntax}, // non-ASCII digit
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			a, err := ParseAmount(tt.in)
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("ParseAmount(%q) error = %v, want %v", tt.in, err, tt.err)
			}
			if a.Micros() != tt.micros {
				t.Fatalf("ParseAmount(%q) = %d micros, want %d", tt.in, a.Micros(), tt.micros)
			}
		})
	}
}

func TestParseAmountDoesNotAllocate(t *testing.T) {
	var sink Amount
	allocs := testing.AllocsPerRun(1000, func() {
		a, err := ParseAmount("12345.678900")
		if err != nil {
			t.Fatal(err)
		}
		sink = a
	})
	if allocs != 0 {
		t.Fatalf("ParseAmount allocates %.1f times per call", allocs)
	}
	_ = sink
}

func TestAmountString(t *testing.T) {
	tests := []struct {
		micros int64
		want   string
	}{
		{0, "0"},
		{20_000_000, "20"},
		{100_000, "0.1"},
		{-1_000_001, "-1.000001"},
		{1, "0.000001"},
		{math.MaxInt64, "9223372036854.775807"},
		{math.MinInt64, "-9223372036854.775808"},
	}
	for _, tt := range tests {
		a := AmountFromMicros(tt.micros)
		if got := a.String(); got != tt.want {
			t.Errorf("String(%d) = %q, want %q", tt.micros, got, tt.want)
		}
		back, err := ParseAmount(a.String())
		if err != nil || back != a {
			t.Errorf("round trip of %q = %v, %v", a.String(), back, err)
		}
		if !a.Decimal().Equal(decimal.New(tt.micros, -6)) {
			t.Errorf("Decimal(%d) = %s", tt.micros, a.Decimal())
		}
	}
}

func TestAmountText(t *testing.T) {
	var a Amount
	if err := a.UnmarshalText([]byte("12.5")); err != nil {
		t.Fatal(err)
	}
	b, _ := a.MarshalText()
	if string(b) != "12.5" {
		t.Fatalf("MarshalText = %q", b)
	}
	if err := a.UnmarshalText([]byte("x")); !errors.Is(err, ErrSyntax) {
		t.Fatalf("UnmarshalText(x) = %v", err)
	}
}

func TestAmountFromDecimal(t *testing.T) {
	big := decimal.RequireFromString("123456789012345678901234567890")
	tests := []struct {
		in     decimal.Decimal
		micros int64
		err    error
	}{
		{decimal.RequireFromString("20.000"), 20_000_000, nil},
		{decimal.New(5, 0), 5_000_000, nil},
		{decimal.New(-5, -6), -5, nil},
		{decimal.New(50, -7), 5, nil},
		{decimal.New(51, -7), 0, ErrPrecision},
		{decimal.New(0, -100), 0, nil},
		{decimal.New(1, -100), 0, ErrPrecision},
		{decimal.New(1, 12), 1_000_000_000_000_000_000, nil},
		{decimal.New(1, 13), 0, ErrRange},
		{decimal.New(1, 40), 0, ErrRange},
		{decimal.RequireFromString("9223372036854.775807"), math.MaxInt64, nil},
		{decimal.RequireFromString("-9223372036854.775808"), math.MinInt64, nil},
		{decimal.RequireFromString("9223372036854.775808"), 0, ErrRange},
		{decimal.RequireFromString("1.00000000000000000000000000"), 1_000_000, nil}, // big coefficient, exact
		{decimal.RequireFromString("1.00000000000000000000000001"), 0, ErrPrecision},
		{big, 0, ErrRange},
	}
	for _, tt := range tests {
		t.Run(tt.in.String(), func(t *testing.T) {
			a, err := AmountFromDecimal(tt.in)
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("error = %v, want %v", err, tt.err)
			}
			if a.Micros() != tt.micros {
				t.Fatalf("= %d micros, want %d", a.Micros(), tt.micros)
			}
		})
	}
}

func TestAmountFromDecimalDoesNotAllocate(t *testing.T) {
	d := decimal.RequireFromString("1234.56")
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := AmountFromDecimal(d); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("AmountFromDecimal allocates %.1f times per call", allocs)
	}
}

func TestCurrency(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"USD", "USD", true},
		{"eur", "EUR", true},
		{"Rub", "RUB", true},
		{"", "", false},
		{"US", "", false},
		{"USDT", "", false},
		{"U$D", "", false},
		{"12A", "", false},
	}
	for _, tt := range tests {
		c, err := ParseCurrency(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseCurrency(%q) error = %v", tt.in, err)
			continue
		}
		if err != nil && !errors.Is(err, ErrCurrency) {
			t.Errorf("ParseCurrency(%q) error = %v, want ErrCurrency", tt.in, err)
		}
		if c.String() != tt.want {
			t.Errorf("ParseCurrency(%q) = %q, want %q", tt.in, c, tt.want)
		}
	}
	var c Currency
	if err := c.UnmarshalText([]byte("jpy")); err != nil || c != MustCurrency("JPY") {
		t.Fatalf("UnmarshalText = %v, %v", c, err)
	}
	if b, _ := c.MarshalText(); string(b) != "JPY" {
		t.Fatalf("MarshalText = %q", b)
	}
	if err := c.UnmarshalText(nil); err != nil || !c.IsZero() {
		t.Fatalf("UnmarshalText(empty) = %v, %v", c, err)
	}
	if b, _ := c.MarshalText(); len(b) != 0 {
		t.Fatalf("zero MarshalText = %q", b)
	}
	if err := c.UnmarshalText([]byte("??")); err == nil {
		t.Fatal("UnmarshalText accepted ??")
	}
}

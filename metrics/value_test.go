package metrics

import (
	"encoding/json"
	"math/big"
	"testing"

	"github.com/shopspring/decimal"
)

func bi(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic("bad int " + s)
	}
	return n
}

func TestRoundRatio(t *testing.T) {
	tests := []struct {
		name     string
		num, den string
		scale    int32
		want     string // q, the result × 10^scale
	}{
		{"1/8 tie to even down", "1", "8", 2, "12"},
		{"3/8 tie to even up", "3", "8", 2, "38"},
		{"0.125 exact", "125", "1000", 2, "12"},
		{"0.135 exact", "135", "1000", 2, "14"},
		{"just above tie", "1250000001", "10000000000", 2, "13"},
		{"just below tie", "1249999999", "10000000000", 2, "12"},
		{"-1/8", "-1", "8", 2, "-12"},
		{"-3/8", "-3", "8", 2, "-38"},
		{"1/-8 sign from den", "1", "-8", 2, "-12"},
		{"-1/-8", "-1", "-8", 2, "12"},
		{"-0.125", "-125", "1000", 2, "-12"},
		{"-0.1250000001", "-1250000001", "10000000000", 2, "-13"},
		{"2/3", "2", "3", 6, "666667"},
		{"1/3", "1", "3", 6, "333333"},
		{"0.5 at scale 0", "1", "2", 0, "0"},
		{"1.5 at scale 0", "3", "2", 0, "2"},
		{"2.5 at scale 0", "5", "2", 0, "2"},
		{"-2.5 at scale 0", "-5", "2", 0, "-2"},
		{"-0.5 at scale 0", "-1", "2", 0, "0"},
		{"tiny negative to zero", "-1", "1000", 2, "0"},
		{"zero", "0", "7", 4, "0"},
		{"integer", "42", "1", 3, "42000"},
		{"negative scale clamps to 0", "5", "2", -3, "2"},
		{"huge", "340282366920938463463374607431768211455", "3", 2, "11342745564031282115445820247725607048500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, ok := RoundRatio(bi(tt.num), bi(tt.den), tt.scale)
			if !ok {
				t.Fatal("not defined")
			}
			if q.String() != tt.want {
				t.Fatalf("RoundRatio(%s/%s, %d) = %s, want %s", tt.num, tt.den, tt.scale, q, tt.want)
			}
		})
	}
}

func TestRoundRatioUndefined(t *testing.T) {
	for _, tt := range []struct {
		name     string
		num, den *big.Int
	}{
		{"zero den", big.NewInt(1), big.NewInt(0)},
		{"zero over zero", big.NewInt(0), big.NewInt(0)},
		{"nil den", big.NewInt(1), nil},
		{"nil num", nil, big.NewInt(1)},
	} {
		if q, ok := RoundRatio(tt.num, tt.den, 2); ok || q != nil {
			t.Errorf("%s: RoundRatio = %v, %v; want nil, false", tt.name, q, ok)
		}
		if v := NewRatio(tt.num, tt.den, 2); v.Defined() {
			t.Errorf("%s: NewRatio defined", tt.name)
		}
	}
}

func TestRoundRatioDoesNotMutate(t *testing.T) {
	n, d := big.NewInt(-3), big.NewInt(8)
	RoundRatio(n, d, 2)
	if n.Int64() != -3 || d.Int64() != 8 {
		t.Fatalf("inputs changed to %s/%s", n, d)
	}
}

func TestValueFormat(t *testing.T) {
	tests := []struct {
		name          string
		v             Value
		str, text, js string
		decimal       string
		defined       bool
		scale         int32
	}{
		{"undefined", Value{}, "NULL", "", "null", "", false, 0},
		{"1/8 at 2", NewRatio(big.NewInt(1), big.NewInt(8), 2), "0.12", "0.12", `"0.12"`, "0.12", true, 2},
		{"3/8 at 2", NewRatio(big.NewInt(3), big.NewInt(8), 2), "0.38", "0.38", `"0.38"`, "0.38", true, 2},
		{"1/8 at 6 pads", NewRatio(big.NewInt(1), big.NewInt(8), 6), "0.125000", "0.125000", `"0.125000"`, "0.125", true, 6},
		{"-1/8 at 2", NewRatio(big.NewInt(-1), big.NewInt(8), 2), "-0.12", "-0.12", `"-0.12"`, "-0.12", true, 2},
		{"-1/-8 normalised", NewRatio(big.NewInt(-1), big.NewInt(-8), 2), "0.12", "0.12", `"0.12"`, "0.12", true, 2},
		{"no negative zero", NewRatio(big.NewInt(-1), big.NewInt(1000), 2), "0.00", "0.00", `"0.00"`, "0", true, 2},
		{"scale 0", NewRatio(big.NewInt(7), big.NewInt(2), 0), "4", "4", `"4"`, "4", true, 0},
		{"large", NewRatio(bi("123456789012345678901234567890"), big.NewInt(1), 1), "123456789012345678901234567890.0", "123456789012345678901234567890.0", `"123456789012345678901234567890.0"`, "123456789012345678901234567890", true, 1},
		{"small at 8", NewRatio(big.NewInt(1), big.NewInt(3000), 8), "0.00033333", "0.00033333", `"0.00033333"`, "0.00033333", true, 8},
		{"-small at 8", NewRatio(big.NewInt(-1), big.NewInt(3000), 8), "-0.00033333", "-0.00033333", `"-0.00033333"`, "-0.00033333", true, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.v.String(); got != tt.str {
				t.Errorf("String = %q, want %q", got, tt.str)
			}
			if got, err := tt.v.MarshalText(); err != nil || string(got) != tt.text {
				t.Errorf("MarshalText = %q, %v, want %q", got, err, tt.text)
			}
			if got, err := json.Marshal(tt.v); err != nil || string(got) != tt.js {
				t.Errorf("json = %s, %v, want %s", got, err, tt.js)
			}
			if tt.v.Defined() != tt.defined || tt.v.Scale() != tt.scale {
				t.Errorf("Defined, Scale = %v, %d", tt.v.Defined(), tt.v.Scale())
			}
			d, ok := tt.v.Decimal()
			if ok != tt.defined || (ok && d.String() != tt.decimal) {
				t.Errorf("Decimal = %s, %v, want %s", d, ok, tt.decimal)
			}
		})
	}
}

func TestValueWithScaleRoundsFromExact(t *testing.T) {
	// 0.1251 prints 0.125 at scale 3. Rounding that printed value half-even
	// to scale 2 would give 0.12; rounding the exact value gives 0.13.
	v := NewRatio(big.NewInt(1251), big.NewInt(10000), 3)
	if v.String() != "0.125" {
		t.Fatalf("scale 3 = %s", v)
	}
	if got := v.WithScale(2).String(); got != "0.13" {
		t.Fatalf("WithScale(2) = %s, want 0.13 (from exact 0.1251, not from 0.125)", got)
	}
	if got := v.WithScale(100).Scale(); got != MaxScale {
		t.Fatalf("WithScale(100).Scale() = %d", got)
	}
	if got := v.WithScale(-1).Scale(); got != 0 {
		t.Fatalf("WithScale(-1).Scale() = %d", got)
	}
	r, ok := v.Rat()
	if !ok || r.Cmp(big.NewRat(1251, 10000)) != 0 {
		t.Fatalf("Rat = %v", r)
	}
	if _, ok := (Value{}).Rat(); ok {
		t.Fatal("undefined Rat ok")
	}
	if b, _ := (Value{}).AppendText([]byte("x=")); string(b) != "x=" {
		t.Fatalf("AppendText undefined = %q", b)
	}
	if b, _ := v.AppendText([]byte("x=")); string(b) != "x=0.125" {
		t.Fatalf("AppendText = %q", b)
	}
}

func TestNewRatioCopies(t *testing.T) {
	n := big.NewInt(1)
	v := NewRatio(n, big.NewInt(8), 3)
	n.SetInt64(5)
	if v.String() != "0.125" {
		t.Fatalf("Value changed with its input: %s", v)
	}
}

// TestRoundRatioBoundaries sweeps every x.xx5 tie and its neighbours, positive
// and negative, and checks against shopspring's RoundBank, an independent
// half-even implementation for decimal inputs.
func TestRoundRatioBoundaries(t *testing.T) {
	for n := int64(-20_000); n <= 20_000; n++ {
		for _, c := range []struct {
			exp   int32
			scale int32
		}{{-3, 2}, {-4, 3}, {-1, 0}, {-7, 6}} {
			den := pow10Big[-c.exp]
			q, ok := RoundRatio(big.NewInt(n), den, c.scale)
			want := decimal.New(n, c.exp).RoundBank(c.scale)
			if !ok || !decimal.NewFromBigInt(q, -c.scale).Equal(want) {
				t.Fatalf("RoundRatio(%d/%s, %d) = %s, RoundBank gives %s", n, den, c.scale, q, want)
			}
		}
	}
}

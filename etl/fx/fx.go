// Package fx imports exchange rates and converts amounts between currencies
// with them, exactly: rates are decimals with up to 12 places, converted
// amounts are rounded half-even once, to 6.
package fx

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/adhouse/adhouse/etl/ingest"
	"github.com/adhouse/adhouse/etl/load"
)

// MaxAge is how old a rate may be: an amount of a day converts at the rate
// of that day, or else of the latest of the MaxAge days before it (weekends
// and holidays have none); older rates are not used.
const MaxAge = 7

// Rate says that on Date one unit of Base costs Rate units of Quote.
type Rate struct {
	Date        time.Time
	Base, Quote string
	Rate        decimal.Decimal
}

// AppendValues implements load.Row.
func (r *Rate) AppendValues(dst []any) []any {
	return append(dst, r.Date, r.Base, r.Quote, r.Rate)
}

// Format is an exchange rate CSV with the columns date, base, quote and rate
// (one base unit in quote units), such as a central bank's reference rates.
type Format struct{}

// Source implements ingest.Format.
func (Format) Source() string { return "fx" }

// Name implements ingest.Format.
func (Format) Name() string { return "fx-csv" }

// Tables implements ingest.Format.
func (Format) Tables() []load.Table {
	return []load.Table{{Name: "load_fx_rates", Columns: []string{"rate_date", "base", "quote", "rate"}}}
}

// Parse implements ingest.Format. A rate must be positive with at most 12
// decimals; the same date and pair twice fails the file.
func (Format) Parse(ctx context.Context, in *ingest.Input, sink ingest.Sink) error {
	c, err := ingest.NewCSV(in.Name, in.Reader())
	if err != nil {
		return err
	}
	idx := map[string]int{}
	for _, n := range []string{"date", "base", "quote", "rate"} {
		if idx[n], err = c.Require(n); err != nil {
			return err
		}
	}
	seen := map[string]int64{}
	for {
		ok, err := c.Next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		r := &Rate{}
		if _, r.Date, err = ingest.Time(c.Get(idx["date"])); err != nil {
			return c.Fail(idx["date"], err)
		}
		if r.Base, err = ingest.Currency(c.Get(idx["base"])); err != nil {
			return c.Fail(idx["base"], err)
		}
		if r.Quote, err = ingest.Currency(c.Get(idx["quote"])); err != nil {
			return c.Fail(idx["quote"], err)
		}
		if r.Base == r.Quote {
			return c.Fail(idx["quote"], errors.New("the same currency on both sides"))
		}
		if r.Rate, err = ParseRate(strings.TrimSpace(c.Get(idx["rate"]))); err != nil {
			return c.Fail(idx["rate"], err)
		}
		key := r.Date.Format(time.DateOnly) + r.Base + r.Quote
		if first, dup := seen[key]; dup {
			return c.Failf("duplicate rate for %s %s/%s (first on line %d)", r.Date.Format(time.DateOnly), r.Base, r.Quote, first)
		}
		seen[key] = c.Line()
		if err := sink.Emit(ctx, 0, c.Line(), r); err != nil {
			return err
		}
	}
}

// ParseRate reads a rate: a positive decimal, at most 12 places, no
// exponent, below 10^20.
func ParseRate(s string) (decimal.Decimal, error) {
	if s == "" || strings.ContainsAny(s, "eE ,") {
		return decimal.Decimal{}, errors.New("not a plain decimal number")
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, errors.New("not a decimal number")
	}
	if !d.IsPositive() {
		return decimal.Decimal{}, errors.New("a rate must be positive")
	}
	if d.Exponent() < -12 {
		return decimal.Decimal{}, errors.New("more than 12 decimals")
	}
	if d.GreaterThanOrEqual(decimal.New(1, 20)) {
		return decimal.Decimal{}, errors.New("out of range")
	}
	return d, nil
}

// Table holds rates for lookups by day and pair.
type Table map[string]decimal.Decimal

func key(day time.Time, base, quote string) string {
	return day.Format(time.DateOnly) + base + quote
}

// Add records a rate.
func (t Table) Add(r Rate) { t[key(r.Date, r.Base, r.Quote)] = r.Rate }

// Convert converts an amount of from into to on day: at the pair's rate of
// that day, else of the latest of the MaxAge days before; the inverse pair's
// rate serves too. The result is rounded half-even to 6 decimals; ok is
// false when no rate applies, and the amount is then unknown.
func (t Table) Convert(amount decimal.Decimal, day time.Time, from, to string) (decimal.Decimal, bool) {
	if from == to {
		return amount, true
	}
	for back := 0; back <= MaxAge; back++ {
		d := day.AddDate(0, 0, -back)
		if r, ok := t[key(d, from, to)]; ok {
			return amount.Mul(r).RoundBank(6), true
		}
		if r, ok := t[key(d, to, from)]; ok {
			return amount.DivRound(r, 18).RoundBank(6), true
		}
	}
	return decimal.Decimal{}, false
}

// Package fx imports exchange rates: decimals with up to 12 places, one per
// day and currency pair. metrics.ExchangeRates converts with them.
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

package ingest

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/adhouse/adhouse/metrics"
)

// maxMicros keeps amounts inside the warehouse's Decimal(18, 6).
const maxMicros = 999_999_999_999_999_999

// Money parses an exact decimal amount (at most 6 decimals, no exponent, no
// thousands separators) for a Decimal(18, 6) column. It never goes through
// float64.
func Money(s string) (decimal.Decimal, error) {
	a, err := metrics.ParseAmount(s)
	if err != nil {
		return decimal.Decimal{}, errors.Unwrap(err)
	}
	if m := a.Micros(); m > maxMicros || m < -maxMicros {
		return decimal.Decimal{}, metrics.ErrRange
	}
	return a.Decimal(), nil
}

// OptionalMoney is Money where an empty cell is NULL.
func OptionalMoney(s string) (*decimal.Decimal, error) {
	if s == "" {
		return nil, nil
	}
	d, err := Money(s)
	return &d, err
}

// ZeroMoney is Money where an empty cell is 0 (Shopify leaves zero columns blank).
func ZeroMoney(s string) (decimal.Decimal, error) {
	if s == "" {
		return decimal.Decimal{}, nil
	}
	return Money(s)
}

// Currency checks an ISO 4217 code.
func Currency(s string) (string, error) {
	c, err := metrics.ParseCurrency(s)
	if err != nil {
		return "", errors.New("not a three-letter ISO 4217 currency code")
	}
	return c.String(), nil
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05 -07:00",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05.000Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
	"2006-01-02",
}

// Time parses a timestamp as exports write it: RFC 3339, Shopify's
// "2006-01-02 15:04:05 -0700", or a wall-clock time without offset (read as
// UTC). It returns the instant and the local day as written, at 00:00 UTC.
func Time(s string) (instant, day time.Time, err error) {
	s = strings.TrimSpace(s)
	for _, layout := range timeLayouts {
		t, err := time.Parse(layout, s)
		if err == nil {
			y, m, d := t.Date()
			return t.UTC(), time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
		}
	}
	return time.Time{}, time.Time{}, fmt.Errorf("not a date or time (want e.g. 2024-05-01, 2024-05-01 13:45:00 -0400 or RFC 3339)")
}

// Bool parses a yes/no cell: true/false, yes/no, 1/0 in any case; empty is false.
func Bool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "y", "1":
		return true, nil
	case "false", "no", "n", "0", "":
		return false, nil
	}
	return false, errors.New("not true or false")
}

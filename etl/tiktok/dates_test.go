package tiktok_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/adhouse/adhouse/etl/tiktok"
)

// TestParseDateSaysTheFormat: a date typed wrong is answered with the format
// to write, never Go's reference layout or parser internals.
func TestParseDateSaysTheFormat(t *testing.T) {
	for _, in := range []string{"2026/01/01", "yesterday", "2026-13-01", "26-01-01", ""} {
		_, err := tiktok.ParseDate(in)
		if err == nil {
			t.Fatalf("%q parsed", in)
		}
		msg := err.Error()
		if !strings.Contains(msg, "YYYY-MM-DD") || strings.Contains(msg, "2006") || strings.Contains(msg, "parsing time") {
			t.Errorf("%q: %s", in, msg)
		}
	}
	d, err := tiktok.ParseDate("2026-03-01")
	if err != nil || d.String() != "2026-03-01" {
		t.Errorf("2026-03-01: %v %v", d, err)
	}
}

// TestDateString: Date.String writes what "%04d-%02d-%02d" writes, for
// every day of four centuries and for dates out of range.
func TestDateString(t *testing.T) {
	want := func(d tiktok.Date) string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }
	for d := tiktok.NewDate(1900, 1, 1); d.Year < 2300; d = d.AddDays(1) {
		if got := d.String(); got != want(d) {
			t.Fatalf("%v: %q, want %q", d, got, want(d))
		}
	}
	for _, d := range []tiktok.Date{{}, {Year: 9999, Month: 12, Day: 31}, {Year: 10000, Month: 1, Day: 1}, {Year: -1, Month: 1, Day: 1},
		{Year: 2026, Month: 100, Day: 1}, {Year: 2026, Month: 1, Day: -3}, {Year: 7, Month: 2, Day: 3}} {
		if got := d.String(); got != want(d) {
			t.Errorf("%#v: %q, want %q", d, got, want(d))
		}
	}
}

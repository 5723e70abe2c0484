package tiktok_test

import (
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

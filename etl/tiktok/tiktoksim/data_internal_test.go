package tiktoksim

import (
	"testing"

	"github.com/adhouse/adhouse/etl/tiktok"
)

// BenchmarkComputeWindow computes a month of one large advertiser's ad-day
// rows, uncached: the value model's cost per row that a backfill pays.
func BenchmarkComputeWindow(b *testing.B) {
	sc, err := Scale("large")
	if err != nil {
		b.Fatal(err)
	}
	sc.Seed, sc.StartDate, sc.Days, sc.RestatementDays = 9, tiktok.NewDate(2026, 6, 1), 90, -1
	s := New(sc)
	end := tiktok.DateOf(s.Now()).AddDays(-1)
	k := windowKey{adv: 0, level: tiktok.LevelAd, gran: tiktok.Daily, start: end.AddDays(-29), end: end, withDeleted: true, now: s.Now().UnixNano()}
	rows := 0
	for b.Loop() {
		rows = len(s.computeWindow(k))
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rows), "ns/row")
}

// TestFormatUnits checks amounts as TikTok writes them: every decimal of
// the scale, a zero before the point, no sign.
func TestFormatUnits(t *testing.T) {
	for _, c := range []struct {
		units uint64
		scale int32
		want  string
	}{
		{0, 0, "0"},
		{7, 0, "7"},
		{0, 2, "0.00"},
		{5, 2, "0.05"},
		{105, 2, "1.05"},
		{123456789, 6, "123.456789"},
		{1, 6, "0.000001"},
		{18446744073709551615, 3, "18446744073709551.615"},
	} {
		if got := formatUnits(c.units, c.scale); got != c.want {
			t.Errorf("formatUnits(%d, %d) = %q, want %q", c.units, c.scale, got, c.want)
		}
		if got := string(appendUnits([]byte("x"), c.units, c.scale)); got != "x"+c.want {
			t.Errorf("appendUnits(x, %d, %d) = %q, want %q", c.units, c.scale, got, "x"+c.want)
		}
	}
}

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

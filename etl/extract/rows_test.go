package extract

import (
	"testing"

	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
)

// BenchmarkStatRowOf turns a month of a large advertiser's ad-day rows into
// warehouse rows held column by column, as a load window does: the part of
// a backfill's CPU between decoding a page and sending a batch.
func BenchmarkStatRowOf(b *testing.B) {
	sc, err := tiktoksim.Scale("large")
	if err != nil {
		b.Fatal(err)
	}
	sc.Seed, sc.StartDate, sc.Days, sc.RestatementDays = 9, tiktok.NewDate(2026, 6, 1), 90, -1
	srv := tiktoksim.New(sc)
	end := tiktok.DateOf(srv.Now()).AddDays(-1)
	truth, err := srv.Truth(srv.AdvertiserIDs()[0], tiktok.LevelAd, tiktok.Daily, end.AddDays(-29), end)
	if err != nil {
		b.Fatal(err)
	}
	tbl, _ := load.NewStatsTable("ad", "daily")
	const batch = 20000
	for b.Loop() {
		var cols load.ColumnBuffer
		for i := range truth {
			row := StatRowOf(tbl, &truth[i], "USD")
			if cols == nil || cols.Len() == batch {
				cols = row.NewColumns(batch)
			}
			cols.Add(row)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(truth)), "ns/row")
}

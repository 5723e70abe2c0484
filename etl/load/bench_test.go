package load_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/schema"
)

// BenchmarkLoaderVsRaw loads the same ad-day rows twice in one run: once with
// bare clickhouse-go PrepareBatch/Append/Send (the baseline), once through the
// loader's windows, and reports both rates and their ratio. Rows default to
// 1,000,000 (ADHOUSE_BENCH_ROWS overrides).
func BenchmarkLoaderVsRaw(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("ADHOUSE_BENCH_ROWS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	for _, proto := range warehousetest.Protocols {
		b.Run(string(proto), func(b *testing.B) {
			conn, cfg := warehousetest.Migrated(b, proto)
			ctx := context.Background()
			tbl, _ := load.NewStatsTable("ad", "daily")
			const days = 30
			rows := sample(tbl, "adv1", day0, days, n/days, 1)
			const batch = 100_000
			insert := "INSERT INTO " + cfg.ClickHouse.Database + "." + tbl.Name + " (" + joinCols(tbl) + ")"
			truncate := func() {
				require.NoError(b, conn.Exec(ctx, "TRUNCATE TABLE "+cfg.ClickHouse.Database+"."+tbl.Name))
			}
			raw := func() float64 {
				truncate()
				start := time.Now()
				vals := make([]any, 0, 64)
				for i := 0; i < len(rows); i += batch {
					bt, err := conn.PrepareBatch(ctx, insert)
					require.NoError(b, err)
					now := time.Now().UTC()
					for _, r := range rows[i:min(i+batch, len(rows))] {
						vals = append(r.AppendValues(vals[:0]), uint64(1), now)
						require.NoError(b, bt.Append(vals...))
					}
					require.NoError(b, bt.Send())
				}
				return float64(len(rows)) / time.Since(start).Seconds()
			}
			loader := func() float64 {
				truncate()
				l := load.New(conn, load.Options{Target: schema.Target{Database: cfg.ClickHouse.Database}, BatchSize: batch, MaxRetries: 3})
				start := time.Now()
				require.NoError(b, loadWindow(ctx, l, tbl, "adv1", day0, day0.AddDate(0, 0, days-1), rows))
				return float64(len(rows)) / time.Since(start).Seconds()
			}
			raw() // warm-up: first inserts pay for page cache and part creation
			var rawRate, loaderRate float64
			for b.Loop() {
				// Interleaved, best of two each, so neither side gets the warmer slot.
				rawRate = max(raw(), 0)
				loaderRate = loader()
				loaderRate = max(loaderRate, loader())
				rawRate = max(rawRate, raw())
			}
			b.ReportMetric(rawRate, "raw_rows/s")
			b.ReportMetric(loaderRate, "loader_rows/s")
			b.ReportMetric(loaderRate/rawRate, "loader/raw")
		})
	}
}

func joinCols(t load.StatsTable) string {
	s := ""
	for _, c := range append(append([]string(nil), t.Columns...), "load_version", "loaded_at") {
		if s != "" {
			s += ", "
		}
		s += c
	}
	return s
}

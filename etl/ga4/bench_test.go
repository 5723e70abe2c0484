package ga4_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/adhouse/adhouse/etl/attribution"
	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/ga4"
	"github.com/adhouse/adhouse/etl/ingest"
	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/schema"
)

// benchFile writes a gzipped GA4 NDJSON file of about size uncompressed bytes,
// streaming: the generator holds one line at a time.
func benchFile(b *testing.B, size int64) (path string, lines int64) {
	b.Helper()
	path = filepath.Join(b.TempDir(), "events.ndjson.gz")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	w := bufio.NewWriterSize(zw, 1<<20)
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	var written int64
	for written < size {
		i := lines
		name, page, ecommerce := "page_view", fmt.Sprintf("https://shop.example/p/%d?utm_source=tiktok&utm_medium=paid&utm_campaign=%d&utm_content=%d&ttclid=E.C.P.%d", i%5000, 1000+i%40, 3000+i%400, i), "null"
		if i%20 == 19 {
			name, page, ecommerce = "purchase", "https://shop.example/checkout", fmt.Sprintf(`{"transaction_id":"T%d","purchase_revenue":%d.99,"total_item_quantity":"2"}`, i, 10+i%90)
		}
		n, _ := fmt.Fprintf(w, `{"event_date":"20240501","event_timestamp":"%d","event_name":"%s","event_params":[{"key":"ga_session_id","value":{"string_value":null,"int_value":"%d","float_value":null,"double_value":null}},{"key":"page_location","value":{"string_value":"%s","int_value":null,"float_value":null,"double_value":null}},{"key":"page_title","value":{"string_value":"Product page %d","int_value":null,"float_value":null,"double_value":null}}],"user_id":null,"user_pseudo_id":"%d.%d","traffic_source":{"name":"(organic)","medium":"organic","source":"google"},"device":{"category":"mobile","operating_system":"Android","web_info":{"browser":"Chrome"}},"geo":{"country":"India","city":"Noida"},"collected_traffic_source":null,"ecommerce":%s,"items":[]}`+"\n",
			base+i*1000, name, 1700000000+i/10, page, i%5000, 745846450+i%100000, 1644156613, ecommerce)
		written += int64(n)
		lines++
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	zw.Close()
	f.Close()
	return path, lines
}

func benchSize() int64 {
	if s := os.Getenv("ADHOUSE_BENCH_GA4_BYTES"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return 1 << 30
}

// peakRSS reads this process's high-water resident set (VmHWM) in bytes.
func peakRSS() int64 {
	n, _ := warehousetest.PeakRSS(os.Getpid())
	return n
}

// BenchmarkImportGA4 imports a generated gzipped GA4 NDJSON file of 1 GB
// uncompressed (ADHOUSE_BENCH_GA4_BYTES for less) and reports rows/s and the
// peak RSS. The scan sub-benchmark only decompresses and splits lines: the
// ratio of the two is the cost of parsing and loading.
func BenchmarkImportGA4(b *testing.B) {
	path, lines := benchFile(b, benchSize())
	st, _ := os.Stat(path)
	b.Logf("file: %d lines, %d MB gzipped", lines, st.Size()>>20)
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			in, err := ingest.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			lr := ingest.NewLineReader(in.Reader())
			var n int64
			for {
				if _, err := lr.Next(); err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
				n++
			}
			in.Close()
			if n != lines {
				b.Fatalf("%d lines, want %d", n, lines)
			}
		}
		b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric(float64(peakRSS())/(1<<20), "peakRSS_MB")
	})
	b.Run("parse", func(b *testing.B) {
		f := ga4.NDJSON{Options: ga4.Options{Rules: attribution.Rules{TikTokSources: []string{"tiktok"}, CampaignParam: "utm_campaign", AdParam: "utm_content"}, Currency: "USD"}}
		for b.Loop() {
			in, err := ingest.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			var n int64
			if err := f.Parse(context.Background(), in, countSink{&n}); err != nil {
				b.Fatal(err)
			}
			in.Close()
		}
		b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric(float64(peakRSS())/(1<<20), "peakRSS_MB")
	})
	b.Run("import", func(b *testing.B) {
		conn, cfg := warehousetest.Migrated(b, config.ProtocolNative)
		im := ingest.New(conn, ingest.Options{Target: schema.Target{Database: cfg.ClickHouse.Database}})
		f := ga4.NDJSON{Options: ga4.Options{Rules: attribution.Rules{TikTokSources: []string{"tiktok"}, CampaignParam: "utm_campaign", AdParam: "utm_content"}, Currency: "USD"}}
		i := 0
		var before syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
		chBefore := warehousetest.CPU(b)
		for b.Loop() {
			i++
			res, err := im.Import(context.Background(), path, f, fmt.Sprintf("bench-%d", i))
			if err != nil {
				b.Fatal(err)
			}
			if res.Rows != lines {
				b.Fatalf("%d rows, want %d", res.Rows, lines)
			}
		}
		var after syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
		rows := float64(lines) * float64(b.N)
		b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric(float64(peakRSS())/(1<<20), "peakRSS_MB")
		// Where the 2 cores went: the importer runs in this process.
		b.ReportMetric((cpuSeconds(&after)-cpuSeconds(&before))*1e6/rows, "adhouse_cpu_us/row")
		b.ReportMetric((warehousetest.CPU(b)-chBefore)*1e6/rows, "clickhouse_cpu_us/row")
	})
}

func cpuSeconds(ru *syscall.Rusage) float64 {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

type countSink struct{ n *int64 }

func (c countSink) Emit(_ context.Context, _ int, _ int64, _ load.Row) error {
	*c.n++
	return nil
}

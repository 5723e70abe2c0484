package extract_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
	"github.com/adhouse/adhouse/etl/warehouse"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
)

var (
	resultLine = regexp.MustCompile(`(\d+) advertisers, (\d+) windows, (\d+) rows, (\d+) API calls \((\d+) retries\)`)
	// callsLine is the summary's breakdown: "N API calls: endpoint n, …; outcome n, …".
	// refreshedLine is the log line of the run's refresh of the materialised
	// tables, with how long it took.
	refreshedLine = regexp.MustCompile(`"took":"([^"]+)"[^\n]*"message":"materialised BI tables refreshed"`)
	callsLine     = regexp.MustCompile(`(?m)^\s+(\d+) API calls: ([^;]+); (.+)$`)
)

// counts parses "name n, name n" into a map.
func counts(tb testing.TB, list string) map[string]int {
	out := map[string]int{}
	for _, part := range strings.Split(list, ", ") {
		i := strings.LastIndexByte(part, ' ')
		n, err := strconv.Atoi(part[i+1:])
		require.NoError(tb, err, "%q", list)
		out[part[:i]] = n
	}
	return out
}

// BenchmarkBackfill backfills ad-day rows from the simulator into the embedded
// ClickHouse with the adhouse binary, twice (half and full size, to show peak
// RSS does not grow with rows), then the full range again with --force (every
// day re-loaded and rebuilt), and inserts the same rows with bare
// clickhouse-go PrepareBatch as the baseline, all in one run. Full size is 72
// days of the simulator's large account: just over 1,000,000 ad-days.
func BenchmarkBackfill(b *testing.B) {
	days := 72
	if s := os.Getenv("ADHOUSE_BENCH_DAYS"); s != "" {
		days, _ = strconv.Atoi(s)
	}
	bin := warehousetest.Binary(b)
	sc, err := tiktoksim.Scale("large")
	require.NoError(b, err)
	sc.Seed, sc.StartDate, sc.Days, sc.RestatementDays = 9, tiktok.NewDate(2026, 6, 1), 90, -1
	srv := tiktoksim.New(sc)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	last := tiktok.DateOf(srv.Now()).AddDays(-1)

	for b.Loop() {
		type run struct {
			rows, calls       int
			byEndpoint        map[string]int
			rate              float64
			rssMB             float64
			cpuChild, cpuSelf float64 // seconds: the adhouse process, this one (the simulator)
			cpuWarehouse      float64 // seconds: the warehouse's processes (supervisor, gateway, engine)
			wall, refresh     float64 // seconds: the whole run, its refresh of the materialised tables
		}
		// newWarehouse is a migrated database and the CLI's configuration
		// for it: only the ad level, so the figure is ad-day rows; entities
		// off, one stream.
		newWarehouse := func() string {
			conn, cfg := warehousetest.Migrated(b, config.ProtocolHTTP)
			warehousetest.AwaitMerges(b, conn, time.Second)
			cfgPath := writeCLIConfig(b, srv, tiktoksim.BaseURLFor(ts.URL), cfg, "daily")
			cfgText, err := os.ReadFile(cfgPath)
			require.NoError(b, err)
			cfgText = bytes.Replace(cfgText, []byte("batch_size: 300"), []byte("batch_size: 20000"), 1)
			cfgText = bytes.Replace(cfgText, []byte("page_size: 100"), []byte("page_size: 1000"), 1)
			cfgText = bytes.Replace(cfgText, []byte("concurrency: 3"), []byte("concurrency: 4\n  levels: [ad]\n  entities: false"), 1)
			// At info the log says how long the refresh took, and nothing per window.
			cfgText = bytes.Replace(cfgText, []byte("level: warn"), []byte("level: info"), 1)
			require.NoError(b, os.WriteFile(cfgPath, cfgText, 0o600))
			return cfgPath
		}
		backfill := func(cfgPath string, days int, flags ...string) run {
			from := last.AddDays(1 - days)
			cmd := runCLI(context.Background(), bin, cfgPath, srv.Now(), append([]string{"backfill", "--from", from.String(), "--to", last.String()}, flags...)...)
			if p := os.Getenv("ADHOUSE_BENCH_CPUPROFILE"); p != "" {
				cmd.Env = append(cmd.Env, "ADHOUSE_CPUPROFILE="+p)
			}
			st, err := warehouse.Status(context.Background(), warehousetest.Dir(b))
			require.NoError(b, err)
			whBefore := warehousetest.TreeCPU(b, st.PID)
			var before syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
			var output bytes.Buffer
			cmd.Stdout, cmd.Stderr = &output, &output
			start := time.Now()
			require.NoError(b, cmd.Start())
			peak := watchPeakRSS(cmd.Process.Pid)
			err = cmd.Wait()
			elapsed := time.Since(start)
			rssMB := peak()
			out := output.Bytes()
			var after syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
			whCPU := warehousetest.TreeCPU(b, st.PID) - whBefore
			require.NoError(b, err, "%s", out)
			m := resultLine.FindStringSubmatch(string(out))
			require.NotNil(b, m, "%s", out)
			rows, _ := strconv.Atoi(m[3])
			calls, _ := strconv.Atoi(m[4])
			cm := callsLine.FindStringSubmatch(string(out))
			require.NotNil(b, cm, "%s", out)
			byEndpoint := counts(b, cm[2])
			sum := 0
			for _, n := range byEndpoint {
				sum += n
			}
			require.Equal(b, calls, sum, "the endpoints add up to the calls: %s", out)
			rm := refreshedLine.FindStringSubmatch(string(out))
			require.NotNil(b, rm, "%s", out)
			refresh, err := time.ParseDuration(rm[1])
			require.NoError(b, err)
			ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
			return run{rows: rows, calls: calls, byEndpoint: byEndpoint, rate: float64(rows) / elapsed.Seconds(), rssMB: rssMB,
				cpuChild: cpuSeconds(ru), cpuSelf: cpuSeconds(&after) - cpuSeconds(&before), cpuWarehouse: whCPU, wall: elapsed.Seconds(), refresh: refresh.Seconds()}
		}
		// The rows the backfill must load, from a simulator of their own: the
		// one serving the backfill keeps a cold cache. They are made for each
		// raw insert and let go before a backfill, so that this process,
		// which runs the simulator, is as small during a backfill as before.
		// The minimum calls: one advertiser/info call per 100 advertisers,
		// and one report call per 1,000 rows of each advertiser's window.
		tbl, _ := load.NewStatsTable("ad", "daily")
		expected := func() (rows []*load.StatRow, minCalls int) {
			truthSrv := tiktoksim.New(sc)
			minCalls = (len(truthSrv.AdvertiserIDs()) + 99) / 100
			for _, adv := range truthSrv.AdvertiserIDs() {
				info, _ := truthSrv.Advertiser(adv)
				for _, w := range tiktok.Windows(last.AddDays(1-days), last, tiktok.Daily, 30) {
					truth, err := truthSrv.Truth(adv, tiktok.LevelAd, tiktok.Daily, w.Start, w.End)
					require.NoError(b, err)
					minCalls += (len(truth) + 999) / 1000
					for i := range truth {
						rows = append(rows, extract.StatRowOf(tbl, &truth[i], info.Currency))
					}
				}
			}
			return rows, minCalls
		}

		// Baseline: the same rows with bare PrepareBatch/Append/Send, into a
		// fresh database once the warehouse has no merge left to run.
		rawInsert := func() (rate, cpu float64, rows, minCalls int) {
			all, minCalls := expected()
			defer func() {
				all = nil
				debug.FreeOSMemory()
			}()
			conn, cfg := warehousetest.Migrated(b, config.ProtocolHTTP)
			warehousetest.AwaitMerges(b, conn, time.Second)
			insert := "INSERT INTO " + cfg.ClickHouse.Database + "." + tbl.Name + " (" + strings.Join(append(append([]string(nil), tbl.Columns...), "load_version", "loaded_at"), ", ") + ")"
			st, err := warehouse.Status(context.Background(), warehousetest.Dir(b))
			require.NoError(b, err)
			before := warehousetest.TreeCPU(b, st.PID)
			start := time.Now()
			vals := make([]any, 0, 64)
			for i := 0; i < len(all); i += 100_000 {
				batch, err := conn.PrepareBatch(context.Background(), insert)
				require.NoError(b, err)
				now := time.Now().UTC()
				for _, r := range all[i:min(i+100_000, len(all))] {
					vals = append(r.AppendValues(vals[:0]), uint64(1), now)
					require.NoError(b, batch.Append(vals...))
				}
				require.NoError(b, batch.Send())
			}
			return float64(len(all)) / time.Since(start).Seconds(), warehousetest.TreeCPU(b, st.PID) - before, len(all), minCalls
		}
		rawFirst, rawFirstCPU, _, _ := rawInsert()

		half := backfill(newWarehouse(), days/2)
		fullCfg := newWarehouse()
		full := backfill(fullCfg, days)
		// The same range pulled again whole: every day of the materialised
		// table is rebuilt, which must cost about what building it did.
		again := backfill(fullCfg, days, "--force")

		// The baseline is the faster of two raw inserts, one before the
		// backfills and one after: on a shared machine a single one moved by
		// a third between runs, and the faster is the harder to match.
		rawRate, rawCPU, rows, minCalls := rawInsert()
		require.Equal(b, full.rows, rows, "the backfill loaded every row")
		b.ReportMetric(rawFirst, "raw_insert_before_rows/s")
		b.ReportMetric(rawRate, "raw_insert_after_rows/s")
		if rawFirst > rawRate {
			rawRate, rawCPU = rawFirst, rawFirstCPU
		}

		b.ReportMetric(float64(full.rows), "ad_day_rows")
		b.ReportMetric(full.rate, "backfill_rows/s")
		b.ReportMetric(rawRate, "raw_insert_rows/s")
		b.ReportMetric(full.rate/rawRate, "backfill/raw")
		b.ReportMetric(again.rate, "forced_again_rows/s")
		b.ReportMetric(again.rate/full.rate, "forced_again/first")
		// Every call of the run, not only report calls, against the minimum.
		b.ReportMetric(float64(full.calls), "api_calls")
		b.ReportMetric(float64(minCalls), "min_api_calls")
		b.ReportMetric(float64(full.calls)/float64(minCalls), "api_calls/min")
		b.ReportMetric(float64(full.byEndpoint["report/integrated/get"]), "report_calls")
		b.ReportMetric(float64(full.byEndpoint["advertiser/info"]), "info_calls")
		b.ReportMetric(full.rssMB, "peak_rss_MB")
		b.ReportMetric(half.rssMB, "peak_rss_half_MB")
		b.ReportMetric(full.rssMB/half.rssMB, "rss_full/half")
		// Where the 2 cores went during the full backfill: the simulator runs in
		// this process and competes with adhouse and ClickHouse for them.
		b.ReportMetric(full.wall, "backfill_wall_s")
		b.ReportMetric(full.refresh, "backfill_refresh_s")
		b.ReportMetric(again.refresh, "forced_again_refresh_s")
		b.ReportMetric(full.cpuChild, "adhouse_cpu_s")
		b.ReportMetric(full.cpuSelf, "simulator_cpu_s")
		b.ReportMetric(full.cpuWarehouse, "clickhouse_cpu_s")
		b.ReportMetric(rawCPU, "raw_insert_clickhouse_cpu_s")
		b.ReportMetric(full.cpuChild*1e6/float64(full.rows), "adhouse_cpu_us/row")
	}
}

func cpuSeconds(ru *syscall.Rusage) float64 {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// watchPeakRSS polls the peak resident set of process pid
// (warehousetest.PeakRSS) until the returned function is called, which
// returns it in MB.
func watchPeakRSS(pid int) func() float64 {
	var peak atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if n, ok := warehousetest.PeakRSS(pid); ok && n > peak.Load() {
				peak.Store(n)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() float64 {
		close(stop)
		<-done
		return float64(peak.Load()) / (1 << 20)
	}
}

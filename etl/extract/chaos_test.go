package extract_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim/simtest"
	"github.com/adhouse/adhouse/etl/warehouse"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/queries"
	"github.com/adhouse/adhouse/schema"
)

// writeCLIConfig writes the YAML that points the adhouse binary at the
// simulator and at the test warehouse's database.
func writeCLIConfig(t testing.TB, srv *tiktoksim.Server, baseURL string, cfg config.Config, grans string) string {
	t.Helper()
	sc := srv.Config()
	y := fmt.Sprintf(`clickhouse:
  database: %s
  protocol: %s
warehouse:
  dir: %s
load:
  batch_size: 300
  retry_backoff: 20ms
tiktok:
  base_url: %s
  app_id: "%s"
  secret: %s
  access_token: %s
  qps: 500
  qpm: 30000
  minute_pause: 20ms
  max_retries: 30
  timeout: 2s
  page_size: 100
sync:
  advertisers: [%s]
  granularities: [%s]
  initial_days: 12
  window_days: 30
  concurrency: 3
  async_report_poll: 10ms
log:
  level: warn
  format: json
`, cfg.ClickHouse.Database, cfg.ClickHouse.Protocol, cfg.Warehouse.Dir, baseURL, sc.AppID, sc.Secret, srv.AccessToken(),
		strings.Join(srv.AdvertiserIDs(), ", "), grans)
	path := filepath.Join(t.TempDir(), "adhouse.yaml")
	require.NoError(t, os.WriteFile(path, []byte(y), 0o600))
	return path
}

func runCLI(ctx context.Context, bin, cfgPath string, now time.Time, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, append([]string{"-c", cfgPath}, args...)...)
	cmd.Env = append(os.Environ(), "ADHOUSE_NOW="+now.UTC().Format(time.RFC3339))
	return cmd
}

// TestChaosKilledSyncsConvergeToTruth runs the real binary against a
// simulator that injects rate limits, 5xx, timeouts, truncated and malformed
// bodies, pagination drift and 40067, kills it with SIGKILL at random points
// several times, and then lets a run finish: the warehouse must equal the
// simulator's truth, every row and every decimal, exactly as a clean run's.
func TestChaosKilledSyncsConvergeToTruth(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	bin := warehousetest.Binary(t)
	proto := config.Protocol(os.Getenv("ADHOUSE_CHAOS_PROTOCOL"))
	if proto == "" {
		proto = config.ProtocolHTTP
	}
	conn, cfg := warehousetest.Migrated(t, proto)
	sc := simConfig()
	sc.Faults = tiktoksim.Faults{
		Seed: 7, RateLimitRate: 0.10, SystemErrorRate: 0.03, HTTPErrorRate: 0.02, TimeoutRate: 0.01, HangFor: 3 * time.Second,
		TruncateRate: 0.02, MalformedRate: 0.02, DriftRate: 0.03, QueryTooLargeDays: 8,
	}
	srv := tiktoksim.New(sc)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	cfgPath := writeCLIConfig(t, srv, tiktoksim.BaseURLFor(ts.URL), cfg, "daily, hourly")

	rng := rand.New(rand.NewPCG(1, 2))
	kills := 0
	for i := range 5 {
		cmd := runCLI(context.Background(), bin, cfgPath, srv.Now(), "sync")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		delay := time.Duration(300+rng.IntN(2500)) * time.Millisecond
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-time.After(delay):
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			<-done
			kills++
			t.Logf("run %d killed after %s", i+1, delay)
		case err := <-done:
			t.Logf("run %d finished before its kill (%v)", i+1, err)
		}
	}
	// Now let runs finish; a run may end with failed windows (faults), which
	// the next run retries.
	var last error
	for i := range 6 {
		out, err := runCLI(context.Background(), bin, cfgPath, srv.Now(), "sync").CombinedOutput()
		last = err
		if err == nil {
			t.Logf("completed on finishing run %d: %s", i+1, lastLine(out))
			break
		}
		t.Logf("finishing run %d: %v\n%s", i+1, err, tail(out, 600))
	}
	require.NoError(t, last)
	grans := []tiktok.Granularity{tiktok.Daily, tiktok.Hourly}
	n := requireWarehouseEqualsTruth(t, srv, conn, cfg.ClickHouse.Database, grans, 12)
	st := srv.Stats()
	t.Logf("chaos: %d kills survived, %d rows compared, 0 lost; simulator stats %+v", kills, n, st)
	require.Positive(t, kills)
}

// TestClickHouseOutageMidSync stops ClickHouse while a sync runs: the run
// fails with a clear error, no checkpoint claims a day that is not loaded,
// and the next run completes to the simulator's truth.
func TestClickHouseOutageMidSync(t *testing.T) {
	st := warehousetest.Private(t)
	ctx := context.Background()
	cfg := config.Default()
	cfg.Warehouse.Dir = st.Dir
	cfg.ClickHouse.Database = "outage"
	conn, _, err := warehouse.Connect(ctx, cfg)
	require.NoError(t, err)
	defer conn.Close()
	_, err = queries.Migrate(ctx, conn, schema.Target{Database: cfg.ClickHouse.Database})
	require.NoError(t, err)

	sc := simConfig()
	sc.Faults = tiktoksim.Faults{SlowRate: 1, SlowDelay: 30 * time.Millisecond} // keep the sync running long enough
	srv := simtest.Start(t, sc)
	grans := []tiktok.Granularity{tiktok.Daily, tiktok.Hourly}
	progress := &extract.Progress{}
	s := newSyncerWith(t, srv, conn, cfg, grans, 12, progress)

	errc := make(chan error, 1)
	go func() {
		_, err := s.Run(ctx, srv.AdvertiserIDs(), extract.Job{Name: "sync", Entities: true, Stats: true})
		errc <- err
	}()
	require.Eventually(t, func() bool { return progress.Snapshot().WindowsDone >= 10 }, time.Minute, 10*time.Millisecond)
	require.NoError(t, warehouse.Stop(ctx, st.Dir))
	err = <-errc
	require.Error(t, err)
	msg := err.Error()
	t.Logf("the failed run said: %s", msg)
	// One line: what happened and what to do, not every stream's driver
	// error (the run stops at the first: every other would fail alike).
	var down *extract.WarehouseDownError
	require.ErrorAs(t, err, &down)
	require.NotContains(t, msg, "\n")
	require.Regexp(t, `^the warehouse stopped answering \((connection refused|connection reset|connection closed|code 210: .*)\); .*start it \(`+"`adhouse warehouse start`"+`.*run again$`, msg)
	source, code := extract.Classify(err)
	require.Equal(t, "clickhouse", source)
	require.Contains(t, []string{"unreachable", "210"}, code)
	pw, _ := warehouse.AdminPassword(st.Dir)
	require.NotContains(t, msg, pw)

	warehousetest.Restart(t, st)
	// Every checkpoint is backed by loaded data equal to the truth.
	rows, err := conn.Query(ctx, "SELECT advertiser_id, level, granularity, argMax(through_date, version) FROM outage.sync_checkpoints GROUP BY 1, 2, 3")
	require.NoError(t, err)
	checked := 0
	for rows.Next() {
		var adv, level, gran string
		var through time.Time
		require.NoError(t, rows.Scan(&adv, &level, &gran, &through))
		l, err := tiktok.ParseLevel(level)
		require.NoError(t, err)
		g, err := tiktok.ParseGranularity(gran)
		require.NoError(t, err)
		info, _ := srv.Advertiser(adv)
		loc, _ := info.Location()
		from := tiktok.DateOf(srv.Now().In(loc)).AddDays(-11)
		to := tiktok.DateOf(through)
		require.Equal(t, truthRows(t, srv, adv, l, g, from, to), warehouseRows(t, conn, "outage", adv, l, g, from, to),
			"checkpoint %s %s %s through %s", adv, level, gran, to)
		checked++
	}
	require.NoError(t, rows.Err())
	t.Logf("%d checkpoints verified against loaded data", checked)

	srv.SetFaults(tiktoksim.Faults{})
	_, err = s.Run(ctx, srv.AdvertiserIDs(), extract.Job{Name: "sync", Entities: true, Stats: true})
	require.NoError(t, err)
	requireWarehouseEqualsTruth(t, srv, conn, "outage", grans, 12)
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// TestServeDaemonEndToEnd runs `adhouse serve` against the simulator: it
// syncs on its schedule, reports on /metrics and /healthz, and stops cleanly
// on SIGTERM.
func TestServeDaemonEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	bin := warehousetest.Binary(t)
	conn, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
	srv := tiktoksim.New(simConfig())
	ts := httptest.NewServer(srv)
	defer ts.Close()
	cfgPath := writeCLIConfig(t, srv, tiktoksim.BaseURLFor(ts.URL), cfg, "daily")
	port := freePort(t)
	f, err := os.OpenFile(cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = fmt.Fprintf(f, "serve:\n  listen: 127.0.0.1:%d\n  shutdown_timeout: 20s\n  schedules:\n    - {name: often, cron: \"@every 2s\", job: sync}\n", port)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	cmd := runCLI(context.Background(), bin, cfgPath, srv.Now(), "serve")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	require.Eventually(t, func() bool {
		// The series exist before the first run ends.
		body, err := httpGet(base + "/metrics")
		return err == nil && strings.Contains(body, `adhouse_runs_total{job="often",outcome="failed"} 0`)
	}, 60*time.Second, 50*time.Millisecond, "no zero series on /metrics")
	require.Eventually(t, func() bool {
		body, err := httpGet(base + "/metrics")
		return err == nil && regexp.MustCompile(`adhouse_runs_total\{job="often",outcome="ok"\} [1-9]`).MatchString(body)
	}, 60*time.Second, 200*time.Millisecond, "no successful run on /metrics")
	body, err := httpGet(base + "/metrics")
	require.NoError(t, err)
	require.Contains(t, body, "adhouse_lag_seconds{advertiser=")
	require.Contains(t, body, "adhouse_api_calls_total")
	health, err := httpGet(base + "/healthz")
	require.NoError(t, err)
	require.Contains(t, health, `"status":"ok"`)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-done:
		require.NoError(t, err, "serve exits 0 on SIGTERM:\n%s", &out)
	case <-time.After(40 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("serve did not stop on SIGTERM:\n%s", &out)
	}
	require.NotContains(t, body+health+out.String(), srv.AccessToken(), "the token never reaches logs or metrics")
	require.NotContains(t, out.String(), `"level":"error"`, "a planned shutdown logs no error:\n%s", &out)
	requireWarehouseEqualsTruth(t, srv, conn, cfg.ClickHouse.Database, []tiktok.Granularity{tiktok.Daily}, 12)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func httpGet(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

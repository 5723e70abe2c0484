package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim/simtest"
	"github.com/adhouse/adhouse/etl/warehouse"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
)

// binRun is one run of the adhouse binary.
type binRun struct {
	stdout, stderr string
	code           int
}

// cli runs the real binary with a configuration file on the test warehouse,
// in an environment without any TIKTOK_* variable unless env adds them.
type cli struct {
	t       *testing.T
	bin     string
	cfgPath string
	cfg     config.Config
	env     []string
}

// newCLI writes a configuration whose tiktok section comes from
// ${TIKTOK_BASE_URL} and ${TIKTOK_ACCESS_TOKEN}, as configs/simulator.yaml
// does, plus extra YAML.
func newCLI(t *testing.T, extra string) *cli {
	t.Helper()
	bin := warehousetest.Binary(t)
	cfg := warehousetest.Config(t, config.ProtocolHTTP)
	lib := os.Getenv("ADHOUSE_LIBCHDB")
	if lib == "" {
		lib, _ = filepath.Abs(filepath.Join("..", "..", config.Default().Warehouse.Library))
	}
	path := filepath.Join(t.TempDir(), "adhouse.yaml")
	require.NoError(t, os.WriteFile(path, fmt.Appendf(nil, `clickhouse:
  database: %s
warehouse:
  dir: %s
  library: %s
tiktok:
  base_url: ${TIKTOK_BASE_URL}
  access_token: ${TIKTOK_ACCESS_TOKEN}
  app_id: %q
  secret: %s
log:
  level: warn
%s`, cfg.ClickHouse.Database, cfg.Warehouse.Dir, lib, tiktoksim.DefaultAppID, tiktoksim.DefaultSecret, extra), 0o600))
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TIKTOK_") && !strings.HasPrefix(kv, "ADHOUSE_NOW=") && !strings.HasPrefix(kv, "ADHOUSE_CONFIG=") {
			env = append(env, kv)
		}
	}
	return &cli{t: t, bin: bin, cfgPath: path, cfg: cfg, env: env}
}

func (c *cli) run(env []string, args ...string) binRun {
	c.t.Helper()
	cmd := exec.Command(c.bin, append([]string{"-c", c.cfgPath}, args...)...)
	cmd.Env = append(append([]string{}, c.env...), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := binRun{stdout: out.String(), stderr: errOut.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		r.code = exit.ExitCode()
	} else {
		require.NoError(c.t, err)
	}
	return r
}

// runStdin runs a command that has to succeed with stdin read from a file.
func (c *cli) runStdin(stdinFile string, args ...string) string {
	c.t.Helper()
	f, err := os.Open(stdinFile)
	require.NoError(c.t, err)
	defer f.Close()
	cmd := exec.Command(c.bin, append([]string{"-c", c.cfgPath}, args...)...)
	cmd.Env, cmd.Stdin = c.env, f
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	require.NoError(c.t, cmd.Run(), "adhouse %v:\n%s", args, errOut.String())
	return out.String()
}

// must runs a command that has to succeed.
func (c *cli) must(env []string, args ...string) string {
	c.t.Helper()
	r := c.run(env, args...)
	require.Zero(c.t, r.code, "adhouse %v:\n%s%s", args, r.stdout, r.stderr)
	return r.stdout
}

func (c *cli) conn() driver.Conn {
	c.t.Helper()
	conn, _, err := warehouse.Connect(context.Background(), c.cfg)
	require.NoError(c.t, err)
	c.t.Cleanup(func() { conn.Close() })
	return conn
}

// simEnv points the binary at the simulator and pins its clock.
func simEnv(srv *tiktoksim.Server) []string {
	return []string{"TIKTOK_BASE_URL=" + srv.BaseURL(), "TIKTOK_ACCESS_TOKEN=" + srv.AccessToken(),
		"ADHOUSE_NOW=" + srv.Now().Format(time.RFC3339)}
}

// TestCommandsNeedATokenOnlyToCallTikTok: with TIKTOK_ACCESS_TOKEN (and the
// simulator's TIKTOK_BASE_URL) unset, every command that only touches the
// warehouse works; sync, backfill and serve refuse, naming the key, its line
// and the variable.
func TestCommandsNeedATokenOnlyToCallTikTok(t *testing.T) {
	c := newCLI(t, "")
	fxFile := filepath.Join(t.TempDir(), "rates.csv")
	require.NoError(t, os.WriteFile(fxFile, []byte("date,base,quote,rate\n2026-05-01,EUR,USD,1.0843\n"), 0o600))
	for _, args := range [][]string{
		{"warehouse", "start"},
		{"warehouse", "status"},
		{"migrate"},
		{"migrate", "status"},
		{"import", "fx", fxFile},
		{"export", "roas", "--from", "2026-05-01", "--to", "2026-05-31", "--out", filepath.Join(t.TempDir(), "roas.csv")},
		{"reconcile"},
	} {
		c.must(nil, args...)
	}
	for _, args := range [][]string{
		{"sync"},
		{"backfill", "--from", "2026-05-01", "--to", "2026-05-02"},
		{"serve"},
	} {
		r := c.run(nil, args...)
		require.Equal(t, 1, r.code, "adhouse %v:\n%s%s", args, r.stdout, r.stderr)
		require.Contains(t, r.stderr, "tiktok.access_token (line 8): environment variable TIKTOK_ACCESS_TOKEN is not set", "adhouse %v", args)
	}
}

// TestReconcileCommand: a sync over an account whose purged deleted ads are
// missing from ad-level reports prints the difference in its summary;
// `adhouse reconcile` (no token) prints the table and exits 2, and 0 for a
// range that adds up.
func TestReconcileCommand(t *testing.T) {
	sc := flagsSimConfig()
	sc.PurgeDeletedAds = true
	srv := simtest.Start(t, sc)
	c := newCLI(t, "sync:\n  initial_days: 30\n")
	c.must(nil, "migrate")
	out := c.must(simEnv(srv), "sync")
	require.Regexp(t, `reconciliation: advertiser 70\d{17} ad level \(daily\): \d+ days out of balance \(\d{4}-\d\d-\d\d\.\.\d{4}-\d\d-\d\d\), spend -[\d.]+ [A-Z]{3}, impressions -\d+, clicks -\d+; likely deleted entities \(see .adhouse reconcile.\)`, out)

	pin := []string{"ADHOUSE_NOW=" + srv.Now().Format(time.RFC3339)}
	r := c.run(pin, "reconcile")
	require.Equal(t, 2, r.code, "%s%s", r.stdout, r.stderr)
	t.Logf("adhouse sync:\n%sadhouse reconcile:\n%s", out, r.stdout)
	lines := strings.Split(r.stdout, "\n")
	require.Regexp(t, `^advertiser\s+level\s+granularity\s+from\s+to\s+days\s+spend\s+currency\s+impressions\s+clicks\s+likely cause$`, lines[0])
	require.Regexp(t, `^70\d{17}\s+ad\s+daily\s+(\d{4}-\d\d-\d\d)\s+\d{4}-\d\d-\d\d\s+\d+\s+-[\d.]+\s+[A-Z]{3}\s+-\d+\s+-\d+\s+deleted entities$`, lines[1])
	require.Contains(t, r.stderr, "out of balance")
	first := strings.Fields(lines[1])[3]

	// The day before the first difference adds up.
	d, err := tiktok.ParseDate(first)
	require.NoError(t, err)
	before := d.AddDays(-1).String()
	r = c.run(pin, "reconcile", "--from", before, "--to", before)
	require.Zero(t, r.code, "%s%s", r.stdout, r.stderr)
	require.Contains(t, r.stdout, "Every level adds up")
	r = c.run(pin, "reconcile", "--from", first, "--to", before)
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "is before --from")
}

// flagsSimConfig is an account whose attributed metrics keep growing for
// ten days, so re-pulling a day changes it.
func flagsSimConfig() tiktoksim.Config {
	return tiktoksim.Config{
		Seed: 42, Advertisers: 3, CampaignsPerAdvertiser: 2, AdGroupsPerCampaign: 2, AdsPerAdGroup: 2,
		StartDate: tiktok.NewDate(2026, 8, 1), Days: 60, RestatementDays: 10,
	}
}

// attributed returns the advertiser-level conversions and purchase values of
// a day, summed over the advertisers, in the warehouse and in the
// simulator's truth (as "conversions|value").
func attributed(t *testing.T, c *cli, srv *tiktoksim.Server, day tiktok.Date) (warehouse, truth string) {
	t.Helper()
	var n uint64
	var v string
	require.NoError(t, c.conn().QueryRow(context.Background(), "SELECT sum(conversion), toString(sum(ifNull(complete_payment_value, 0)) + sum(ifNull(total_purchase_value, 0))) FROM "+
		c.cfg.ClickHouse.Database+".advertiser_stats_daily WHERE stat_date = ?", day.Time()).Scan(&n, &v))
	value, err := decimal.NewFromString(v)
	require.NoError(t, err)
	warehouse = fmt.Sprintf("%d|%s", n, value)
	n, value = 0, decimal.Zero
	for _, adv := range srv.AdvertiserIDs() {
		rows, err := srv.Truth(adv, tiktok.LevelAdvertiser, tiktok.Daily, day, day)
		require.NoError(t, err)
		for _, r := range rows {
			n += r.Metrics.Conversion.Uint64
			for _, m := range []string{"total_complete_payment_rate", "total_purchase_value"} {
				if d, ok := r.Metrics.Decimal(m); ok && d.Valid {
					value = value.Add(d.Decimal)
				}
			}
		}
	}
	return warehouse, fmt.Sprintf("%d|%s", n, value)
}

// today is the first advertiser's local day at the simulator's clock.
func simToday(t *testing.T, srv *tiktoksim.Server) tiktok.Date {
	t.Helper()
	info, _ := srv.Advertiser(srv.AdvertiserIDs()[0])
	loc, err := info.Location()
	require.NoError(t, err)
	return tiktok.DateOf(srv.Now().In(loc))
}

// TestSyncLookbackFromAndBackfillForce: a restated day beyond the configured
// lookback changes in the warehouse only with `sync --lookback N`, a day
// beyond any lookback only with `sync --from DATE`, and a completed backfill
// range only with `backfill --force`.
func TestSyncLookbackFromAndBackfillForce(t *testing.T) {
	srv := simtest.Start(t, flagsSimConfig())
	c := newCLI(t, "sync:\n  lookback_days: 1\n  initial_days: 15\n")
	c.must(nil, "migrate")
	c.must(simEnv(srv), "sync")

	// requireRepulled checks that day is stale after plain, and current after
	// flagged, which runs with the same clock.
	requireRepulled := func(day tiktok.Date, plain, flagged []string) {
		t.Helper()
		old, _ := attributed(t, c, srv, day)
		c.must(simEnv(srv), plain...)
		got, truth := attributed(t, c, srv, day)
		require.NotEqual(t, old, truth, "the simulator restated %s", day)
		require.Equal(t, old, got, "adhouse %v left %s as it was", plain, day)
		c.must(simEnv(srv), flagged...)
		got, truth = attributed(t, c, srv, day)
		require.Equal(t, truth, got, "adhouse %v re-pulled %s", flagged, day)
	}

	srv.Advance(48 * time.Hour)
	requireRepulled(simToday(t, srv).AddDays(-5), []string{"sync"}, []string{"sync", "--lookback", "8"})

	srv.Advance(48 * time.Hour)
	from := simToday(t, srv).AddDays(-12)
	out := c.must(simEnv(srv), "sync", "--lookback", "8")
	require.Contains(t, out, "sync: ")
	old, _ := attributed(t, c, srv, from)
	c.must(simEnv(srv), "sync", "--from", from.String())
	got, truth := attributed(t, c, srv, from)
	require.NotEqual(t, old, truth, "the simulator restated %s", from)
	require.Equal(t, truth, got, "sync --from re-pulled %s", from)

	// A backfill range completed at one clock is skipped by the same backfill
	// later, and pulled again whole with --force.
	a, b := simToday(t, srv).AddDays(-9), simToday(t, srv).AddDays(-6)
	backfill := []string{"backfill", "--from", a.String(), "--to", b.String()}
	c.must(simEnv(srv), backfill...)
	srv.Advance(48 * time.Hour)
	requireRepulled(b, backfill, append(backfill, "--force"))

	// Flags that contradict each other are refused before anything runs.
	r := c.run(simEnv(srv), "sync", "--from", a.String(), "--today")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "none of the others can be")
	r = c.run(simEnv(srv), "sync", "--lookback", "400")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "--lookback: 400 is not between 0 and 365")
}

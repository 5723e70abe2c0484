package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/warehouse"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
)

// TestDemoRunsEndToEnd runs `adhouse demo` as a user would, in a fresh
// warehouse folder: it starts the engine and the simulator, syncs 30 days and
// prints a campaign table whose ratios are computed, or undefined, as they
// should be.
func TestDemoRunsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an engine")
	}
	bin := warehousetest.Binary(t)
	dir := filepath.Join(t.TempDir(), "wh")
	lib := os.Getenv("ADHOUSE_LIBCHDB")
	if lib == "" {
		lib, _ = filepath.Abs(filepath.Join("..", "..", config.Default().Warehouse.Library))
	}
	cfgPath := filepath.Join(t.TempDir(), "demo.yaml")
	require.NoError(t, os.WriteFile(cfgPath, fmt.Appendf(nil, "warehouse:\n  dir: %s\n  library: %s\nlog:\n  level: warn\n", dir, lib), 0o600))
	t.Cleanup(func() { _ = warehouse.Stop(context.Background(), dir) })

	out, err := exec.Command(bin, "-c", cfgPath, "demo").CombinedOutput()
	require.NoError(t, err, "%s", out)
	text := string(out)
	t.Logf("adhouse demo:\n%s", text)
	require.Regexp(t, `Synced 4 advertisers: \d+ windows, \d+ rows, \d+ API calls`, text)
	require.Contains(t, text, "reconciliation: every level adds up to the advertiser totals", "the simulator's levels add up")
	require.Regexp(t, `advertiser\s+campaign\s+cur\s+spend\s+impressions\s+clicks\s+installs\s+CPI\s+IPM\s+CPM\s+CPC\s+CTR\s+click-to-install\s+ROAS`, text,
		"all seven seed metrics")
	// The numeric tail of a campaign row: spend, impressions, clicks,
	// installs, then CPI, IPM, CPM, CPC, CTR, click-to-install and ROAS.
	row := regexp.MustCompile(`\s([A-Z]{3})\s+(\d+\.\d\d)\s+(\d+)\s+(\d+)\s+(\d+|undefined)\s+(\S+)\s+(\S+)\s+(\d+\.\d\d)\s+(\d+\.\d\d|undefined)\s+(\d+\.\d\d%)\s+(\d+\.\d\d%|undefined)\s+(\S+)\s*$`)
	lines, withInstalls := 0, 0
	for _, l := range strings.Split(text, "\n") {
		if !strings.Contains(l, "Sim Campaign") {
			continue
		}
		lines++
		m := row.FindStringSubmatch(l)
		require.NotNil(t, m, "a campaign row with every column: %q", l)
		spend, imp, clk := dec(t, m[2]), dec(t, m[3]), dec(t, m[4])
		// Ratios of the printed sums, to the cent or hundredth shown.
		requireNear(t, spend.Mul(dec(t, "1000")).Div(imp), dec(t, m[8]), "CPM", l)
		if !clk.IsZero() {
			requireNear(t, spend.Div(clk), dec(t, m[9]), "CPC", l)
		}
		if m[5] == "undefined" {
			require.Equal(t, []string{"undefined", "undefined"}, []string{m[6], m[7]}, "no installs: CPI and IPM undefined, not 0: %q", l)
			require.Equal(t, "undefined", m[11], "click-to-install: %q", l)
			continue
		}
		withInstalls++
		inst := dec(t, m[5])
		requireNear(t, inst.Mul(dec(t, "1000")).Div(imp), dec(t, m[7]), "IPM", l)
		requireNear(t, inst.Mul(dec(t, "100")).Div(clk), dec(t, strings.TrimSuffix(m[11], "%")), "click-to-install", l)
		if !inst.IsZero() {
			requireNear(t, spend.Div(inst), dec(t, m[6]), "CPI", l)
		}
	}
	require.GreaterOrEqual(t, lines, 8, "a row per campaign with data:\n%s", text)
	require.NotZero(t, withInstalls, "app campaigns have installs:\n%s", text)
	require.Contains(t, text, "undefined", "campaigns without installs have an undefined CPI, not 0")
	require.Contains(t, text, "Stop it with `adhouse warehouse stop`")
}

// TestSyncBeforeMigrateSaysWhatToDo: a new user who runs sync first is told
// to migrate, instead of meeting UNKNOWN_DATABASE halfway through.
func TestSyncBeforeMigrateSaysWhatToDo(t *testing.T) {
	bin := warehousetest.Binary(t)
	cfg := warehousetest.Config(t, config.ProtocolHTTP)
	cfgPath := filepath.Join(t.TempDir(), "a.yaml")
	require.NoError(t, os.WriteFile(cfgPath, fmt.Appendf(nil,
		"clickhouse:\n  database: %s\nwarehouse:\n  dir: %s\ntiktok:\n  access_token: x\nsync:\n  advertisers: [\"1\"]\n",
		cfg.ClickHouse.Database, cfg.Warehouse.Dir), 0o600))
	out, err := exec.Command(bin, "-c", cfgPath, "sync").CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "run `adhouse migrate` first")
}

func dec(t *testing.T, s string) decimal.Decimal {
	t.Helper()
	d, err := decimal.NewFromString(s)
	require.NoError(t, err, "%q", s)
	return d
}

// requireNear checks a printed ratio against the exact ratio of the printed
// sums: within half a unit of its last printed digit.
func requireNear(t *testing.T, exact, shown decimal.Decimal, what, line string) {
	t.Helper()
	require.True(t, exact.Sub(shown).Abs().LessThanOrEqual(decimal.New(5, -3)), "%s %s, exact %s: %q", what, shown, exact, line)
}

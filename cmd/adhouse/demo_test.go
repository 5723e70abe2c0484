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
	require.Regexp(t, `Synced 4 advertisers: \d+ windows, \d+ rows, \d+ API calls`, text)
	require.Contains(t, text, "advertiser")
	require.Contains(t, text, "ROAS")
	lines := 0
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, "Sim Campaign") {
			lines++
			require.Regexp(t, regexp.MustCompile(`\d+\.\d\d%`), l, "CTR as a percentage")
		}
	}
	require.GreaterOrEqual(t, lines, 8, "a row per campaign with data:\n%s", text)
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

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim/simtest"
)

// TestNoSilentSuccessOrDrops (issue 14, point 7), with the real binary
// against the simulator: a range entirely in the future fails, naming the
// range and today in the advertiser's timezone; a finished backfill run
// again says it was already done and names --force; `sync --today
// --entities` does both (entities and today's statistics), not one.
func TestNoSilentSuccessOrDrops(t *testing.T) {
	srv := simtest.Start(t, flagsSimConfig())
	c := newCLI(t, "sync:\n  levels: [advertiser, campaign]\n  granularities: [daily]\n  initial_days: 5\n")
	c.must(nil, "migrate")
	today := simToday(t, srv)

	from, to := today.AddDays(20), today.AddDays(30)
	r := c.run(simEnv(srv), "backfill", "--from", from.String(), "--to", to.String())
	require.Equal(t, 1, r.code, "%s%s", r.stdout, r.stderr)
	require.Contains(t, r.stderr, "the range "+from.String()+".."+to.String()+" is entirely in the future: today is "+today.String())

	a, b := today.AddDays(-6), today.AddDays(-2)
	backfill := []string{"backfill", "--from", a.String(), "--to", b.String()}
	out := c.must(simEnv(srv), backfill...)
	require.NotContains(t, out, "already")
	out = c.must(simEnv(srv), backfill...)
	require.Contains(t, out, "backfill "+a.String()+".."+b.String()+" was already done")
	require.Contains(t, out, "--force")
	require.Contains(t, out, " 0 windows")

	out = c.must(simEnv(srv), "sync", "--today", "--entities")
	require.Contains(t, out, "today+entities: ")
	db := c.cfg.ClickHouse.Database
	var campaigns, todayRows uint64
	require.NoError(t, c.conn().QueryRow(context.Background(), "SELECT count() FROM "+db+".campaigns FINAL").Scan(&campaigns))
	require.NotZero(t, campaigns, "--entities was honoured")
	require.NoError(t, c.conn().QueryRow(context.Background(), "SELECT count() FROM "+db+".advertiser_stats_daily WHERE stat_date = ?", today.Time()).Scan(&todayRows))
	require.NotZero(t, todayRows, "--today was honoured")
}

// TestMessagesForPeople (issue 14, points 7 and 8): configuration and flag
// errors name the key or flag in the file's and the user's terms (no Go type
// names, no Go date layout); a ${VAR} that is unset fails only the commands
// that use it; a relative warehouse.dir is under the configuration's folder
// and "not running" names the folder checked; cron steps beyond range are
// refused and Sunday as 7 is accepted.
func TestMessagesForPeople(t *testing.T) {
	bin := newCLI(t, "").bin
	dir := t.TempDir()
	run := func(yml string, args ...string) binRun {
		t.Helper()
		path := filepath.Join(dir, "adhouse.yaml")
		require.NoError(t, os.WriteFile(path, []byte(yml), 0o600))
		c := &cli{t: t, bin: bin, cfgPath: path}
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "TIKTOK_") && !strings.HasPrefix(kv, "ADHOUSE_") && !strings.HasPrefix(kv, "CLICKHOUSE_") {
				c.env = append(c.env, kv)
			}
		}
		return c.run(nil, args...)
	}
	unset := "clickhouse:\n  password: ${CLICKHOUSE_PASSWORD}\nwarehouse:\n  dir: data/warehouse\ntiktok:\n  access_token: ${TIKTOK_ACCESS_TOKEN}\n"
	wh := filepath.Join(dir, "data", "warehouse")

	r := run(unset, "warehouse", "stop")
	require.Zero(t, r.code, "warehouse stop needs no password: %s", r.stderr)
	r = run(unset, "warehouse", "status")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "the embedded warehouse in "+wh+" is not running")
	r = run(unset, "migrate")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "clickhouse.password (line 2): environment variable CLICKHOUSE_PASSWORD is not set")

	for _, tc := range []struct {
		yml  string
		args []string
		want string
	}{
		{"sync: daily\n", []string{"migrate"}, "line 1: found `daily` where a section of keys (key: value lines) is expected"},
		{"sync:\n  lookback_days: a week\n", []string{"migrate"}, "line 2: found `a week` where a whole number is expected"},
		{"", []string{"backfill", "--from", "2026/01/01", "--to", "2026-01-31"}, `--from: "2026/01/01" is not a date: write YYYY-MM-DD`},
		{"", []string{"sync", "--from", "01-02-2026"}, `--from: "01-02-2026" is not a date: write YYYY-MM-DD`},
		{"serve:\n  schedules:\n    - {name: often, cron: \"*/61 * * * *\", job: today}\n", []string{"serve"},
			`cron "*/61 * * * *": minute field "*/61": the step 61 is beyond the field's range 0-59`},
	} {
		r := run(tc.yml, tc.args...)
		require.Equal(t, 1, r.code, "%v", tc.args)
		require.Contains(t, r.stderr, tc.want, "%v", tc.args)
		for _, leak := range []string{"config.", "2006", "time.Duration", "!!", "parsing time"} {
			require.NotContains(t, r.stderr, leak, "%v", tc.args)
		}
	}
	r = run("serve:\n  schedules:\n    - {name: sundays, cron: \"0 3 * * 7\", job: entities}\n", "migrate", "status")
	require.NotContains(t, r.stderr, "cron", "Sunday as 7 is accepted")
}

package queries_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/queries"
	"github.com/adhouse/adhouse/schema"
)

// byPartition returns every row of a table or view as sorted text, by the
// partition of the materialised tables it falls in: month and advertiser
// bucket, as YYYYMMBB.
func byPartition(t *testing.T, conn driver.Conn, db, table string) map[uint32][]string {
	t.Helper()
	rows, err := conn.Query(context.Background(), fmt.Sprintf(
		"SELECT toUInt32(toYYYYMM(stat_date) * 100 + cityHash64(advertiser_id) %% 16) AS m, toString(tuple(* EXCEPT (window_version))) AS r FROM %s.%s ORDER BY m, r", db, table))
	require.NoError(t, err)
	defer rows.Close()
	out := map[uint32][]string{}
	for rows.Next() {
		var m uint32
		var r string
		require.NoError(t, rows.Scan(&m, &r))
		out[m] = append(out[m], r)
	}
	require.NoError(t, rows.Err())
	return out
}

type snapshot map[string]map[uint32][]string // BI view → partition → rows

func snap(t *testing.T, conn driver.Conn, db string, live bool) snapshot {
	t.Helper()
	s := snapshot{}
	for _, m := range queries.MaterialisedTables() {
		name := m.Name()
		if live {
			name = m.Live()
		}
		s[m.Name()] = byPartition(t, conn, db, name)
	}
	return s
}

// atomic requires every partition of every materialised table to be exactly
// as it was before a refresh or exactly as rebuilt: never a mix.
func atomic(t *testing.T, conn driver.Conn, db string, before, after snapshot) (rebuilt, kept int) {
	t.Helper()
	now := snap(t, conn, db, false)
	for table, months := range now {
		all := map[uint32]bool{}
		for m := range months {
			all[m] = true
		}
		for m := range before[table] {
			all[m] = true
		}
		for m := range after[table] {
			all[m] = true
		}
		for m := range all {
			switch got := months[m]; {
			case equalRows(got, after[table][m]):
				if !equalRows(got, before[table][m]) {
					rebuilt++
				}
			case equalRows(got, before[table][m]):
				kept++
			default:
				t.Fatalf("%s partition %d is neither as it was nor as rebuilt", table, m)
			}
		}
	}
	return rebuilt, kept
}

func equalRows(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var errKilled = errors.New("killed")

// TestRefreshKilledAtEveryStep ends a refresh before each step of its
// rebuild (the staging table, the copy of a partition, the masking of a
// month's changed days, their rebuild, the swap of a partition), the first
// time the step comes or a later time, after a re-load that changed the last
// days of one month (whose partitions keep their first days: copied and
// masked) and every day of the next (rebuilt from nothing), for four
// advertisers. Every partition of every table must
// then be as it was or as rebuilt, no stage is left, and the next refresh must
// make every table equal its live definition.
func TestRefreshKilledAtEveryStep(t *testing.T) {
	conn, cfg := setup(t, config.ProtocolNative)
	db := cfg.ClickHouse.Database
	ctx := context.Background()
	advs := parityAdvertisers
	versions := []*dataset{genDataset(20, advs, 2, 2, 2, day0, 12), genDataset(21, advs, 2, 2, 2, day0, 12)}
	versions[1].dropAds(4)
	versions[0].load(t, conn, cfg)
	n := 1
	// A refresh here stages 8 months (4 tables, each month in a stage of
	// its own, two months at once), copies about 16 partitions, masks 4
	// months, rebuilds 8 and swaps about 32 partitions back: the first of
	// a step, and a later one after others of it completed. The other month
	// being rebuilt ends after its current step.
	for _, tc := range []struct {
		step string
		nth  int
	}{{"stage", 1}, {"stage", 3}, {"copy", 2}, {"forget", 3}, {"build", 1}, {"build", 4}, {"publish", 1}, {"publish", 6}} {
		step, nth := tc.step, tc.nth
		t.Run(fmt.Sprintf("%s#%d", step, nth), func(t *testing.T) {
			before := snap(t, conn, db, false)
			versions[n%2].days(day0.AddDate(0, 0, 4), versions[0].to).write(t, conn, cfg)
			n++
			after := snap(t, conn, db, true)
			seen := 0
			r := queries.NewRefresher(conn, schema.Target{Database: db}, queries.BeforeStep(queries.RefreshOptions{}, func(s string) error {
				if s == step {
					if seen++; seen == nth {
						return errKilled
					}
				}
				return nil
			}))
			_, err := r.Refresh(ctx)
			require.ErrorIs(t, err, errKilled)
			rebuilt, kept := atomic(t, conn, db, before, after)
			require.Positive(t, kept, "the refresh stopped before some partition")
			if nth > 1 && step == "publish" {
				require.Positive(t, rebuilt, "partitions swapped in before the kill stay")
			}
			var stages uint64
			require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND startsWith(name, 'materialise_stage_')", db).Scan(&stages))
			require.Zero(t, stages, "a failed refresh drops its stage")

			refresh(t, conn, db)
			require.Equal(t, after, snap(t, conn, db, false))
		})
	}
}

// TestRefreshKilledProcess SIGKILLs `adhouse refresh` at random points of a
// rebuild, five times, checking after each kill that every partition of every
// table is as it was or as rebuilt; a refresh left running to the end then
// makes every table equal its live definition, and a kill's leftover stage is
// invisible to the BI user (its name does not start with bi_).
func TestRefreshKilledProcess(t *testing.T) {
	bin := warehousetest.Binary(t)
	conn, cfg := setup(t, config.ProtocolHTTP)
	db := cfg.ClickHouse.Database
	advs := parityAdvertisers[:3]
	first := genDataset(30, advs, 2, 3, 3, day0, 20).withHours(0, 12)
	changed := genDataset(31, advs, 2, 3, 3, day0, 20).withHours(0, 12)
	changed.dropAds(3)
	first.load(t, conn, cfg)
	before := snap(t, conn, db, false)
	changed.write(t, conn, cfg)
	after := snap(t, conn, db, true)
	cfgPath := filepath.Join(t.TempDir(), "adhouse.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf("clickhouse:\n  database: %s\n  protocol: http\nwarehouse:\n  dir: %s\nlog:\n  level: warn\n",
		db, cfg.Warehouse.Dir)), 0o600))

	start := time.Now()
	rng := rand.New(rand.NewPCG(7, 7))
	kills := 0
	for i := 0; i < 5; i++ {
		cmd := commandOf(bin, cfgPath, "refresh")
		require.NoError(t, cmd.Start())
		time.Sleep(time.Duration(rng.Int64N(int64(1500 * time.Millisecond))))
		if cmd.Process.Signal(syscall.SIGKILL) == nil {
			kills++
		}
		_ = cmd.Wait()
		rebuilt, kept := atomic(t, conn, db, before, after)
		t.Logf("kill %d: %d partitions rebuilt, %d as before", i+1, rebuilt, kept)
		if kept == 0 {
			break // a refresh completed before its kill: nothing left to interrupt
		}
	}
	require.Positive(t, kills)
	out, err := commandOf(bin, cfgPath, "refresh").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Equal(t, after, snap(t, conn, db, false))
	t.Logf("%s(%s in all)", out, time.Since(start).Round(time.Millisecond))
}

func commandOf(bin, cfgPath string, args ...string) *exec.Cmd {
	return exec.Command(bin, append([]string{"-c", cfgPath}, args...)...)
}

// TestRefreshRebuildsWholePartitionsFromNothing: a partition whose every
// day a re-load changed is rebuilt without being copied and masked first
// (masking all of a quarter's rows took 23 s), and one whose days all
// vanished is emptied; a re-load of some days of a partition still copies
// and masks it, so its other days stay. After each, every table equals its
// live definition.
func TestRefreshRebuildsWholePartitionsFromNothing(t *testing.T) {
	conn, cfg := setup(t, config.ProtocolNative)
	db := cfg.ClickHouse.Database
	ctx := context.Background()
	advs := parityAdvertisers[:3]
	first := genDataset(40, advs, 2, 2, 2, day0, 12)
	changed := genDataset(41, advs, 2, 2, 2, day0, 12)
	changed.dropAds(3)
	first.load(t, conn, cfg)

	steps := map[string]int{}
	refreshCounting := func(name string) {
		t.Helper()
		clear(steps)
		r := queries.NewRefresher(conn, schema.Target{Database: db}, queries.BeforeStep(queries.RefreshOptions{}, func(s string) error {
			steps[s]++
			return nil
		}))
		res, err := r.Refresh(ctx)
		require.NoError(t, err, name)
		require.Positive(t, res.Days, name)
		for _, m := range queries.MaterialisedTables() {
			require.Equal(t, contents(t, conn, db, m.Live()), contents(t, conn, db, m.Name()), "%s: %s differs from its live definition", name, m.Name())
		}
	}

	changed.write(t, conn, cfg)
	refreshCounting("every day re-loaded")
	require.Zero(t, steps["copy"], "no partition keeps a day: none is copied")
	require.Zero(t, steps["forget"], "nothing copied, nothing to mask")
	require.Positive(t, steps["build"])
	require.Positive(t, steps["publish"])

	first.days(day0.AddDate(0, 0, 4), first.to).write(t, conn, cfg)
	refreshCounting("the last days re-loaded")
	require.Positive(t, steps["copy"], "the first month's partitions keep their first days")
	require.Positive(t, steps["forget"])

	// TikTok returns nothing any more for the second month's days: its
	// partitions have no row left to build, and must end empty.
	month2 := time.Date(day0.Year(), day0.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	require.True(t, month2.Before(first.to), "the data spans two months")
	ids := make([]string, len(advs))
	for i, a := range advs {
		ids[i] = a.id
	}
	l := load.New(conn, load.Options{Target: schema.Target{Database: db}})
	for _, lv := range schema.Levels {
		loadLevel(t, l, lv.Name, "daily", month2, first.to, nil, ids...)
	}
	refreshCounting("a month's days deleted")
	require.Zero(t, steps["copy"], "no partition of the month keeps a day")
	for _, m := range queries.MaterialisedTables() {
		var n uint64
		require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s.%s WHERE stat_date >= ?", db, m.Name()), month2).Scan(&n))
		require.Zero(t, n, "%s keeps rows of the deleted month", m.Name())
	}
}

// TestRefreshAddsDaysToABuiltMonth loads the first week of a month, then the
// second: the refresh that adds the new days to the month's partitions must
// keep the days already there (a partition is swapped in whole), whether or
// not any of the planned days was built before.
func TestRefreshAddsDaysToABuiltMonth(t *testing.T) {
	conn, cfg := setup(t, config.ProtocolNative)
	db := cfg.ClickHouse.Database
	l := load.New(conn, load.Options{Target: schema.Target{Database: db}})
	split := time.Date(2024, 5, 13, 0, 0, 0, 0, time.UTC)
	for _, week := range []struct{ from, to time.Time }{
		{time.Date(2024, 5, 6, 0, 0, 0, 0, time.UTC), split.AddDate(0, 0, -1)},
		{split, time.Date(2024, 5, 19, 0, 0, 0, 0, time.UTC)},
	} {
		loadAnalystDays(t, l, week.from, week.to)
		res := refresh(t, conn, db)
		require.Positive(t, res.Days)
		require.Equal(t, snap(t, conn, db, true), snap(t, conn, db, false), "after the week from %s", week.from.Format(time.DateOnly))
	}
	var days uint64
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT uniqExact(stat_date) FROM "+db+".bi_campaign_daily").Scan(&days))
	require.Equal(t, uint64(14), days, "both weeks are in the month")
}

// loadAnalystDays loads, as one window per level, the days from..to of the
// analyst dataset.
func loadAnalystDays(t *testing.T, l *load.Loader, from, to time.Time) {
	t.Helper()
	for level, rows := range analystData() {
		var in []*load.StatRow
		for _, r := range rows {
			if !r.Date.Before(from) && !r.Date.After(to) {
				in = append(in, r)
			}
		}
		loadLevel(t, l, level, "daily", from, to, in)
	}
}

// TestOverlappingRefreshesNeverDuplicate: a refresh plans new days of a
// month as not built; another refresh (another process, say `adhouse
// refresh` beside the daemon) builds and publishes them before the first
// copies the month's partitions. The first must still mask those days in
// its copy before it builds them again, or they would be in the table
// twice, where no later check looks.
func TestOverlappingRefreshesNeverDuplicate(t *testing.T) {
	conn, cfg := setup(t, config.ProtocolNative)
	db := cfg.ClickHouse.Database
	ctx := context.Background()
	l := load.New(conn, load.Options{Target: schema.Target{Database: db}})
	split := time.Date(2024, 5, 13, 0, 0, 0, 0, time.UTC)
	weeks := []struct{ from, to time.Time }{
		{time.Date(2024, 5, 6, 0, 0, 0, 0, time.UTC), split.AddDate(0, 0, -1)},
		{split, time.Date(2024, 5, 19, 0, 0, 0, 0, time.UTC)},
	}
	loadAnalystDays(t, l, weeks[0].from, weeks[0].to)
	refresh(t, conn, db)
	loadAnalystDays(t, l, weeks[1].from, weeks[1].to)

	// The hook runs on the refresh's goroutines: it reports, the test
	// goroutine asserts.
	overlapped := false
	var second queries.RefreshResult
	first := queries.NewRefresher(conn, schema.Target{Database: db}, queries.BeforeStep(queries.RefreshOptions{}, func(s string) error {
		if s == "copy" && !overlapped {
			overlapped = true
			var err error
			second, err = queries.NewRefresher(conn, schema.Target{Database: db}, queries.RefreshOptions{}).Refresh(ctx)
			return err
		}
		return nil
	}))
	_, err := first.Refresh(ctx)
	require.NoError(t, err)
	require.True(t, overlapped, "the first refresh copied a partition")
	require.Positive(t, second.Days, "the second refresh builds the new week")
	requireExact(t, conn, db)
}

// TestNameCheckFollowsEntityLoads: a refresh compares names only for the
// advertisers whose entity rows were loaded since the table's last check,
// less a margin for loads in flight while it ran. Entities loaded again
// unchanged (every sync re-loads them) rebuild nothing; a rename found that
// way is rebuilt, including one whose load took its version before the last
// check started; and a rename older than the watermark is not looked at,
// which is what keeps the check's cost to the entities loaded since.
func TestNameCheckFollowsEntityLoads(t *testing.T) {
	conn, cfg := setup(t, config.ProtocolNative)
	db := cfg.ClickHouse.Database
	ctx := context.Background()
	advs := []advertiser{{"adv-n1", "North", "USD", "UTC"}, {"adv-n2", "South", "EUR", "Europe/Berlin"}}
	ds := genDataset(4, advs, 2, 2, 4, day0, 6)
	ds.load(t, conn, cfg)
	before := time.Now()
	refresh(t, conn, db)
	watermark := func() uint64 {
		var v uint64
		require.NoError(t, conn.QueryRow(ctx, "SELECT max(checked_to) FROM "+db+".materialise_names WHERE startsWith(bi_table, 'bi_campaign_daily@')").Scan(&v))
		return v
	}
	w := watermark()
	require.GreaterOrEqual(t, w, load.VersionAt(before.Add(-10*time.Minute)), "the check is recorded, trailing its refresh by the margin")
	require.LessOrEqual(t, w, load.VersionAt(time.Now().Add(-10*time.Minute)))

	camp := advs[0].id + "-c01"
	name := func(version uint64, n string) {
		require.NoError(t, conn.Exec(ctx, fmt.Sprintf("INSERT INTO %s.campaigns (advertiser_id, campaign_id, campaign_name, load_version, loaded_at) VALUES (?, ?, ?, ?, now64(3))", db),
			advs[0].id, camp, n, version))
	}
	renamed := func() int { return pendingOf(t, conn, db, "bi_campaign_daily").Renamed }
	shown := func() string {
		var n string
		require.NoError(t, conn.QueryRow(ctx, "SELECT any(campaign_name) FROM "+db+".bi_campaign_daily WHERE campaign_id = ?", camp).Scan(&n))
		return n
	}

	// A load that took its version just before the last check started (after
	// every entity row it saw) and became visible only after it.
	name(load.VersionAt(before)-1, "Renamed in flight")
	require.Positive(t, renamed(), "a rename within the margin is found")
	require.Positive(t, refresh(t, conn, db).Days)
	require.Equal(t, "Renamed in flight", shown())

	name(load.NewVersion(), "Renamed in flight")
	require.Zero(t, renamed(), "the same name loaded again")
	require.Zero(t, refresh(t, conn, db).Days)

	// A rename the watermark already covers is not read: raise the
	// watermark past it as if a check had compared it.
	v := load.NewVersion()
	name(v, "Renamed again")
	require.Positive(t, renamed())
	require.NoError(t, conn.Exec(ctx, "INSERT INTO "+db+".materialise_names (bi_table, checked_to, checked_at) SELECT bi_table, ?, now64(3) FROM "+db+".materialise_names WHERE startsWith(bi_table, 'bi_campaign_daily@') GROUP BY bi_table", v))
	require.Zero(t, renamed(), "advertisers without entity rows loaded after the watermark are not compared")
	require.Equal(t, "Renamed in flight", shown())
}

// TestStalenessCountsFromTheFirstMissedCommit: days committed again and
// again while no refresh runs (an hourly sync whose refreshes fail) have
// lacked their data since the first commit the table missed, not since the
// newest, even once load_commits has merged the older commits away; the
// commit a table was built from does not count, and a refresh clears it.
func TestStalenessCountsFromTheFirstMissedCommit(t *testing.T) {
	conn, cfg := setup(t, config.ProtocolNative)
	db := cfg.ClickHouse.Database
	ctx := context.Background()
	ds := genDataset(5, []advertiser{{"adv-s1", "North", "USD", "UTC"}}, 1, 1, 2, day0, 3)
	ds.load(t, conn, cfg)
	oldest := func() time.Time { return pendingOf(t, conn, db, "bi_campaign_daily").Oldest }
	require.Zero(t, oldest(), "built")

	time.Sleep(20 * time.Millisecond)
	first := time.Now().Truncate(time.Millisecond)
	ds.write(t, conn, cfg)
	time.Sleep(1500 * time.Millisecond)
	newest := time.Now()
	ds.write(t, conn, cfg)
	require.NoError(t, conn.Exec(ctx, "OPTIMIZE TABLE "+db+".load_commits FINAL"))
	var commits uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM "+db+".load_commits WHERE table_name = 'load_campaign_stats_daily'").Scan(&commits))
	require.EqualValues(t, 3, commits, "load_commits holds each day's newest commit only")
	require.WithinRange(t, oldest(), first, newest, "stale since the first commit the table missed")

	refresh(t, conn, db)
	require.Zero(t, oldest(), "refreshed")
}

// TestRefreshRefusesAnotherDefinition: a refresh leaves alone a table built
// by another definition (an older process still running after `adhouse
// migrate` rebuilt it, or a new binary before it), rather than rebuild its
// days with other SQL next to rows of the first; migrating rebuilds it, and
// refreshes go on.
func TestRefreshRefusesAnotherDefinition(t *testing.T) {
	conn, cfg := setup(t, config.ProtocolNative)
	db := cfg.ClickHouse.Database
	ctx := context.Background()
	first := genDataset(6, []advertiser{{"adv-d1", "North", "USD", "UTC"}}, 1, 2, 2, day0, 4)
	first.load(t, conn, cfg)
	before := contents(t, conn, db, "bi_campaign_daily")
	outdate(t, conn, db, "bi_campaign_daily", "0123456789abcdef")

	genDataset(7, []advertiser{{"adv-d1", "North", "USD", "UTC"}}, 1, 2, 2, day0, 4).write(t, conn, cfg)
	_, err := queries.NewRefresher(conn, schema.Target{Database: db}, queries.RefreshOptions{}).Refresh(ctx)
	require.ErrorIs(t, err, queries.ErrOtherDefinition)
	require.ErrorContains(t, err, "bi_campaign_daily: built by another definition 0123456789abcdef")
	require.ErrorContains(t, err, "adhouse migrate")
	require.Equal(t, before, contents(t, conn, db, "bi_campaign_daily"), "nothing rebuilt")

	require.NoError(t, queries.Ensure(ctx, conn, schema.Target{Database: db}))
	refresh(t, conn, db)
	requireExact(t, conn, db)
}

// TestMigrateMakesTheBITablesTables upgrades a warehouse as the release
// before left it: each BI name a view computing the metrics on read over a
// table materialised_<level>_<grain> without them. Migrating must make each
// BI name the MergeTree table itself, with every column of its live
// definition stored, and drop the old tables, but only once the views that
// read them (the weekly and monthly ones) read the new tables. While it
// rebuilds, every BI name keeps answering.
func TestMigrateMakesTheBITablesTables(t *testing.T) {
	conn, cfg := setup(t, config.ProtocolNative)
	db := cfg.ClickHouse.Database
	ctx := context.Background()
	genDataset(9, parityAdvertisers, 2, 2, 2, day0, 5).withHours(3, 17).load(t, conn, cfg)
	legacy := func(m queries.Materialised) string { return strings.Replace(m.Name(), "bi_", "materialised_", 1) }
	for _, m := range queries.MaterialisedTables() {
		require.NoError(t, conn.Exec(ctx, fmt.Sprintf("RENAME TABLE %[1]s.%[2]s TO %[1]s.%[3]s", db, m.Name(), legacy(m))))
		for _, name := range queries.MetricNames() {
			require.NoError(t, conn.Exec(ctx, fmt.Sprintf("ALTER TABLE %s.%s DROP COLUMN %s", db, legacy(m), name)))
		}
		outdate(t, conn, db, legacy(m), "0123456789abcdef")
		require.NoError(t, conn.Exec(ctx, fmt.Sprintf("CREATE VIEW %s.%s AS %s", db, m.Name(),
			queries.MetricStages(queries.TikTokColumns, db+"."+legacy(m), []string{"window_version"}, ""))))
	}
	// The weekly views read the old tables directly.
	require.NoError(t, conn.Exec(ctx, fmt.Sprintf("CREATE OR REPLACE VIEW %[1]s.bi_campaign_weekly AS SELECT count() AS n FROM %[1]s.materialised_campaign_daily", db)))
	requireExact(t, conn, db)

	readable := func(string) error {
		for _, name := range append(names(queries.MaterialisedTables()), "bi_campaign_weekly") {
			if err := conn.Exec(ctx, fmt.Sprintf("SELECT * FROM %s.%s FORMAT Null", db, name)); err != nil {
				return fmt.Errorf("%s while migrating: %w", name, err)
			}
		}
		return nil
	}
	require.NoError(t, queries.EnsureWith(ctx, conn, schema.Target{Database: db}, queries.BeforeStep(queries.RefreshOptions{}, readable)))
	_, err := queries.Migrate(ctx, conn, schema.Target{Database: db})
	require.NoError(t, err)
	requireExact(t, conn, db)
	for _, m := range queries.MaterialisedTables() {
		var engine string
		require.NoError(t, conn.QueryRow(ctx, "SELECT engine FROM system.tables WHERE database = ? AND name = ?", db, m.Name()).Scan(&engine))
		require.Equal(t, "MergeTree", engine, m.Name())
		var stored, live []string
		columns := "SELECT name || ' ' || type FROM system.columns WHERE database = ? AND table = ? AND name != 'window_version' ORDER BY position"
		require.NoError(t, queryStrings(ctx, conn, &stored, columns, db, m.Name()))
		require.NoError(t, queryStrings(ctx, conn, &live, columns, db, m.Live()))
		require.Equal(t, live, stored, "%s stores every column of its live definition", m.Name())
	}
	var left uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND (startsWith(name, 'materialised_') OR startsWith(name, 'materialise_next_'))", db).Scan(&left))
	require.Zero(t, left, "an old table left behind")
	var weeks uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM "+db+".bi_campaign_weekly WHERE spend IS NOT NULL").Scan(&weeks))
	require.Positive(t, weeks, "the weekly view reads the new tables")
}

func names(ms []queries.Materialised) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name()
	}
	return out
}

// queryStrings reads a one-column query into out.
func queryStrings(ctx context.Context, conn driver.Conn, out *[]string, query string, args ...any) error {
	rows, err := conn.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		*out = append(*out, s)
	}
	return rows.Err()
}

// TestConcurrentMigratesSwapInWholeTables: two `adhouse migrate` at once
// after an upgrade each rebuild the changed table whole under a name of
// their own. The first swaps its build in while the second is still
// building; with one shared name the second had dropped and re-created the
// first's build, which the first then swapped in half-built.
func TestConcurrentMigratesSwapInWholeTables(t *testing.T) {
	conn, cfg := setup(t, config.ProtocolNative)
	db := cfg.ClickHouse.Database
	ctx := context.Background()
	target := schema.Target{Database: db}
	genDataset(8, parityAdvertisers, 2, 2, 2, day0, 10).load(t, conn, cfg)
	outdate(t, conn, db, "bi_campaign_daily", "0123456789abcdef")

	second := make(chan error, 1)
	secondBuilding, firstSwapped := make(chan struct{}), make(chan struct{})
	var started sync.Once
	err := queries.EnsureWith(ctx, conn, target, queries.BeforeStep(queries.RefreshOptions{}, func(step string) error {
		if step == "swap" {
			started.Do(func() {
				go func() {
					var paused sync.Once
					second <- queries.EnsureWith(ctx, conn, target, queries.BeforeStep(queries.RefreshOptions{}, func(string) error {
						paused.Do(func() { close(secondBuilding); <-firstSwapped })
						return nil
					}))
				}()
				<-secondBuilding
			})
		}
		return nil
	}))
	close(firstSwapped)
	require.NoError(t, err, "the first migrate")
	require.NoError(t, <-second, "the second migrate")
	refresh(t, conn, db)
	requireExact(t, conn, db)
	var stages uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND startsWith(name, 'materialise_')  AND name NOT IN ('materialise_plan', 'materialise_names')", db).Scan(&stages))
	require.Zero(t, stages, "a build left behind")
}

// TestStaleCopyNeverUndoesAnotherRefresh: two refreshes overlap (two
// daemons, or `adhouse refresh` beside one). While the first holds its
// rebuild of a month, the advertiser is renamed and the second refresh
// rebuilds and publishes that month with the new name, and its name check
// moves the watermark past the rename. The first must not publish its older
// rebuild over it: no later check would look at that advertiser's names
// again.
func TestStaleCopyNeverUndoesAnotherRefresh(t *testing.T) {
	conn, cfg := setup(t, config.ProtocolNative)
	db := cfg.ClickHouse.Database
	ctx := context.Background()
	adv := advertiser{"adv-o1", "North", "USD", "UTC"}
	ds := genDataset(9, []advertiser{adv}, 2, 2, 2, day0, 6)
	ds.load(t, conn, cfg)
	ds.write(t, conn, cfg) // every day committed again: the first refresh rebuilds the month

	// The hook runs on the refresh's goroutines: it reports, the test
	// goroutine asserts.
	overlapped := false
	var second queries.RefreshResult
	first := queries.NewRefresher(conn, schema.Target{Database: db}, queries.BeforeStep(queries.RefreshOptions{}, func(s string) error {
		if s != "publish" || overlapped { // the first is bi_advertiser_daily's
			return nil
		}
		overlapped = true
		if err := conn.Exec(ctx, "INSERT INTO "+db+".advertisers (advertiser_id, name, currency, timezone, load_version, loaded_at) VALUES (?, 'Renamed meanwhile', ?, ?, ?, now64(3))",
			adv.id, adv.currency, adv.timezone, load.NewVersion()); err != nil {
			return err
		}
		var err error
		if second, err = queries.NewRefresher(conn, schema.Target{Database: db}, queries.RefreshOptions{}).Refresh(ctx); err != nil {
			return fmt.Errorf("the second refresh: %w", err)
		}
		// As if the second refresh's check were ten minutes old: its
		// watermark covers the rename.
		return conn.Exec(ctx, "INSERT INTO "+db+".materialise_names (bi_table, checked_to, checked_at) SELECT bi_table, ?, now64(3) FROM "+db+".materialise_names GROUP BY bi_table", load.NewVersion())
	}))
	_, err := first.Refresh(ctx)
	require.NoError(t, err)
	require.True(t, overlapped, "the first refresh reached a publish")
	require.Positive(t, second.Partitions, "the second refresh publishes the month")
	var shown string
	require.NoError(t, conn.QueryRow(ctx, "SELECT any(advertiser_name) FROM "+db+".bi_advertiser_daily").Scan(&shown))
	require.Equal(t, "Renamed meanwhile", shown)
	requireExact(t, conn, db)
}

// TestNameWatermarkWaitsForItsPublishes: when other refreshes publish a
// table's partitions before this one on every pass, so that none of its
// last pass's rebuilds went in, its name check is not recorded: a rename it
// found may be in none of them. The next refresh records it.
func TestNameWatermarkWaitsForItsPublishes(t *testing.T) {
	conn, cfg := setup(t, config.ProtocolNative)
	db := cfg.ClickHouse.Database
	ctx := context.Background()
	ds := genDataset(10, []advertiser{{"adv-w1", "North", "USD", "UTC"}}, 1, 2, 2, day0, 5)
	ds.load(t, conn, cfg)
	ds.write(t, conn, cfg)
	watermark := func(table string) uint64 {
		var v uint64
		require.NoError(t, conn.QueryRow(ctx, "SELECT max(checked_to) FROM "+db+".materialise_names WHERE startsWith(bi_table, ?)", table+"@").Scan(&v))
		return v
	}
	adv, camp := watermark("bi_advertiser_daily"), watermark("bi_campaign_daily")

	// Before each of the refresh's swaps, "another refresh" publishes every
	// partition of bi_advertiser_daily again, unchanged.
	tbl := db + ".bi_advertiser_daily"
	require.NoError(t, conn.Exec(ctx, "CREATE TABLE "+db+".republish AS "+tbl))
	republished := 0
	r := queries.NewRefresher(conn, schema.Target{Database: db}, queries.BeforeStep(queries.RefreshOptions{}, func(s string) error {
		if s != "publish" {
			return nil
		}
		rows, err := conn.Query(ctx, "SELECT DISTINCT partition_id FROM system.parts WHERE database = ? AND table = 'bi_advertiser_daily' AND active", db)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		for _, id := range ids {
			for _, q := range []string{"ALTER TABLE " + db + ".republish REPLACE PARTITION ID '" + id + "' FROM " + tbl,
				"ALTER TABLE " + tbl + " REPLACE PARTITION ID '" + id + "' FROM " + db + ".republish"} {
				if err := conn.Exec(ctx, q); err != nil {
					return err
				}
			}
		}
		republished++
		return nil
	}))
	res, err := r.Refresh(ctx)
	require.NoError(t, err)
	require.Positive(t, republished)
	require.Positive(t, res.Partitions, "the other tables' partitions went in")
	require.Equal(t, adv, watermark("bi_advertiser_daily"), "no check recorded for the table none of whose rebuilds went in")
	require.Greater(t, watermark("bi_campaign_daily"), camp)

	refresh(t, conn, db)
	require.Greater(t, watermark("bi_advertiser_daily"), adv)
	requireExact(t, conn, db)
}

// TestRenameDuringWholeRebuildIsFound: while `adhouse migrate` rebuilds a
// table whole for a new definition, a rename reaches the table it replaces
// through an older process still running, whose name check moves its
// watermark past the rename. The new build read the names before; its first
// refresh must still compare them, since watermarks are kept per definition.
func TestRenameDuringWholeRebuildIsFound(t *testing.T) {
	conn, cfg := setup(t, config.ProtocolNative)
	db := cfg.ClickHouse.Database
	ctx := context.Background()
	adv := advertiser{"adv-m1", "North", "USD", "UTC"}
	genDataset(11, []advertiser{adv}, 1, 2, 2, day0, 4).load(t, conn, cfg)
	const old = "0123456789abcdef"
	outdate(t, conn, db, "bi_advertiser_daily", old)

	err := queries.EnsureWith(ctx, conn, schema.Target{Database: db}, queries.BeforeStep(queries.RefreshOptions{}, func(s string) error {
		if s != "swap" {
			return nil
		}
		if err := conn.Exec(ctx, "INSERT INTO "+db+".advertisers (advertiser_id, name, currency, timezone, load_version, loaded_at) VALUES (?, 'Renamed during the migrate', ?, ?, ?, now64(3))",
			adv.id, adv.currency, adv.timezone, load.NewVersion()); err != nil {
			return err
		}
		// The older process's check, under its key (before this
		// change: the table's name alone).
		return conn.Exec(ctx, "INSERT INTO "+db+".materialise_names (bi_table, checked_to, checked_at) VALUES ('bi_advertiser_daily', ?, now64(3)), ('bi_advertiser_daily@"+old+"', ?, now64(3))",
			load.NewVersion(), load.NewVersion())
	}))
	require.NoError(t, err)
	refresh(t, conn, db)
	var shown string
	require.NoError(t, conn.QueryRow(ctx, "SELECT any(advertiser_name) FROM "+db+".bi_advertiser_daily").Scan(&shown))
	require.Equal(t, "Renamed during the migrate", shown)
	requireExact(t, conn, db)
}

// requireExact requires every materialised table to equal its live
// definition, row for row.
func requireExact(t *testing.T, conn driver.Conn, db string) {
	t.Helper()
	for _, m := range queries.MaterialisedTables() {
		require.Equal(t, contents(t, conn, db, m.Live()), contents(t, conn, db, m.Name()), "%s differs from its live definition", m.Name())
	}
}

// outdate makes table look built by the definition def, as after an upgrade
// that changed its SQL.
func outdate(t *testing.T, conn driver.Conn, db, table, def string) {
	t.Helper()
	var comment string
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT comment FROM system.tables WHERE database = ? AND name = ?", db, table).Scan(&comment))
	require.NoError(t, conn.Exec(context.Background(), fmt.Sprintf("ALTER TABLE %s.%s MODIFY COMMENT '%s'", db, table, comment[:strings.LastIndex(comment, " ")+1]+def)))
}

// pendingOf returns what the BI table lacks, as Refresher.Pending says.
func pendingOf(t *testing.T, conn driver.Conn, db, table string) queries.Pending {
	t.Helper()
	pending, err := queries.NewRefresher(conn, schema.Target{Database: db}, queries.RefreshOptions{}).Pending(context.Background())
	require.NoError(t, err)
	for _, p := range pending {
		if p.Table == table {
			return p
		}
	}
	t.Fatalf("no pending row for %s", table)
	return queries.Pending{}
}

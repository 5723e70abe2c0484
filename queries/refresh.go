package queries

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/schema"
)

// RollupTable names the table that holds the materialised daily sums of a
// level (advertiser, campaign, adgroup, ad), e.g. rollup_campaign_daily. Only
// [Refresh] writes it and only bi_<level>_daily reads it, through the build
// markers of rollup_builds.
func RollupTable(level string) string { return "rollup_" + level + "_daily" }

// moneySums are the sum columns that hold money; the others are counts.
var moneySums = map[string]bool{"spend": true, "complete_payment_value": true, "total_purchase_value": true}

// sumType is the type sum() gives a statistics column, so a rollup column
// has exactly the type of the live view's column.
func sumType(column string) string {
	if moneySums[column] {
		return "Nullable(Decimal(38, 6))"
	}
	return "Nullable(UInt64)"
}

// Refresh materialises the daily performance BI views (bi_advertiser_daily,
// bi_campaign_daily, bi_adgroup_daily, bi_ad_daily) of one advertiser for
// the local days from..to (inclusive; only the date of each time counts), so
// BI reads of those days are served from the rollup tables instead of being
// summed from the load_* tables.
//
// Call it after windows commit: the sync pipeline calls it once per
// advertiser after each run, over the days the run loaded. Calling it is
// only ever about speed: bi_<level>_daily shows a day from a rollup only when
// the rollup was built from the window version committed for that day now,
// and computes the day live otherwise, so a re-load that Refresh has not
// seen yet makes the view slower for that day, never different. A build is
// used from one second after Refresh returns.
//
// For each level and day whose committed window has no build yet, Refresh
// sums that window's rows into the rollup under a new build version (one
// INSERT per level), then records the build in rollup_builds, then deletes
// the rollup rows of window versions the build superseded. Days already
// built are skipped, so calling it again, or over a longer range, is cheap
// and harmless; a Refresh cut short leaves rows no marker names, which are
// never read and are deleted once their window is superseded.
// Refreshes of the same advertiser should not run concurrently (two would
// only both build the same days; the view still reads one build per day).
func Refresh(ctx context.Context, conn driver.Conn, t schema.Target, advertiserID string, from, to time.Time) error {
	from, to = dateOf(from), dateOf(to)
	if to.Before(from) {
		return fmt.Errorf("queries: refresh %s..%s ends before it starts", from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	for _, l := range schema.Levels {
		if err := refreshLevel(ctx, conn, t, l, advertiserID, from, to); err != nil {
			return fmt.Errorf("queries: refresh %s advertiser %s %s..%s: %w", RollupTable(l.Name), advertiserID,
				from.Format(time.DateOnly), to.Format(time.DateOnly), err)
		}
	}
	return nil
}

// RefreshAll is [Refresh] for every advertiser over every day any daily
// statistics window was committed for: the backfill after the rollups are
// first created, or a repair. Days already built are skipped.
func RefreshAll(ctx context.Context, conn driver.Conn, t schema.Target) error {
	var tables []string
	for _, l := range schema.Levels {
		tables = append(tables, "'"+schema.StatsTable(l.Name, "daily")+"'")
	}
	rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT advertiser_id, min(stat_date), max(stat_date) FROM %s.load_commits
WHERE table_name IN (%s) GROUP BY advertiser_id ORDER BY advertiser_id`, t.Database, strings.Join(tables, ", ")))
	if err != nil {
		return fmt.Errorf("queries: refresh all: %w", err)
	}
	type span struct {
		adv      string
		from, to time.Time
	}
	var spans []span
	for rows.Next() {
		var s span
		if err := rows.Scan(&s.adv, &s.from, &s.to); err != nil {
			rows.Close()
			return fmt.Errorf("queries: refresh all: %w", err)
		}
		spans = append(spans, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("queries: refresh all: %w", err)
	}
	for _, s := range spans {
		if err := Refresh(ctx, conn, t, s.adv, s.from, s.to); err != nil {
			return err
		}
	}
	return nil
}

// pending is a day whose committed window has no rollup build yet.
type pending struct {
	day     time.Time
	version uint64
}

func refreshLevel(ctx context.Context, conn driver.Conn, t schema.Target, l schema.Level, adv string, from, to time.Time) error {
	db, rollup, stats := t.Database, RollupTable(l.Name), schema.StatsTable(l.Name, "daily")
	ctx = clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{
		"adv": adv, "from": from.Format(time.DateOnly), "to": to.Format(time.DateOnly), "stats": stats, "rollup": rollup,
	}))

	// 1. The committed window version of every day, less the days built.
	rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT stat_date, window_version FROM (
    SELECT stat_date, max(window_version) AS window_version FROM %[1]s.load_commits
    WHERE table_name = {stats:String} AND advertiser_id = {adv:String} AND stat_date BETWEEN {from:Date} AND {to:Date}
    GROUP BY stat_date)
WHERE (stat_date, window_version) NOT IN (
    SELECT stat_date, window_version FROM %[1]s.rollup_builds
    WHERE rollup_name = {rollup:String} AND advertiser_id = {adv:String} AND stat_date BETWEEN {from:Date} AND {to:Date})
ORDER BY stat_date`, db))
	if err != nil {
		return err
	}
	var todo []pending
	for rows.Next() {
		var p pending
		if err := rows.Scan(&p.day, &p.version); err != nil {
			rows.Close()
			return err
		}
		todo = append(todo, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(todo) == 0 {
		return nil
	}
	days, versions, pairs := make([]string, len(todo)), make([]string, len(todo)), make([]string, len(todo))
	for i, p := range todo {
		days[i] = "toDate('" + p.day.Format(time.DateOnly) + "')"
		versions[i] = "toUInt64(" + strconv.FormatUint(p.version, 10) + ")"
		pairs[i] = "(" + days[i] + ", " + versions[i] + ")"
	}
	dayList, versionOf := "["+strings.Join(days, ", ")+"]", "["+strings.Join(versions, ", ")+"]"
	windowOf := fmt.Sprintf("arrayElement(%s, indexOf(%s, stat_date))", versionOf, dayList)
	build := load.NewVersion()
	if t.Cluster != "" {
		// Rows reach their shard before the marker that names them.
		ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"distributed_foreground_insert": 1}))
	}

	// 2. The build: those windows' committed rows, summed per entity and day.
	keys := strings.Join(append(append([]string{"advertiser_id"}, l.IDs...), "stat_date", "timezone", "currency"), ", ")
	var sums []string
	for _, c := range SumColumns {
		sums = append(sums, "sum("+c+")")
	}
	if err := conn.Exec(ctx, fmt.Sprintf(`INSERT INTO %[1]s.%[2]s (%[3]s, %[4]s, window_version, build_version, built_at)
SELECT %[3]s, %[5]s, %[6]s, %[7]d, now64(3)
FROM %[1]s.%[8]s
WHERE advertiser_id = {adv:String} AND stat_date IN %[9]s AND (stat_date, load_version) IN (
    SELECT stat_date, arrayJoin(batch_versions) FROM %[1]s.load_commits
    WHERE table_name = {stats:String} AND advertiser_id = {adv:String} AND has([%[10]s], (stat_date, window_version)))
GROUP BY %[3]s`, db, rollup, keys, strings.Join(SumColumns, ", "), strings.Join(sums, ", "), windowOf, build, stats,
		dayList, strings.Join(pairs, ", "))); err != nil {
		return fmt.Errorf("build: %w", err)
	}

	// 3. The marker, only now that every row of the build is in.
	counts := map[time.Time]uint64{}
	rows, err = conn.Query(ctx, fmt.Sprintf(`SELECT stat_date, count() FROM %s.%s
WHERE advertiser_id = {adv:String} AND stat_date IN %s AND build_version = %d GROUP BY stat_date`, db, rollup, dayList, build))
	if err != nil {
		return err
	}
	for rows.Next() {
		var d time.Time
		var n uint64
		if err := rows.Scan(&d, &n); err != nil {
			rows.Close()
			return err
		}
		counts[dateOf(d)] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	marks := make([]string, len(todo))
	for i, p := range todo {
		marks[i] = fmt.Sprintf("(%s, %s, toUInt64(%d))", days[i], versions[i], counts[p.day])
	}
	if err := conn.Exec(ctx, fmt.Sprintf(`INSERT INTO %s.rollup_builds (rollup_name, advertiser_id, stat_date, window_version, build_version, row_count, built_at)
SELECT {rollup:String}, {adv:String}, m.1, m.2, %d, m.3, now64(3) FROM (SELECT arrayJoin([%s]) AS m)`,
		db, build, strings.Join(marks, ", "))); err != nil {
		return fmt.Errorf("mark build: %w", err)
	}

	// 4. Garbage: rows of the windows these builds superseded, which no
	// query selects any more.
	stale := fmt.Sprintf("advertiser_id = {adv:String} AND stat_date IN %s AND window_version < %s", dayList, windowOf)
	var n uint64
	if err := conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s.%s WHERE %s", db, rollup, stale)).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		target := db + "." + rollup
		if t.Cluster != "" {
			target = fmt.Sprintf("%s.%s_local ON CLUSTER `%s`", db, rollup, t.Cluster)
		}
		if err := conn.Exec(ctx, fmt.Sprintf("DELETE FROM %s WHERE %s", target, stale)); err != nil {
			return fmt.Errorf("delete superseded builds: %w", err)
		}
	}
	return nil
}

// dateOf is the calendar date of a time, at 00:00 UTC.
func dateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

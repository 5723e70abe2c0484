package queries

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/schema"
)

// Materialised is the performance of one level and grain kept as rows: the
// BI table bi_<level>_<grain> is a MergeTree table holding what its live
// definition (the view live_bi_<level>_<grain>, from the "performance"
// partial) computes, metrics included. A BI query so reads one plain
// MergeTree table: no version filter, no join, no FINAL, no metric computed
// on read, and no view (materialise/table.sql says why).
//
// A [Refresher] keeps the table exact: it compares, per advertiser and day,
// the window each day was built from (its column window_version) with the
// newest committed window in load_commits, and the names in each month with
// the entity tables, and rebuilds what differs, month by month (two at
// once), swapping in each partition (a month of a sixteenth of the
// advertisers) atomically (REPLACE PARTITION from a staging copy in which the
// changed days were rebuilt). Every sync
// ends with a refresh; a refresh that was killed leaves every partition
// either as it was or as rebuilt, and the next
// refresh finds what is still different, because the comparison reads the
// data, not a record of what was done.
type Materialised struct {
	Level schema.Level
	Grain string
}

// Name is the BI table, bi_<level>_<grain>.
func (m Materialised) Name() string { return "bi_" + m.Level.Name + "_" + m.Grain }

// Live is the view of its live definition.
func (m Materialised) Live() string { return LiveView(m.Level.Name, m.Grain) }

// LiveView names the view computing bi_<level>_<grain> on read. Its name does
// not start with bi_, so the BI user cannot read it.
func LiveView(level, grain string) string { return "live_bi_" + level + "_" + grain }

// dropLegacy drops the tables that held the rows of the BI names behind views
// before the BI names were the materialised tables themselves. Only once
// every view is re-created: the previous release's weekly and monthly views
// read them until then.
func dropLegacy(ctx context.Context, conn driver.Conn, t schema.Target) error {
	for _, m := range MaterialisedTables() {
		legacy := "materialised_" + m.Level.Name + "_" + m.Grain
		if err := conn.Exec(ctx, fmt.Sprintf("DROP TABLE IF EXISTS %s.%s SYNC", t.Database, legacy)); err != nil {
			return fmt.Errorf("queries: dropping %s: %w", legacy, err)
		}
	}
	return nil
}

// MaterialisedTables lists the materialised performance tables: every level
// at every grain.
func MaterialisedTables() []Materialised {
	var out []Materialised
	for _, g := range schema.Granularities {
		for _, l := range schema.Levels {
			out = append(out, Materialised{Level: l, Grain: g})
		}
	}
	return out
}

// perfData is the argument of the "performance" partial.
type perfData struct {
	DB    string
	Level schema.Level
	Grain string
	// Build reads the versions of a refresh plan instead of the one-copy view.
	Build bool
	// Table is the materialised table whose plan Build reads.
	Table string
}

// stepData is the argument of the steps of materialise/steps.sql.
type stepData struct {
	// Names keys the table's name watermark in materialise_names: the
	// table and the definition it is built by, so that a table rebuilt
	// whole under a new definition starts without one. Its build read the
	// names before the swap, and a rename that an older process then put
	// into the table it replaced, moving that table's watermark past it,
	// would otherwise be looked at by no later check.
	Names     string
	DB        string
	Level     schema.Level
	Grain     string
	Table     string
	Stage     string
	Partition string
	Perf      perfData
}

func (m Materialised) step(table string) stepData {
	return stepData{
		DB: "{{.DB}}", Level: m.Level, Grain: m.Grain, Table: table,
		Perf: perfData{DB: "{{.DB}}", Level: m.Level, Grain: m.Grain, Build: true, Table: table},
	}
}

// renderStep renders one named template of materialise/steps.sql.
func renderStep(t schema.Target, name string, data stepData) (string, error) {
	b, err := fs.ReadFile(files, "materialise/steps.sql")
	if err != nil {
		return "", fmt.Errorf("queries: %w", err)
	}
	return render(t, "steps.sql", string(b), name, data)
}

// tableDDL renders materialise/table.sql: the statements creating the table
// under the given name.
func (m Materialised) tableDDL(t schema.Target, name, comment string) ([]string, error) {
	b, err := fs.ReadFile(files, "materialise/table.sql")
	if err != nil {
		return nil, fmt.Errorf("queries: %w", err)
	}
	data := struct {
		DB, Name, Grain, Comment string
		Level                    schema.Level
		Perf                     perfData
	}{"{{.DB}}", name, m.Grain, comment, m.Level, perfData{DB: "{{.DB}}", Level: m.Level, Grain: m.Grain}}
	sql, err := render(t, "table.sql", string(b), "", data)
	if err != nil {
		return nil, err
	}
	return schema.SplitStatements(sql), nil
}

// definition identifies everything a materialised table's rows depend on:
// its DDL and the SQL that builds its rows (the "performance" partial, so
// every metric formula and column of the catalog). A table whose comment
// names another definition is rebuilt whole by [Ensure]. The database's
// name is not part of it: the same definition has the same name in every
// warehouse (and in docs/tables.md).
func (m Materialised) definition(t schema.Target) (string, error) {
	t.Database = "db"
	ddl, err := m.tableDDL(t, m.Name(), "")
	if err != nil {
		return "", err
	}
	build, err := renderStep(t, "build", m.step(m.Name()))
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(strings.Join(ddl, ";\n") + "\n" + build))
	return hex.EncodeToString(sum[:8]), nil
}

// names returns the name watermark's key of table, built by m's definition.
func (m Materialised) names(t schema.Target, table string) (string, error) {
	def, err := m.definition(t)
	return table + "@" + def, err
}

func (m Materialised) comment(def string) string {
	unit := "day"
	if m.Grain == "hourly" {
		unit = "hour"
	}
	return fmt.Sprintf("BI: %s performance by local %s, pre-joined names, sums and every metric (ratio of sums at this grain); the rows of %s, rebuilt by every sync for the days it committed; definition %s",
		m.Level.Name, unit, m.Live(), def)
}

// Ensure makes every materialised table exist with its current definition.
// A table that is missing (a warehouse from before materialisation) or built
// by another definition is built whole under a temporary name from the
// committed data and then renamed or exchanged into place in one step, so BI
// tools never see it missing, empty or half-built. On a cluster nothing is
// materialised yet: bi_<level>_<grain> is a view of the live definition
// (15_materialised.sql).
func Ensure(ctx context.Context, conn driver.Conn, t schema.Target) error {
	return ensure(ctx, conn, t, RefreshOptions{})
}

// ensure is Ensure with a refresher's options (tests stop a build at a step).
func ensure(ctx context.Context, conn driver.Conn, t schema.Target, opts RefreshOptions) error {
	if t.Cluster != "" {
		return nil
	}
	r := NewRefresher(conn, t, opts)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range MaterialisedTables() {
		def, err := m.definition(t)
		if err != nil {
			return err
		}
		var engine, comment string
		err = conn.QueryRow(ctx, "SELECT engine, comment FROM system.tables WHERE database = ? AND name = ?", t.Database, m.Name()).Scan(&engine, &comment)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("queries: %s: %w", m.Name(), err)
		}
		if engine == "MergeTree" && strings.HasSuffix(comment, "definition "+def) {
			continue
		}
		// A view there (the BI view of a release before this one) is
		// exchanged out like an older table.
		if err := r.replaceWhole(ctx, m, m.comment(def)); err != nil {
			return fmt.Errorf("queries: materialising %s: %w", m.Name(), err)
		}
	}
	return nil
}

// replaceWhole builds m under a temporary name and puts it in place. The
// name is this build's own: two processes migrating at once each build
// theirs and swap it in, where one shared name let one drop and re-create
// the table the other was about to swap in, half-built.
func (r *Refresher) replaceWhole(ctx context.Context, m Materialised, comment string) error {
	id, err := refreshID()
	if err != nil {
		return err
	}
	next := "materialise_next_" + m.Name() + "_" + id
	db := r.t.Database
	defer func() {
		// Whatever happened, next now holds a build no one will swap in, or
		// the table it replaced (or nothing, once renamed into place): the
		// next attempt builds under a name of its own.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = r.conn.Exec(dctx, fmt.Sprintf("DROP TABLE IF EXISTS %s.%s SYNC", db, next))
	}()
	ddl, err := m.tableDDL(r.t, next, comment)
	if err != nil {
		return err
	}
	for _, stmt := range ddl {
		if err := r.conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	for pass := 0; pass < maxPasses; pass++ {
		res, err := r.refreshTable(ctx, m, next)
		if err != nil {
			return err
		}
		if res.days == 0 {
			break
		}
	}
	if err := r.hook("swap"); err != nil {
		return err
	}
	// Another migrate may have put a build of this definition in place
	// while this one built, and refreshes may have published into it since:
	// swapping this older build over it would undo them. (A build put in
	// place between this check and the swap is swapped over.)
	for {
		var live string
		err := r.conn.QueryRow(ctx, "SELECT comment FROM system.tables WHERE database = ? AND name = ?", db, m.Name()).Scan(&live)
		switch {
		case err == nil && live == comment:
			return nil
		case err == nil:
			return r.conn.Exec(ctx, fmt.Sprintf("EXCHANGE TABLES %[1]s.%[2]s AND %[1]s.%[3]s", db, next, m.Name()))
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		err = r.conn.Exec(ctx, fmt.Sprintf("RENAME TABLE %[1]s.%[2]s TO %[1]s.%[3]s", db, next, m.Name()))
		var ex *clickhouse.Exception
		if !errors.As(err, &ex) || ex.Code != tableAlreadyExists {
			return err
		}
		// Another migrate put its build in place meanwhile: look at it.
	}
}

// tableAlreadyExists is ClickHouse's TABLE_ALREADY_EXISTS.
const tableAlreadyExists = 57

// RefreshOptions tunes a [Refresher].
type RefreshOptions struct {
	// Logger receives a line per rebuilt table; nil logs nothing.
	Logger *zerolog.Logger
	// beforeStep, when set, runs before each step of a partition's rebuild
	// and ends the refresh with its error: tests kill a refresh there.
	beforeStep func(step string) error
}

// Refresher brings the materialised BI tables up to date with the committed
// data and the entity names. It is safe for concurrent use: refreshes of one
// Refresher run one at a time; refreshes from two processes may overlap: a
// refresh publishes a partition only if no other published it since it
// planned, else plans it again.
type Refresher struct {
	conn driver.Conn
	t    schema.Target
	opts RefreshOptions
	log  zerolog.Logger
	mu   sync.Mutex
	// hookMu serialises the test hook's calls from the months rebuilt at once.
	hookMu sync.Mutex
}

// NewRefresher returns a refresher of the warehouse t over conn.
func NewRefresher(conn driver.Conn, t schema.Target, opts RefreshOptions) *Refresher {
	r := &Refresher{conn: conn, t: t, opts: opts, log: zerolog.Nop()}
	if opts.Logger != nil {
		r.log = *opts.Logger
	}
	return r
}

// AfterRun is Refresh in the shape a sync takes as its last step
// (extract.Options.Refresh), saying in the log what it rebuilt.
func (r *Refresher) AfterRun(ctx context.Context) error {
	res, err := r.Refresh(ctx)
	if res.Days > 0 {
		r.log.Info().Int("days", res.Days).Int("months", res.Partitions).Str("took", res.Took.Round(time.Millisecond).String()).Msg("materialised BI tables refreshed")
	}
	return err
}

// maxPasses bounds the rebuilds of one table in one refresh: the second pass
// finds the days committed, or clobbered by another process, while the first
// ran; a third is one more chance.
const maxPasses = 3

// RefreshResult says what a refresh rebuilt.
type RefreshResult struct {
	// Days is the number of (table, advertiser, day) rebuilt.
	Days int
	// Partitions is the number of partitions (months of an advertiser
	// bucket) replaced.
	Partitions int
	// Took is the refresh's wall time.
	Took time.Duration
	// Checking is the part of Took spent finding what differs (comparing
	// every table with load_commits and the entity names), the rest
	// rebuilding it.
	Checking time.Duration
}

// Refresh rebuilds, in every materialised table, the days whose committed
// data or names differ from what the table holds, and returns when the
// tables match what was committed when it started. A refresh cut short
// leaves each partition as it was or as rebuilt; the next one completes it.
func (r *Refresher) Refresh(ctx context.Context) (RefreshResult, error) {
	var res RefreshResult
	if r.t.Cluster != "" {
		return res, nil
	}
	start := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.dropAbandoned(ctx); err != nil {
		return res, err
	}
	if err := r.requireDefinitions(ctx); err != nil {
		return res, err
	}
	for _, m := range MaterialisedTables() {
		var (
			checked time.Time // when the last pass's check started
			last    tableResult
		)
		for pass := 0; pass < maxPasses; pass++ {
			checked = time.Now()
			var err error
			last, err = r.refreshTable(ctx, m, m.Name())
			res.Days += last.rebuilt
			res.Checking += last.checking
			res.Partitions += last.replaced
			if err != nil {
				return res, fmt.Errorf("refreshing %s: %w", m.Name(), err)
			}
			if last.days == 0 {
				break
			}
			r.log.Debug().Str("table", m.Name()).Int("days", last.days).Int("pass", pass+1).Msg("materialised days rebuilt")
		}
		if last.replaced < last.planned {
			// Another refresh published partitions of the last pass first,
			// so what that check found is not all in place: keep the name
			// watermark where it was, and the next refresh looks again.
			r.log.Warn().Str("table", m.Name()).Int("partitions", last.planned-last.replaced).
				Msg("other refreshes kept publishing the partitions this one rebuilt; the next refresh checks them again")
			continue
		}
		// Every entity row loaded before checked, less namesMargin, was
		// visible to that check, and what it found is rebuilt: later checks
		// of the table need only look at rows loaded after.
		key, err := m.names(r.t, m.Name())
		if err != nil {
			return res, err
		}
		if err := r.conn.Exec(ctx, fmt.Sprintf("INSERT INTO %s.materialise_names (bi_table, checked_to, checked_at) VALUES (?, ?, ?)", r.t.Database),
			key, load.VersionAt(checked.Add(-namesMargin)), checked); err != nil {
			return res, fmt.Errorf("recording the name check of %s: %w", m.Name(), err)
		}
	}
	res.Took = time.Since(start)
	return res, nil
}

// ErrOtherDefinition is wrapped by [Refresher.Refresh] when a materialised
// table was built by a definition other than this binary's: rebuilding its
// changed days with other SQL would leave rows of two definitions side by
// side, and no later check would see it.
var ErrOtherDefinition = errors.New("built by another definition")

// requireDefinitions checks that every materialised table was built by this
// binary's definition: after an upgrade, until `adhouse migrate` rebuilds
// them, and for an older process still running after it did.
func (r *Refresher) requireDefinitions(ctx context.Context) error {
	rows, err := r.conn.Query(ctx, "SELECT name, comment FROM system.tables WHERE database = ? AND startsWith(name, 'bi_')", r.t.Database)
	if err != nil {
		return fmt.Errorf("queries: reading the materialised tables' definitions: %w", err)
	}
	comments := map[string]string{}
	for rows.Next() {
		var name, comment string
		if err := rows.Scan(&name, &comment); err != nil {
			rows.Close()
			return err
		}
		comments[name] = comment
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, m := range MaterialisedTables() {
		def, err := m.definition(r.t)
		if err != nil {
			return err
		}
		comment, ok := comments[m.Name()]
		if !ok {
			return fmt.Errorf("queries: %s is missing: run `adhouse migrate`", m.Name())
		}
		if !strings.Contains(comment, "definition ") {
			return fmt.Errorf("queries: %s is not materialised yet (a warehouse from before the BI names were tables): run `adhouse migrate`", m.Name())
		}
		if !strings.HasSuffix(comment, "definition "+def) {
			built := "unknown"
			if i := strings.LastIndex(comment, "definition "); i >= 0 {
				built = comment[i+len("definition "):]
			}
			return fmt.Errorf("queries: %s: %w %s, not this adhouse's %s: if this adhouse is the newer one, run `adhouse migrate` with it, which rebuilds the table; if it is an older one still running after an upgrade, stop it",
				m.Name(), ErrOtherDefinition, built, def)
		}
	}
	return nil
}

// dropAbandoned drops the staging tables of refreshes that were killed more
// than an hour ago (a running refresh's stage is younger).
func (r *Refresher) dropAbandoned(ctx context.Context) error {
	rows, err := r.conn.Query(ctx, `SELECT name FROM system.tables WHERE database = ?
    AND (startsWith(name, 'materialise_stage_') OR startsWith(name, 'materialise_next_'))
    AND metadata_modification_time < now() - INTERVAL 1 HOUR`, r.t.Database)
	if err != nil {
		return fmt.Errorf("queries: listing abandoned stages: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, n := range names {
		if err := r.conn.Exec(ctx, fmt.Sprintf("DROP TABLE IF EXISTS %s.%s SYNC", r.t.Database, n)); err != nil {
			return fmt.Errorf("queries: dropping abandoned %s: %w", n, err)
		}
	}
	return nil
}

// namesMargin is how long an entity load may take from taking its version
// (load.NewVersion, as it starts a batch) to being visible to a query: a
// refresh's name check covers entity rows with versions from namesMargin
// before it started, so one still in flight while an earlier check ran is
// compared again. The loader's batches take seconds; the margin also absorbs
// clock skew between hosts that load into one warehouse. A rename that still
// slipped past would be compared at the advertiser's next entity sync, which
// loads every entity again under new versions.
const namesMargin = 10 * time.Minute

// advertiserBuckets is how many partitions share a month of a materialised
// table, by a hash of the advertiser: a refresh rewrites the keys of a
// partition, so it costs a sixteenth of a month's advertisers, while a
// month's query reads sixteen parts.
const advertiserBuckets = 16

type partition struct {
	month    uint32
	bucket   uint8
	from, to time.Time
	// add: the plan has rows to build; kept: the table holds days the
	// plan does not name.
	add, kept bool
	days      uint64
	// block is the partition's newest block number in the table before the
	// plan (0: no parts), which tells whether another refresh published it
	// since.
	block int64
}

// id is the partition's id as ClickHouse names it.
func (p partition) id() string { return fmt.Sprintf("%d-%d", p.month, p.bucket) }

// tableResult says what one pass of refreshTable did.
type tableResult struct {
	// days and planned count the days and partitions the pass planned,
	// rebuilt and replaced those it swapped in: the others were published
	// by another refresh first.
	days, planned, rebuilt, replaced int
	// checking is the time spent finding what differs.
	checking time.Duration
}

// refreshTable plans the dirty days of table (m's table, or the table being
// built in its place) and rebuilds them, month by month.
func (r *Refresher) refreshTable(ctx context.Context, m Materialised, table string) (tableResult, error) {
	var res tableResult
	start := time.Now()
	id, err := refreshID()
	if err != nil {
		return res, err
	}
	pctx := clickhouse.Context(ctx, clickhouse.WithParameters(map[string]string{"refresh": id}))
	data := m.step(table)
	if data.Names, err = m.names(r.t, table); err != nil {
		return res, err
	}
	blocks, err := r.blocks(ctx, table, "")
	if err != nil {
		return res, err
	}
	if err := r.exec(pctx, "plan", data); err != nil {
		return res, err
	}
	q, err := renderStep(r.t, "partitions", data)
	if err != nil {
		return res, err
	}
	rows, err := r.conn.Query(pctx, q)
	if err != nil {
		return res, fmt.Errorf("partitions: %w", err)
	}
	var parts []partition
	for rows.Next() {
		var p partition
		var add, kept uint8
		if err := rows.Scan(&p.month, &p.bucket, &p.from, &p.to, &add, &p.days, &kept); err != nil {
			rows.Close()
			return res, err
		}
		p.add, p.kept = add == 1, kept == 1
		p.block = blocks[p.id()]
		parts = append(parts, p)
	}
	rows.Close()
	res.checking = time.Since(start)
	if err := rows.Err(); err != nil || len(parts) == 0 {
		return res, err
	}
	for _, p := range parts {
		res.days += int(p.days)
	}
	res.planned = len(parts)
	slices.SortFunc(parts, func(a, b partition) int { return cmp.Compare(a.month, b.month) })
	data.Stage = "materialise_stage_" + table + "_" + id
	res.replaced, res.rebuilt, err = r.rebuild(ctx, id, data, parts)
	return res, err
}

// concurrentMonths is how many months of a table a refresh rebuilds at once.
// A month's INSERT … SELECT keeps about one core busy (it reads on both and
// writes its parts on one), so a refresh after a backfill left a core idle:
// two at a time, `adhouse refresh` of a backfill's three months (1.02M
// ad-days) took 4.8–5.1 s instead of 5.2–5.7 s. A build streams (its memory
// is the engine's insert blocks, up to a million rows, and the name joins of
// its advertisers), so two at once need about twice one's memory.
const concurrentMonths = 2

// rebuild replaces the planned partitions of a table month by month, two
// months at once (rebuildMonth). It returns the number of partitions
// replaced and of days in them. When a month fails, the other ends after
// its current step and no month starts.
func (r *Refresher) rebuild(ctx context.Context, id string, data stepData, parts []partition) (replaced, rebuilt int, err error) {
	var (
		g      errgroup.Group
		failed atomic.Bool
		mu     sync.Mutex
		first  error // the first failure other than errStopped
	)
	g.SetLimit(concurrentMonths)
	for len(parts) > 0 {
		n := 1
		for n < len(parts) && parts[n].month == parts[0].month {
			n++
		}
		month := parts[:n]
		parts = parts[n:]
		g.Go(func() error {
			n, days, err := r.rebuildMonth(ctx, id, data, month, &failed)
			mu.Lock()
			defer mu.Unlock()
			replaced += n
			rebuilt += days
			if err != nil && (first == nil || errors.Is(first, errStopped)) {
				first = err
			}
			return nil
		})
	}
	_ = g.Wait()
	return replaced, rebuilt, first
}

// errStopped ends a month's rebuild between two steps after another month's
// failed; that failure is the one reported.
var errStopped = errors.New("another month failed")

// rebuildMonth rebuilds the planned partitions of one month in a staging
// table of its own: into it go hard-linked copies of the month's partitions
// that hold days the plan does not name, the planned days are masked in them
// (one lightweight delete) and rebuilt (one INSERT), then each partition is
// swapped in whole. Until its swap nothing of a partition is visible; each
// swap is atomic. A stage per month keeps one month's delete, a mutation of
// the whole stage, off another's parts. It returns how many partitions it
// swapped in and the days planned in them; it stops before its next step
// once failed is set.
func (r *Refresher) rebuildMonth(ctx context.Context, id string, data stepData, month []partition, failed *atomic.Bool) (replaced, rebuilt int, err error) {
	if failed.Load() {
		return 0, 0, errStopped
	}
	step := func(ctx context.Context, name string) error {
		if failed.Load() {
			return errStopped
		}
		if err := r.step(ctx, name, data); err != nil {
			failed.Store(true)
			return err
		}
		return nil
	}
	data.Stage = fmt.Sprintf("%s_%d", data.Stage, month[0].month)
	defer func() {
		// The stage holds nothing the table lacks: drop it whatever happened,
		// even when ctx was cancelled.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if derr := r.exec(dctx, "drop", data); derr != nil && err == nil {
			failed.Store(true)
			err = derr
		}
	}()
	if err := step(ctx, "drop"); err != nil {
		return 0, 0, err
	}
	if err := step(ctx, "stage"); err != nil {
		return 0, 0, err
	}
	from, to := month[0].from, month[0].to
	var forget, add bool
	for _, p := range month {
		from, to = minTime(from, p.from), maxTime(to, p.to)
		// A copied partition's planned days are masked even when the
		// plan found none of them built: another refresh may have
		// published them since, and building them again on top of its
		// rows would count them twice.
		forget, add = forget || p.kept, add || p.add
	}
	ctx = clickhouse.Context(ctx, clickhouse.WithParameters(map[string]string{
		"refresh": id, "from": from.Format(time.DateOnly), "to": to.Format(time.DateOnly),
	}))
	// A partition with days the plan does not name is copied, whether
	// or not its planned days are built: a new day joins the others,
	// which the swap would otherwise drop. One without is rebuilt from
	// nothing.
	for _, p := range month {
		if !p.kept {
			continue
		}
		data.Partition = p.id()
		if err := step(ctx, "copy"); err != nil {
			return replaced, rebuilt, fmt.Errorf("partition %s: %w", p.id(), err)
		}
	}
	data.Partition = ""
	if forget {
		if err := step(ctx, "forget"); err != nil {
			return replaced, rebuilt, fmt.Errorf("month %d: %w", month[0].month, err)
		}
	}
	if add {
		if err := step(ctx, "build"); err != nil {
			return replaced, rebuilt, fmt.Errorf("month %d: %w", month[0].month, err)
		}
	}
	// Each partition is swapped in unless another refresh (another
	// process) published it since this one planned: the stage may lack what
	// that one put there (a rename, a newer window), and swapping it in
	// would undo that where no later check looks, since that refresh's name
	// check moved the watermark past the rename. Its days stay planned for
	// the next pass. The month's partitions are read once, after the first
	// swap's hook: what is left is the moment from there to each swap.
	var now map[string]int64
	for i, p := range month {
		data.Partition = p.id()
		if failed.Load() {
			return replaced, rebuilt, errStopped
		}
		if err := r.hook("publish"); err != nil {
			failed.Store(true)
			return replaced, rebuilt, fmt.Errorf("partition %s: %w", p.id(), err)
		}
		if i == 0 {
			if now, err = r.blocks(ctx, data.Table, fmt.Sprintf("%d-", p.month)); err != nil {
				failed.Store(true)
				return replaced, rebuilt, fmt.Errorf("month %d: %w", p.month, err)
			}
		}
		if now[p.id()] != p.block {
			r.log.Debug().Str("table", data.Table).Str("partition", p.id()).Msg("another refresh published the partition first; planning it again")
			continue
		}
		if err := r.exec(ctx, "publish", data); err != nil {
			failed.Store(true)
			return replaced, rebuilt, fmt.Errorf("partition %s: %w", p.id(), err)
		}
		replaced++
		rebuilt += int(p.days)
	}
	return replaced, rebuilt, nil
}

// blocks returns the newest block number of each partition of table with
// parts whose id starts with prefix. A REPLACE PARTITION gives the parts it
// puts in new block numbers and a merge keeps its parts' newest, so the
// number changes when a partition is published, not otherwise: nothing else
// writes a materialised table. (It can miss a partition emptied, filled and
// emptied again in between, which holds nothing either way.)
func (r *Refresher) blocks(ctx context.Context, table, prefix string) (map[string]int64, error) {
	ctx = clickhouse.Context(ctx, clickhouse.WithParameters(map[string]string{"db": r.t.Database, "table": table, "prefix": prefix}))
	rows, err := r.conn.Query(ctx, `SELECT partition_id, max(max_block_number) FROM system.parts
    WHERE database = {db:String} AND table = {table:String} AND active AND startsWith(partition_id, {prefix:String})
    GROUP BY partition_id`)
	if err != nil {
		return nil, fmt.Errorf("queries: reading the partitions of %s: %w", table, err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var pid string
		var block int64
		if err := rows.Scan(&pid, &block); err != nil {
			return nil, err
		}
		out[pid] = block
	}
	return out, rows.Err()
}

// step runs one step, after the test hook.
func (r *Refresher) step(ctx context.Context, name string, data stepData) error {
	if err := r.hook(name); err != nil {
		return err
	}
	return r.exec(ctx, name, data)
}

// hook calls the test hook, if any, for one month at a time.
func (r *Refresher) hook(step string) error {
	if r.opts.beforeStep == nil {
		return nil
	}
	r.hookMu.Lock()
	defer r.hookMu.Unlock()
	return r.opts.beforeStep(step)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (r *Refresher) exec(ctx context.Context, step string, data stepData) error {
	q, err := renderStep(r.t, step, data)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := r.conn.Exec(ctx, q); err != nil {
		return fmt.Errorf("%s: %w", step, err)
	}
	r.log.Trace().Str("table", data.Table).Str("partition", data.Partition).Str("step", step).Dur("took", time.Since(start)).Msg("refresh step")
	return nil
}

func refreshID() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// Pending is what a materialised table does not reflect yet.
type Pending struct {
	// Table is the BI table, e.g. bi_campaign_daily.
	Table string
	// Days counts its (advertiser, day) that differ from the committed data
	// or the entities' names; 0 when it is exact.
	Days int
	// Renamed counts those of them that differ only by names.
	Renamed int
	// Oldest is when the oldest commit it does not reflect was made; zero
	// when none.
	Oldest time.Time
}

// Pending compares every materialised table with the committed data and the
// names, without changing anything: what a refresh would rebuild now.
func (r *Refresher) Pending(ctx context.Context) ([]Pending, error) {
	if r.t.Cluster != "" {
		return nil, nil
	}
	var out []Pending
	for _, m := range MaterialisedTables() {
		data := m.step(m.Name())
		var err error
		if data.Names, err = m.names(r.t, m.Name()); err != nil {
			return nil, err
		}
		q, err := renderStep(r.t, "pending", data)
		if err != nil {
			return nil, err
		}
		var days, renamed uint64
		var oldest time.Time
		if err := r.conn.QueryRow(ctx, q).Scan(&days, &renamed, &oldest); err != nil {
			return nil, fmt.Errorf("queries: pending %s: %w", m.Name(), err)
		}
		p := Pending{Table: m.Name(), Days: int(days), Renamed: int(renamed)}
		if days > renamed && oldest.Unix() > 0 {
			p.Oldest = oldest
		}
		out = append(out, p)
	}
	return out, nil
}

package load

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DatedRow is a statistics row: it knows the local day it belongs to.
type DatedRow interface {
	Row
	// StatDate is the row's day in the advertiser's timezone, at 00:00 UTC.
	StatDate() time.Time
}

// WindowSpec names one re-loadable unit: a statistics table, an advertiser and
// an inclusive range of local days.
type WindowSpec struct {
	Table        Table
	AdvertiserID string
	From, To     time.Time
	// RunID ties the commit to the sync run that made it.
	RunID string
}

// Window is a load in progress; nothing of it is visible until [Window.Commit].
// Rows stream in through Append and leave in batches, so memory holds at most
// one batch. A Window is used by one goroutine.
type Window struct {
	l        *Loader
	spec     WindowSpec
	version  uint64
	buf      []Row
	cols     ColumnBuffer // instead of buf, for rows that load column by column
	sent     int
	batches  []uint64
	perDay   map[time.Time]uint64
	finished bool
}

// ErrWindowFinished is returned when a committed or aborted window is used again.
var ErrWindowFinished = errors.New("load: window already committed or aborted")

// Begin starts loading a window. Its version is taken now, so of two loads of
// the same days the one begun later wins, whatever order they commit in.
func (l *Loader) Begin(spec WindowSpec) (*Window, error) {
	spec.From, spec.To = day(spec.From), day(spec.To)
	if spec.To.Before(spec.From) {
		return nil, fmt.Errorf("load: window %s..%s ends before it starts", spec.From.Format(time.DateOnly), spec.To.Format(time.DateOnly))
	}
	if !spec.Table.Versioned {
		return nil, fmt.Errorf("load: table %s is not versioned", spec.Table.Name)
	}
	return &Window{
		l: l, spec: spec, version: NewVersion(),
		perDay: map[time.Time]uint64{},
	}, nil
}

// Append adds a row to the window, sending a batch when one is full. A
// window holds each entity and day (or hour) once: the materialised BI
// tables are built from committed rows as they are, not grouped, so a caller
// that could repeat a row must reject the window first (the TikTok readers
// do, as pagination drift).
func (w *Window) Append(ctx context.Context, r DatedRow) error {
	if w.finished {
		return ErrWindowFinished
	}
	d := r.StatDate()
	if d.Before(w.spec.From) || d.After(w.spec.To) {
		return fmt.Errorf("load %s: advertiser %s: row for %s is outside the window %s..%s", w.spec.Table.Name, w.spec.AdvertiserID,
			d.Format(time.DateOnly), w.spec.From.Format(time.DateOnly), w.spec.To.Format(time.DateOnly))
	}
	w.perDay[d]++
	if cr, ok := r.(ColumnRow); ok && w.cols == nil && len(w.buf) == 0 {
		w.cols = cr.NewColumns(min(w.l.opts.BatchSize, 1<<16))
	}
	switch {
	case w.cols != nil:
		w.cols.Add(r)
	case w.buf == nil:
		w.buf = append(make([]Row, 0, min(w.l.opts.BatchSize, 1<<16)), r)
	default:
		w.buf = append(w.buf, r)
	}
	if w.pending() >= w.l.opts.BatchSize {
		return w.flush(ctx)
	}
	return nil
}

// pending is the number of rows appended and not yet sent.
func (w *Window) pending() int {
	if w.cols != nil {
		return w.cols.Len()
	}
	return len(w.buf)
}

// Rows is the number of rows appended so far.
func (w *Window) Rows() int { return w.sent + w.pending() }

func (w *Window) flush(ctx context.Context) error {
	n := w.pending()
	if n == 0 {
		return nil
	}
	var v uint64
	var err error
	if w.cols != nil {
		v, err = w.l.sendColumns(ctx, w.spec.Table, w.cols, w.sent)
	} else {
		v, err = w.l.send(ctx, w.spec.Table, w.buf, w.sent)
	}
	if err != nil {
		return fmt.Errorf("advertiser %s window %s..%s: %w", w.spec.AdvertiserID,
			w.spec.From.Format(time.DateOnly), w.spec.To.Format(time.DateOnly), err)
	}
	w.batches = append(w.batches, v)
	w.sent += n
	w.cols = nil // the next row starts a new buffer: the sent one may still be referenced by the driver
	clear(w.buf)
	w.buf = w.buf[:0]
	return nil
}

// Commit sends what is left and makes the window visible, replacing every
// earlier load of its days, in one single-block INSERT.
func (w *Window) Commit(ctx context.Context) error {
	if w.finished {
		return ErrWindowFinished
	}
	if err := w.flush(ctx); err != nil {
		return err
	}
	rows := make([]Row, 0, 31)
	now := time.Now().UTC()
	for d := w.spec.From; !d.After(w.spec.To); d = d.AddDate(0, 0, 1) {
		rows = append(rows, commitRow{
			table: w.spec.Table.Name, advertiser: w.spec.AdvertiserID, date: d,
			windowVersion: w.version, batches: w.batches, rows: w.perDay[d],
			from: w.spec.From, to: w.spec.To, runID: w.spec.RunID, at: now,
		})
	}
	// One INSERT (never split by the batch size) of at most a few hundred
	// rows into an unpartitioned table is one block, one part: ClickHouse
	// applies it whole or not at all.
	if _, err := w.l.send(ctx, commitsTable, rows, 0); err != nil {
		return fmt.Errorf("commit advertiser %s window %s..%s: %w", w.spec.AdvertiserID,
			w.spec.From.Format(time.DateOnly), w.spec.To.Format(time.DateOnly), err)
	}
	w.finished = true
	return nil
}

// Abort drops the window: rows already sent stay invisible and are pruned later.
func (w *Window) Abort() {
	w.finished = true
	clear(w.buf)
	w.buf = nil
}

var commitsTable = Table{
	Name: "load_commits",
	Columns: []string{"table_name", "advertiser_id", "stat_date", "window_version", "batch_versions",
		"row_count", "window_from", "window_to", "run_id", "committed_at"},
}

type commitRow struct {
	table, advertiser string
	date, from, to    time.Time
	windowVersion     uint64
	batches           []uint64
	rows              uint64
	runID             string
	at                time.Time
}

func (c commitRow) AppendValues(dst []any) []any {
	batches := c.batches
	if batches == nil {
		batches = []uint64{}
	}
	return append(dst, c.table, c.advertiser, c.date, c.windowVersion, batches, c.rows, c.from, c.to, c.runID, c.at)
}

// Prune deletes rows of a statistics table that no committed window shows any
// more: versions older than the newest committed window of their day. It
// never touches a load in progress, whose versions are newer. Views are right
// without it; it only reclaims space.
func (l *Loader) Prune(ctx context.Context, table string) error {
	return l.prune(ctx, table, "", map[string]string{"table": table})
}

// PruneDays is [Loader.Prune] limited to the days from..to, cheap enough to
// run after every sync of those days.
func (l *Loader) PruneDays(ctx context.Context, table string, from, to time.Time) error {
	return l.prune(ctx, table, "AND stat_date BETWEEN {from:Date} AND {to:Date}",
		map[string]string{"table": table, "from": from.Format(time.DateOnly), "to": to.Format(time.DateOnly)})
}

func (l *Loader) prune(ctx context.Context, table, scope string, params map[string]string) error {
	db := l.opts.Target.Database
	// {{rows}} is the table that holds the rows on the node the delete runs
	// on; load_commits is read whole (through its Distributed table on a
	// cluster), so each shard sees every commit.
	superseded := fmt.Sprintf(`SELECT s.advertiser_id, s.stat_date, s.load_version
    FROM {{rows}} AS s
    INNER JOIN (
        SELECT advertiser_id, stat_date, max(window_version) AS committed
        FROM %[1]s.load_commits WHERE table_name = {table:String} %[2]s
        GROUP BY advertiser_id, stat_date
    ) AS c USING (advertiser_id, stat_date)
    WHERE s.load_version < c.committed %[2]s`, db, scope)
	ctx = withParams(ctx, params)
	// A lightweight DELETE costs seconds even when it matches nothing (the
	// engine schedules a mutation of the parts in range and waits for it):
	// after a first backfill, which supersedes nothing, that was 2.6 s of a
	// 21 s run. Counting first costs tens of milliseconds. On a cluster the
	// rows are spread over shards and replicas, and the delete runs as it is.
	if l.opts.Target.Cluster == "" {
		var n uint64
		if err := l.conn.QueryRow(ctx, "SELECT count() FROM ("+strings.ReplaceAll(superseded, "{{rows}}", db+"."+table)+")").Scan(&n); err != nil {
			return fmt.Errorf("prune %s.%s: counting superseded rows: %w", db, table, err)
		}
		if n == 0 {
			return nil
		}
	}
	where := "(advertiser_id, stat_date, load_version) IN (" + superseded + ") " + scope
	if err := l.Delete(ctx, table, where); err != nil {
		return fmt.Errorf("prune %s.%s: %w", db, table, err)
	}
	return nil
}

// Delete runs a lightweight DELETE of the rows of table matching where, on
// the table that holds them: the table itself on one server, every shard's
// _local table on a cluster (ON CLUSTER in replicated mode, node by node in
// sharded mode). In where, {{rows}} names that table.
func (l *Loader) Delete(ctx context.Context, table, where string, args ...any) error {
	t := l.opts.Target
	rows := t.Database + "." + table
	if t.Cluster != "" {
		rows += "_local"
	}
	where = strings.ReplaceAll(where, "{{rows}}", rows)
	if t.Cluster != "" && t.Sharded {
		if len(l.opts.Shards) == 0 {
			return errors.New("sharded cluster without shard connections")
		}
		for i, shard := range l.opts.Shards {
			if err := shard.Exec(ctx, "DELETE FROM "+rows+" WHERE "+where, args...); err != nil {
				return fmt.Errorf("shard %d of %d: %w", i+1, len(l.opts.Shards), err)
			}
		}
		return nil
	}
	onCluster := ""
	if t.Cluster != "" {
		onCluster = " ON CLUSTER `" + t.Cluster + "`"
	}
	return l.conn.Exec(ctx, "DELETE FROM "+rows+onCluster+" WHERE "+where, args...)
}

func day(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

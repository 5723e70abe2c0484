package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"

	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/schema"
)

// Format parses one kind of import file.
type Format interface {
	// Source is the file's family in import_commits: ga4, crm, orders or costs.
	Source() string
	// Name names the format in messages and in import_commits.
	Name() string
	// Tables lists the staging tables the rows go to. Their columns follow
	// file_key, load_version and line, which the importer fills in.
	Tables() []load.Table
	// Parse streams the file's records into sink and fails on the first bad
	// one with an [Error].
	Parse(ctx context.Context, in *Input, sink Sink) error
}

// Sink receives parsed rows: table indexes Format.Tables, line is the
// record's line in the file.
type Sink interface {
	Emit(ctx context.Context, table int, line int64, row load.Row) error
}

// DefaultBatchSize is the rows per INSERT of an import; config.Default uses
// it too. Larger batches were no faster (GA4 events: 155,000 rows/s at
// 50,000 a batch, 168,000 at 20,000) and held 2.2 times the memory.
const DefaultBatchSize = 20_000

// Options tunes an [Importer]; zero fields take the defaults.
type Options struct {
	// Target is the warehouse's database (and cluster) of the import tables.
	Target schema.Target
	// BatchSize is the number of rows per INSERT, and so bounds memory.
	BatchSize int
	// Load passes retry settings to the loader.
	Load load.Options
	// Logger receives progress lines; nil logs nothing.
	Logger *zerolog.Logger
	// Replace lets a file replace an earlier file of the same identity and
	// other content. Without it such an import fails: a monthly export saved
	// under the name of last month's would otherwise drop last month.
	Replace bool
}

// Importer imports files into one warehouse database. It is safe for
// concurrent use; each Import runs on its own.
type Importer struct {
	conn   driver.Conn
	loader *load.Loader
	opts   Options
	log    zerolog.Logger
}

// New returns an importer writing through conn.
func New(conn driver.Conn, opts Options) *Importer {
	if opts.BatchSize < 1 {
		opts.BatchSize = DefaultBatchSize
	}
	lo := opts.Load
	lo.Target = opts.Target
	lo.BatchSize = opts.BatchSize
	lo.Logger = opts.Logger
	im := &Importer{conn: conn, loader: load.New(conn, lo), opts: opts, log: zerolog.Nop()}
	if opts.Logger != nil {
		im.log = *opts.Logger
	}
	return im
}

// Result describes one imported file.
type Result struct {
	File    string
	Source  string
	Format  string
	Key     string
	SHA256  string
	Rows    int64
	Version uint64
	// Unchanged means the same content was already the committed version
	// of this file: nothing was written.
	Unchanged bool
	// Replaced means the file replaced an earlier version with other
	// content (Options.Replace).
	Replaced bool
}

// Import loads the file at path as one all-or-nothing unit under the
// identity key (FileKey(path) when empty). On any error nothing of the file
// becomes visible and the earlier committed version, if any, stays.
func (im *Importer) Import(ctx context.Context, path string, f Format, key string) (Result, error) {
	if key == "" {
		key = FileKey(path)
	}
	res := Result{File: path, Source: f.Source(), Format: f.Name(), Key: key}
	prev, err := im.committedHash(ctx, f.Source(), key)
	if err != nil {
		return res, err
	}
	if prev.sum != "" {
		sum, err := FileContentSHA256(path)
		if err != nil {
			return res, fmt.Errorf("import %s: %w", path, err)
		}
		if sum == prev.sum {
			res.SHA256, res.Unchanged = sum, true
			return res, nil
		}
		if !im.opts.Replace {
			return res, fmt.Errorf("import %s: %s %q was imported before with other content (%d rows, imported %s from %s); nothing was imported: "+
				"use --as NAME to import it as a separate file, or --replace to replace the earlier one as a whole",
				path, f.Source(), key, prev.rows, prev.at.Format(time.RFC3339), prev.file)
		}
		res.Replaced = true
	}
	in, err := Open(path)
	if err != nil {
		return res, fmt.Errorf("import: %w", err)
	}
	defer in.Close()

	st := im.newStage(ctx, f, key)
	err = f.Parse(ctx, in, st)
	if err == nil {
		err = st.finish()
	} else {
		st.abandon()
	}
	if errors.Is(err, ErrEmpty) && !IsFileError(err) {
		err = &Error{File: path, Err: fmt.Errorf("%w: no records", ErrEmpty)}
	}
	if err == nil {
		res.SHA256, err = in.ContentSHA256()
	}
	if err == nil {
		err = im.validate(ctx, st)
	}
	if err != nil {
		im.cleanup(st)
		return res, fmt.Errorf("import %s (%s): nothing of the file was imported: %w", path, f.Name(), err)
	}
	if err := im.commit(ctx, st, in, res.SHA256); err != nil {
		// The commit row may have landed even though the client saw an error:
		// deleting the staged rows could then publish an empty file. Unpublished
		// rows are invisible; leave them.
		return res, fmt.Errorf("import %s (%s): publishing failed; if it did not land, nothing of the file is visible: %w", path, f.Name(), err)
	}
	res.Rows, res.Version = st.rows(), st.version
	return res, nil
}

// committed is the newest commit of one file identity.
type committed struct {
	sum, file string
	rows      uint64
	at        time.Time
}

func (im *Importer) committedHash(ctx context.Context, source, key string) (committed, error) {
	rows, err := im.conn.Query(ctx, fmt.Sprintf(
		"SELECT content_sha256, row_count, file_name, committed_at FROM %s.import_commits WHERE source = ? AND file_key = ? ORDER BY version DESC LIMIT 1",
		im.opts.Target.Database), source, key)
	if err != nil {
		return committed{}, fmt.Errorf("import: reading import_commits: %w", err)
	}
	defer rows.Close()
	var c committed
	if rows.Next() {
		if err := rows.Scan(&c.sum, &c.rows, &c.file, &c.at); err != nil {
			return committed{}, err
		}
	}
	return c, rows.Err()
}

// validate checks that every staged row arrived, once: a batch whose fate was
// uncertain and that was resent collapses under FINAL.
func (im *Importer) validate(ctx context.Context, st *stage) error {
	for i, t := range st.tables {
		var n uint64
		q := fmt.Sprintf("SELECT count() FROM %s.%s FINAL WHERE file_key = ? AND load_version = ?", im.opts.Target.Database, t.Name)
		if err := im.conn.QueryRow(ctx, q, st.key, st.version).Scan(&n); err != nil {
			return fmt.Errorf("validating %s: %w", t.Name, err)
		}
		if int64(n) != st.counts[i] {
			return fmt.Errorf("validating %s: %d rows staged, %d expected", t.Name, n, st.counts[i])
		}
	}
	return nil
}

var commitsTable = load.Table{
	Name:    "import_commits",
	Columns: []string{"source", "file_key", "version", "content_sha256", "row_count", "format", "file_name", "committed_at"},
}

type commitRow struct {
	source, key, sum, format, file string
	version                        uint64
	rows                           uint64
	at                             time.Time
}

func (c commitRow) AppendValues(dst []any) []any {
	return append(dst, c.source, c.key, c.version, c.sum, c.rows, c.format, c.file, c.at)
}

// commit publishes the staged version with one single-row INSERT: ClickHouse
// applies it whole or not at all, so the file appears at once.
func (im *Importer) commit(ctx context.Context, st *stage, in *Input, sum string) error {
	row := commitRow{source: st.f.Source(), key: st.key, sum: sum, format: st.f.Name(), file: in.Name,
		version: st.version, rows: uint64(st.rows()), at: time.Now().UTC()}
	if err := im.loader.Insert(ctx, commitsTable, []load.Row{row}); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// cleanup deletes what a failed import staged. The rows were never visible;
// this only reclaims space, so it is best effort.
func (im *Importer) cleanup(st *stage) {
	if st.rows() == 0 && st.sent == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, t := range st.tables {
		if err := im.loader.Delete(ctx, t.Name, "file_key = ? AND load_version = ?", st.key, st.version); err != nil {
			im.log.Warn().Err(err).Str("table", t.Name).Msg("could not delete the rows of a failed import (they stay invisible)")
		}
	}
}

// stage buffers rows per table and sends full batches in the background, so
// parsing the next batch overlaps with inserting the last one.
type stage struct {
	im      *Importer
	ctx     context.Context
	cancel  context.CancelFunc
	f       Format
	key     string
	version uint64
	tables  []load.Table
	bufs    [][]load.Row
	cols    []*stagedColumns // per table, once its rows turn out to be load.ColumnRows
	counts  []int64
	sent    int
	jobs    chan job
	done    chan error
	failed  error
}

// senders is how many batches of one import are inserted at once.
const senders = 2

type job struct {
	t    load.Table
	rows []load.Row
	cols *stagedColumns
}

// stagedColumns are rows held column by column, behind the importer's own
// columns file_key, load_version and line.
type stagedColumns struct {
	key     string
	version uint64
	lines   []uint64
	rows    load.ColumnBuffer
}

func (c *stagedColumns) Len() int { return len(c.lines) }

func (c *stagedColumns) Slices() []any {
	n := len(c.lines)
	return append([]any{slices.Repeat([]string{c.key}, n), slices.Repeat([]uint64{c.version}, n), c.lines}, c.rows.Slices()...)
}

func (im *Importer) newStage(parent context.Context, f Format, key string) *stage {
	ctx, cancel := context.WithCancel(parent)
	st := &stage{im: im, ctx: ctx, cancel: cancel, f: f, key: key, version: load.NewVersion(),
		jobs: make(chan job, 1), done: make(chan error, 1)}
	for _, t := range f.Tables() {
		st.tables = append(st.tables, load.Table{
			Name:    t.Name,
			Columns: append([]string{"file_key", "load_version", "line"}, t.Columns...),
		})
	}
	st.bufs = make([][]load.Row, len(st.tables))
	st.cols = make([]*stagedColumns, len(st.tables))
	st.counts = make([]int64, len(st.tables))
	// Two INSERTs in flight: while ClickHouse writes one batch, the driver
	// encodes the next, and the engine writes both on separate threads. One
	// at a time, an import spent most of its time waiting on that one insert.
	// A failed insert stops the queue, not the other sender's insert in
	// flight: cancelled mid-send, that insert can still land on the server
	// after cleanup deleted the import's rows, and stay there for good.
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			for j := range st.jobs {
				if err == nil && ctx.Err() == nil {
					if j.cols != nil {
						err = im.loader.InsertColumns(parent, j.t, j.cols)
					} else {
						err = im.loader.Insert(parent, j.t, j.rows)
					}
					if err != nil {
						errs <- err // before cancel: the other sender's "canceled" comes second
						cancel()
					}
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(errs)
		st.done <- <-errs // the first failure; nil when none
	}()
	return st
}

type stagedRow struct {
	key     string
	version uint64
	line    int64
	row     load.Row
}

func (r stagedRow) AppendValues(dst []any) []any {
	return r.row.AppendValues(append(dst, r.key, r.version, uint64(r.line)))
}

// Emit implements [Sink].
func (st *stage) Emit(ctx context.Context, table int, line int64, row load.Row) error {
	if st.ctx.Err() != nil {
		return st.stopped()
	}
	st.counts[table]++
	c := st.cols[table]
	if cr, ok := row.(load.ColumnRow); ok && c == nil {
		c = &stagedColumns{key: st.key, version: st.version, lines: make([]uint64, 0, st.im.opts.BatchSize), rows: cr.NewColumns(st.im.opts.BatchSize)}
		st.cols[table] = c
	}
	if c != nil {
		c.lines = append(c.lines, uint64(line))
		c.rows.Add(row)
		if c.Len() < st.im.opts.BatchSize {
			return nil
		}
		st.cols[table] = nil
		return st.send(job{t: st.tables[table], cols: c})
	}
	b := append(st.bufs[table], stagedRow{key: st.key, version: st.version, line: line, row: row})
	if len(b) >= st.im.opts.BatchSize {
		if err := st.send(job{t: st.tables[table], rows: b}); err != nil {
			return err
		}
		b = make([]load.Row, 0, st.im.opts.BatchSize)
	}
	st.bufs[table] = b
	return nil
}

func (st *stage) send(j job) error {
	select {
	case st.jobs <- j:
		st.sent++
		return nil
	case <-st.ctx.Done():
		return st.stopped()
	}
}

// stopped explains why staging stopped: the insert that failed, or the
// caller's cancellation.
func (st *stage) stopped() error {
	close(st.jobs)
	err := <-st.done
	st.jobs = nil
	if err == nil {
		err = st.ctx.Err()
	}
	st.failed = err
	return fmt.Errorf("staging rows: %w", err)
}

func (st *stage) finish() error {
	defer st.cancel()
	if st.jobs == nil {
		return st.failed
	}
	for i, b := range st.bufs {
		if len(b) > 0 {
			if err := st.send(job{t: st.tables[i], rows: b}); err != nil {
				return err
			}
		}
		st.bufs[i] = nil
		if c := st.cols[i]; c != nil && c.Len() > 0 {
			if err := st.send(job{t: st.tables[i], cols: c}); err != nil {
				return err
			}
		}
		st.cols[i] = nil
	}
	if st.rows() == 0 {
		close(st.jobs)
		<-st.done
		return ErrEmpty
	}
	close(st.jobs)
	if err := <-st.done; err != nil {
		return fmt.Errorf("staging rows: %w", err)
	}
	return nil
}

func (st *stage) abandon() {
	st.cancel()
	if st.jobs != nil {
		close(st.jobs)
		<-st.done
		st.jobs = nil
	}
	st.bufs, st.cols = nil, nil
}

func (st *stage) rows() int64 {
	var n int64
	for _, c := range st.counts {
		n += c
	}
	return n
}

// IsFileError reports whether err is a problem of the file (fix the file)
// rather than of the warehouse (retry later).
func IsFileError(err error) bool {
	var fe *Error
	return errors.As(err, &fe)
}

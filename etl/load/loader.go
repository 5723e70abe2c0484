// Package load writes rows into the ClickHouse warehouse: in batches through
// clickhouse-go PrepareBatch/Append/Send, retried on a fresh batch when
// ClickHouse answers with a retryable exception code, and idempotent.
//
// Idempotence works by versions, not by deduplication at merge time. Every
// batch attempt stamps its rows with a new load_version. A [Window] (one
// advertiser, one statistics table, a range of days) ends with a single-block
// INSERT into load_commits that names, for each day, the batch versions making
// up the window. The analyst views show only those versions, so a load cut
// short shows nothing of itself, a repeated load replaces the previous one
// whole, and a row that a newer load no longer contains disappears.
package load

import (
	"context"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"
	"github.com/shopspring/decimal"

	"github.com/adhouse/adhouse/schema"
)

// Loader defaults, which config.Default uses too.
const (
	DefaultBatchSize    = 100_000
	DefaultMaxRetries   = 5
	DefaultRetryBackoff = 500 * time.Millisecond
)

// Options tunes a [Loader]; zero fields take the defaults above.
type Options struct {
	// Target is the warehouse's database and cluster. On a cluster, deletes
	// go to each shard's _local table (lightweight deletes do not pass
	// through Distributed tables): ON CLUSTER in replicated mode, and over
	// Shards, one by one, in sharded mode.
	Target schema.Target
	// Shards are connections to every node of a sharded cluster
	// (Target.Sharded), one per shard.
	Shards []driver.Conn
	// BatchSize bounds the rows held in memory and sent in one INSERT.
	BatchSize int
	// MaxRetries is how many times a failed batch is resent; negative
	// means never.
	MaxRetries int
	// RetryBackoff is the first wait between attempts; it doubles each time.
	RetryBackoff time.Duration
	// Logger receives one line per retry; nil logs nothing.
	Logger *zerolog.Logger
}

// Loader writes batches into one ClickHouse database. It is safe for
// concurrent use; each [Window] is used by one goroutine.
type Loader struct {
	conn driver.Conn
	opts Options
	log  zerolog.Logger
}

// New returns a loader over conn.
func New(conn driver.Conn, opts Options) *Loader {
	if opts.BatchSize < 1 {
		opts.BatchSize = DefaultBatchSize
	}
	switch {
	case opts.MaxRetries == 0:
		opts.MaxRetries = DefaultMaxRetries
	case opts.MaxRetries < 0:
		opts.MaxRetries = 0
	}
	if opts.RetryBackoff <= 0 {
		opts.RetryBackoff = DefaultRetryBackoff
	}
	l := &Loader{conn: conn, opts: opts, log: zerolog.Nop()}
	if opts.Logger != nil {
		l.log = *opts.Logger
	}
	return l
}

// Row is one row for a [Table]: AppendValues appends its column values, in
// the table's column order, to dst and returns the extended slice.
type Row interface {
	AppendValues(dst []any) []any
}

// Table names an insert target and its columns. A Versioned table also gets
// load_version and loaded_at, which the loader fills in.
type Table struct {
	Name      string
	Columns   []string
	Versioned bool
}

func (t Table) insertSQL(db string) string {
	cols := t.Columns
	if t.Versioned {
		cols = append(append([]string(nil), cols...), "load_version", "loaded_at")
	}
	return fmt.Sprintf("INSERT INTO %s.%s (%s)", db, t.Name, strings.Join(cols, ", "))
}

// Insert writes rows in batches with retries, stamping a versioned table's rows
// with a fresh version per batch attempt. It suits tables whose engine keeps
// the newest version per key (entities) and append-only logs.
func (l *Loader) Insert(ctx context.Context, t Table, rows []Row) error {
	for start := 0; start < len(rows); start += l.opts.BatchSize {
		end := min(start+l.opts.BatchSize, len(rows))
		if _, err := l.send(ctx, t, rows[start:end], start); err != nil {
			return err
		}
	}
	return nil
}

// send writes one batch, retrying on a new batch with a new version after a
// retryable failure, and returns the version of the attempt that landed.
func (l *Loader) send(ctx context.Context, t Table, rows []Row, offset int) (uint64, error) {
	return l.sendBatch(ctx, t, len(rows), offset, func(batch driver.Batch, version uint64, loadedAt time.Time) error {
		vals := make([]any, 0, 64)
		for _, r := range rows {
			vals = r.AppendValues(vals[:0])
			fastDecimals(vals)
			if t.Versioned {
				vals = append(vals, version, loadedAt)
			}
			if err := batch.Append(vals...); err != nil {
				return err
			}
		}
		return nil
	})
}

// InsertColumns writes rows held column by column as one batch, with the
// retries of [Loader.Insert].
func (l *Loader) InsertColumns(ctx context.Context, t Table, cols Columns) error {
	_, err := l.sendColumns(ctx, t, cols, 0)
	return err
}

// sendColumns is send for rows held column by column.
func (l *Loader) sendColumns(ctx context.Context, t Table, cols Columns, offset int) (uint64, error) {
	return l.sendBatch(ctx, t, cols.Len(), offset, func(batch driver.Batch, version uint64, loadedAt time.Time) error {
		all := cols.Slices()
		if t.Versioned {
			all = append(all, slices.Repeat([]uint64{version}, cols.Len()), slices.Repeat([]time.Time{loadedAt}, cols.Len()))
		}
		for i, s := range all {
			if err := batch.Column(i).Append(s); err != nil {
				return fmt.Errorf("column %d of %s: %w", i+1, t.Name, err)
			}
		}
		return nil
	})
}

// sendBatch writes the n rows that fill appends to a batch, retrying on a new
// batch with a new version after a retryable failure, and returns the
// version of the attempt that landed. offset numbers the rows in messages.
func (l *Loader) sendBatch(ctx context.Context, t Table, n, offset int, fill func(batch driver.Batch, version uint64, loadedAt time.Time) error) (uint64, error) {
	query := t.insertSQL(l.opts.Target.Database)
	backoff := l.opts.RetryBackoff
	var lastErr error
	for attempt := 0; ; attempt++ {
		version := NewVersion()
		err := l.sendOnce(ctx, query, fill, version)
		if err == nil {
			return version, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			return 0, fmt.Errorf("load %s.%s rows %d-%d: %w", l.opts.Target.Database, t.Name, offset+1, offset+n, ctx.Err())
		}
		if !Retryable(err) || attempt >= l.opts.MaxRetries {
			break
		}
		if Unreachable(err) {
			// The driver's request details say nothing more than the reason.
			l.log.Warn().Str("error", "the warehouse did not answer ("+UnreachableReason(err)+")").Str("table", t.Name).
				Int("attempt", attempt+1).Dur("backoff", backoff).Msg("batch failed; retrying on a fresh batch")
		} else {
			l.log.Warn().Err(err).Str("table", t.Name).Int("attempt", attempt+1).Dur("backoff", backoff).Msg("batch failed; retrying on a fresh batch")
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("load %s.%s: %w", l.opts.Target.Database, t.Name, ctx.Err())
		case <-time.After(jitter(backoff)):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
	what := "failed"
	if Retryable(lastErr) {
		what = fmt.Sprintf("failed after %d attempts", l.opts.MaxRetries+1)
	}
	return 0, fmt.Errorf("load %s.%s rows %d-%d %s: %w", l.opts.Target.Database, t.Name, offset+1, offset+n, what, lastErr)
}

func (l *Loader) sendOnce(ctx context.Context, query string, fill func(driver.Batch, uint64, time.Time) error, version uint64) (err error) {
	batch, err := l.conn.PrepareBatch(ctx, query)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = batch.Abort()
		}
	}()
	if err := fill(batch, version, time.Now().UTC()); err != nil {
		return err
	}
	return batch.Send()
}

// fastDecimals replaces each non-nil *decimal.Decimal in vals by a value
// clickhouse-go appends without text. clickhouse-go asks a Nullable column's
// value whether it is NULL through driver.Valuer, and decimal's Valuer
// formats the number as text that the Decimal column then parses back, a
// round trip that cost more than the append itself.
func fastDecimals(vals []any) {
	for i, v := range vals {
		if d, ok := v.(*decimal.Decimal); ok && d != nil {
			vals[i] = decimalValue{d}
		}
	}
}

// decimalValue answers driver.Valuer with the decimal itself, which
// clickhouse-go's Decimal column takes as it is. It holds a pointer, so
// boxing it allocates nothing.
type decimalValue struct{ d *decimal.Decimal }

// Value implements driver.Valuer.
func (v decimalValue) Value() (sqldriver.Value, error) { return *v.d, nil }

// retryableCodes are ClickHouse exception codes after which the same INSERT can
// succeed: overload, timeouts, network trouble and replica states.
var retryableCodes = map[int32]string{
	159: "TIMEOUT_EXCEEDED",
	164: "READONLY", // a replica switching to read-only while Keeper reconnects
	202: "TOO_MANY_SIMULTANEOUS_QUERIES",
	203: "NO_FREE_CONNECTION",
	209: "SOCKET_TIMEOUT",
	210: "NETWORK_ERROR",
	236: "ABORTED",
	241: "MEMORY_LIMIT_EXCEEDED",
	242: "TABLE_IS_READ_ONLY",
	252: "TOO_MANY_PARTS",
	285: "TOO_FEW_LIVE_REPLICAS",
	319: "UNKNOWN_STATUS_OF_INSERT",
	425: "SYSTEM_ERROR",
	999: "KEEPER_EXCEPTION",
}

// Retryable tells whether err is worth resending the batch for: a retryable
// ClickHouse exception code, or a connection that failed or dropped.
func Retryable(err error) bool {
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		_, ok := retryableCodes[ex.Code]
		return ok
	}
	return Unreachable(err)
}

func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

var lastVersion atomic.Uint64

// NewVersion returns a load version: increasing within a process, ordered by
// time across processes (microseconds shifted left, with random low bits so two
// processes in the same microsecond do not collide).
func NewVersion() uint64 {
	for {
		v := VersionAt(time.Now()) | rand.Uint64N(256)
		last := lastVersion.Load()
		if v <= last {
			v = last + 1
		}
		if lastVersion.CompareAndSwap(last, v) {
			return v
		}
	}
}

// VersionAt returns the lowest load version NewVersion gives at t: every
// version taken before t is lower.
func VersionAt(t time.Time) uint64 { return uint64(t.UnixMicro()) << 8 }

func withParams(ctx context.Context, params map[string]string) context.Context {
	return clickhouse.Context(ctx, clickhouse.WithParameters(params))
}

// exceptionNetworkError is ClickHouse's NETWORK_ERROR, which the embedded
// warehouse's gateway also answers while its engine is down.
const exceptionNetworkError = 210

// Unreachable reports whether err is the warehouse not answering at all
// (connection refused, reset or closed, no free connection, the gateway
// saying the engine is down) rather than refusing a statement. Callers
// treat it as an outage: every other statement would fail the same way.
func Unreachable(err error) bool {
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		return ex.Code == exceptionNetworkError
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, sqldriver.ErrBadConn) ||
		errors.Is(err, clickhouse.ErrAcquireConnTimeout)
}

// UnreachableReason is a short cause of an Unreachable error for a person
// ("connection refused"), without the driver's request details.
func UnreachableReason(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, sqldriver.ErrBadConn):
		return "connection closed"
	case errors.Is(err, clickhouse.ErrAcquireConnTimeout):
		return "no free connection"
	}
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		// Its first line: a distributed insert appends every shard's status.
		msg, _, _ := strings.Cut(ex.Message, "\n")
		return fmt.Sprintf("code %d: %s", ex.Code, strings.TrimSuffix(strings.TrimSpace(msg), ":"))
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return "timed out"
	}
	return "no answer"
}

package ingest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/ingest"
	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/warehouse"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/schema"
)

// failingBatch is a connection whose n-th batch (counting from 1) fails with
// a ClickHouse exception.
type failingBatch struct {
	driver.Conn
	batches atomic.Int32
	nth     int32
	code    int32
}

func (f *failingBatch) PrepareBatch(ctx context.Context, q string, opts ...driver.PrepareBatchOption) (driver.Batch, error) {
	if strings.Contains(q, "load_ga4_events") && f.batches.Add(1) == f.nth {
		return nil, &clickhouse.Exception{Code: f.code, Name: "injected", Message: "injected failure"}
	}
	return f.Conn.PrepareBatch(ctx, q, opts...)
}

// landsLate is a connection on which the batch before the n-th is still in
// flight when the n-th fails fatally. If the client gives that insert up, the
// server, which already has its rows, lands them a moment later, as
// ClickHouse does with an INSERT whose data arrived before the cancel.
type landsLate struct {
	driver.Conn
	batches  atomic.Int32
	nth      int32
	inFlight chan struct{}
	landed   sync.WaitGroup
}

func (c *landsLate) PrepareBatch(ctx context.Context, q string, opts ...driver.PrepareBatchOption) (driver.Batch, error) {
	if !strings.Contains(q, "load_ga4_events") {
		return c.Conn.PrepareBatch(ctx, q, opts...)
	}
	switch c.batches.Add(1) {
	case c.nth - 1:
		b, err := c.Conn.PrepareBatch(context.WithoutCancel(ctx), q, opts...)
		if err != nil {
			return nil, err
		}
		return &lateBatch{Batch: b, ctx: ctx, c: c}, nil
	case c.nth:
		<-c.inFlight
		return nil, &clickhouse.Exception{Code: 53, Name: "injected", Message: "injected failure"}
	}
	return c.Conn.PrepareBatch(ctx, q, opts...)
}

type lateBatch struct {
	driver.Batch
	ctx  context.Context
	c    *landsLate
	late bool
}

func (b *lateBatch) Send() error {
	close(b.c.inFlight)
	select {
	case <-b.ctx.Done():
		b.late = true
		b.c.landed.Add(1)
		go func() {
			defer b.c.landed.Done()
			time.Sleep(time.Second)
			_ = b.Batch.Send()
		}()
		return b.ctx.Err()
	case <-time.After(300 * time.Millisecond):
		return b.Batch.Send()
	}
}

func (b *lateBatch) Abort() error {
	if b.late {
		return nil // the server goes on with it
	}
	return b.Batch.Abort()
}

// TestFailedImportWaitsForInsertsInFlight: when one batch of a file fails,
// the import waits for the batch its other sender has in flight instead of
// abandoning it, so cleanup deletes every row the server took; an insert
// given up mid-send could land after cleanup and stay staged for good.
func TestFailedImportWaitsForInsertsInFlight(t *testing.T) {
	ctx := context.Background()
	conn, cfg := warehousetest.Migrated(t, config.ProtocolNative)
	db := cfg.ClickHouse.Database
	var body strings.Builder
	for i := range 95 {
		fmt.Fprintf(&body, `{"event_date":"20240510","event_timestamp":"%d","event_name":"page_view","user_pseudo_id":"u%d"}`+"\n", 1715335200000000+i, i)
	}
	path := filepath.Join(t.TempDir(), "events.ndjson")
	require.NoError(t, os.WriteFile(path, []byte(body.String()), 0o644))
	late := &landsLate{Conn: conn, nth: 4, inFlight: make(chan struct{})}
	im := ingest.New(late, ingest.Options{Target: schema.Target{Database: db}, BatchSize: 10,
		Load: load.Options{MaxRetries: 2, RetryBackoff: 1}})
	_, err := im.Import(ctx, path, formats()["ga4"], "in-flight")
	require.ErrorContains(t, err, "nothing of the file was imported")
	late.landed.Wait()
	var n uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM "+db+".load_ga4_events WHERE file_key = 'in-flight'").Scan(&n))
	require.Zero(t, n, "rows staged after cleanup")
}

// TestWarehouseFailsMidImport: a batch that ClickHouse refuses in the middle
// of a file, while other batches of it are in flight, is retried when the
// code says retrying can help, and the file lands whole, once; otherwise the
// import fails with ClickHouse's code, names the file, and nothing of it is
// visible or left staged.
func TestWarehouseFailsMidImport(t *testing.T) {
	ctx := context.Background()
	conn, cfg := warehousetest.Migrated(t, config.ProtocolNative)
	db := cfg.ClickHouse.Database
	var body strings.Builder
	const events = 95
	for i := range events {
		fmt.Fprintf(&body, `{"event_date":"20240510","event_timestamp":"%d","event_name":"page_view","user_pseudo_id":"u%d"}`+"\n", 1715335200000000+i, i)
	}
	path := filepath.Join(t.TempDir(), "events.ndjson")
	require.NoError(t, os.WriteFile(path, []byte(body.String()), 0o644))
	count := func(q string, args ...any) uint64 {
		var n uint64
		require.NoError(t, conn.QueryRow(ctx, q, args...).Scan(&n))
		return n
	}
	importer := func(c driver.Conn) *ingest.Importer {
		return ingest.New(c, ingest.Options{Target: schema.Target{Database: db}, BatchSize: 10,
			Load: load.Options{MaxRetries: 2, RetryBackoff: 1}})
	}

	fatal := &failingBatch{Conn: conn, nth: 4, code: 53} // TYPE_MISMATCH: retrying cannot help
	_, err := importer(fatal).Import(ctx, path, formats()["ga4"], "refused")
	require.Error(t, err)
	require.Contains(t, err.Error(), path)
	require.Contains(t, err.Error(), "nothing of the file was imported")
	code, ok := warehouse.ExceptionCode(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, int32(53), code)
	require.Zero(t, count("SELECT count() FROM "+db+".import_commits WHERE file_key = 'refused'"))
	require.Zero(t, count("SELECT count() FROM "+db+".load_ga4_events WHERE file_key = 'refused'"), "the staged batches are deleted")

	retried := &failingBatch{Conn: conn, nth: 4, code: 202} // TOO_MANY_SIMULTANEOUS_QUERIES
	res, err := importer(retried).Import(ctx, path, formats()["ga4"], "retried")
	require.NoError(t, err)
	require.Equal(t, int64(events), res.Rows)
	require.Equal(t, uint64(events), count("SELECT count() FROM "+db+".load_ga4_events FINAL WHERE file_key = 'retried' AND load_version = ?", res.Version))
	require.Equal(t, uint64(events), count("SELECT uniqExact(line) FROM "+db+".load_ga4_events FINAL WHERE file_key = 'retried' AND load_version = ?", res.Version))
}

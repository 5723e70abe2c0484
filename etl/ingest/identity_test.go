package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/ingest"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/schema"
)

// TestFileIdentity: the same content under a known name, gzipped or not,
// changes nothing; other content under a known name (June's export saved
// as May's file name) is refused, naming what it would replace, unless the
// caller says to replace.
func TestFileIdentity(t *testing.T) {
	ctx := context.Background()
	conn, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
	db := cfg.ClickHouse.Database
	target := schema.Target{Database: db}
	dir := t.TempDir()
	write := func(name string, body []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, body, 0o644))
		return p
	}
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		_, _ = w.Write(b)
		require.NoError(t, w.Close())
		return buf.Bytes()
	}
	orders := formats()["orders"]
	may := []byte(shHead + shRow)
	june := []byte(shHead + "#2001,b@example.com,paid,EUR,20.00,20.00,0.00,2025-06-02 10:00:00 -0400,1,Wax,20.00,WAX,\n")

	im := ingest.New(conn, ingest.Options{Target: target})
	first, err := im.Import(ctx, write("orders_export.csv", may), orders, "")
	require.NoError(t, err)
	require.False(t, first.Unchanged)
	snap := snapshot(t, ctx, conn, db)

	again, err := im.Import(ctx, write("orders_export.csv.gz", gz(may)), orders, "")
	require.NoError(t, err)
	require.True(t, again.Unchanged, "the same content gzipped is the same file")
	require.Equal(t, first.SHA256, again.SHA256)
	require.Equal(t, snap, snapshot(t, ctx, conn, db))

	_, err = im.Import(ctx, write("orders_export.csv", june), orders, "")
	require.ErrorContains(t, err, `orders "orders_export.csv" was imported before with other content (2 rows, imported`)
	require.ErrorContains(t, err, "--replace")
	require.Equal(t, snap, snapshot(t, ctx, conn, db), "May's orders are still there")

	replacing := ingest.New(conn, ingest.Options{Target: target, Replace: true})
	res, err := replacing.Import(ctx, write("orders_export.csv", june), orders, "")
	require.NoError(t, err)
	require.True(t, res.Replaced)
	var ids []string
	rows, err := conn.Query(ctx, "SELECT order_id FROM "+db+".shop_orders ORDER BY order_id")
	require.NoError(t, err)
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.Equal(t, []string{"#2001"}, ids, "a replacement replaces the file as a whole")
}

package queries_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
)

// biViews lists the BI views of a database, with the arguments a
// parameterised one needs.
func biViews(t *testing.T, conn driver.Conn, db string) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(),
		"SELECT name FROM system.tables WHERE database = ? AND name LIKE 'bi\\_%' ORDER BY name", db)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		if n == "bi_drilldown" {
			n += "(date_from = '2024-02-01', date_to = '2024-03-31')"
		}
		out = append(out, n)
	}
	require.NoError(t, rows.Err())
	return out
}

// contents returns every row of a view as sorted text.
func contents(t *testing.T, conn driver.Conn, db, view string) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), fmt.Sprintf("SELECT toString(tuple(*)) AS r FROM %s.%s ORDER BY r", db, view))
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}

// TestReloadsNeverDrift loads a window, re-loads it three times with changed
// numbers and with rows that vanished, and requires every BI view to equal
// the same views over one clean load of the final data.
func TestReloadsNeverDrift(t *testing.T) {
	warehousetest.ForEachProtocol(t, func(t *testing.T, proto config.Protocol) {
		first := genDataset(10, parityAdvertisers[:2], 2, 2, 3, day0, 10)
		final := genDataset(11, parityAdvertisers[:2], 2, 2, 3, day0, 10)
		final.dropAds(5)

		reloaded, rcfg := setup(t, proto)
		first.load(t, reloaded, rcfg)
		final.load(t, reloaded, rcfg)
		first.load(t, reloaded, rcfg) // an older pull loaded again ...
		final.load(t, reloaded, rcfg) // ... and the newest once more

		clean, ccfg := setup(t, proto)
		final.load(t, clean, ccfg)

		views := biViews(t, clean, ccfg.ClickHouse.Database)
		require.Len(t, views, 18)
		for _, v := range views {
			want := contents(t, clean, ccfg.ClickHouse.Database, v)
			if !strings.Contains(v, "hourly") { // the dataset is daily only
				require.NotEmpty(t, want, v)
			}
			require.Equal(t, want, contents(t, reloaded, rcfg.ClickHouse.Database, v), "%s drifted after re-loads", v)
		}
	})
}

package schema_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/schema"
)

// TestCatalogMatchesLiveTables: after every migration, each statistics
// table holds exactly the catalog's columns, in its order, with its types and
// comments; and a migration never adds a column the catalog does not know.
func TestCatalogMatchesLiveTables(t *testing.T) {
	conn, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
	ctx := context.Background()
	inCatalog := map[string]schema.StatColumn{}
	for _, c := range schema.StatColumns {
		inCatalog[c.Name] = c
	}
	structural := map[string]bool{"advertiser_id": true, "campaign_id": true, "adgroup_id": true, "ad_id": true,
		"stat_date": true, "stat_hour": true, "stat_time_utc": true, "timezone": true, "currency": true,
		"extra_metrics": true, "load_version": true, "loaded_at": true}
	for _, g := range schema.Granularities {
		for _, l := range schema.Levels {
			table := schema.StatsTable(l.Name, g)
			rows, err := conn.Query(ctx, "SELECT name, type, comment FROM system.columns WHERE database = ? AND table = ? ORDER BY position",
				cfg.ClickHouse.Database, table)
			require.NoError(t, err)
			var got []schema.StatColumn
			for rows.Next() {
				var name, typ, comment string
				require.NoError(t, rows.Scan(&name, &typ, &comment))
				if structural[name] {
					continue
				}
				c, ok := inCatalog[name]
				require.True(t, ok, "%s.%s is not in schema.StatColumns", table, name)
				require.Equal(t, c.Type(), typ, "%s.%s type", table, name)
				require.Equal(t, c.Doc, comment, "%s.%s comment", table, name)
				got = append(got, c)
			}
			require.NoError(t, rows.Err())
			require.Equal(t, schema.StatColumns, got, "%s holds the catalog's columns in its order", table)
		}
	}
}

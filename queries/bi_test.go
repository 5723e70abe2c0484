package queries_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/warehouse"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/queries"
	"github.com/adhouse/adhouse/schema"
)

// TestBIUser runs on an engine of its own: it tries a wrong password, and the
// BI user's grant names the database fixed when the engine starts.
func TestBIUser(t *testing.T) {
	st := warehousetest.Private(t)
	ctx := context.Background()
	info, err := os.Stat(filepath.Join(st.Dir, "bi.password"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the generated BI password is private")

	admin := config.Default()
	admin.Warehouse.Dir, admin.ClickHouse.Protocol = st.Dir, config.ProtocolHTTP
	db := admin.ClickHouse.Database
	conn, _, err := warehouse.Connect(ctx, admin)
	require.NoError(t, err)
	defer conn.Close()
	target := schema.Target{Database: db}
	_, err = schema.Migrate(ctx, conn, target)
	require.NoError(t, err)
	require.NoError(t, queries.Apply(ctx, conn, target))
	require.NoError(t, queries.Apply(ctx, conn, target), "applying twice is harmless")
	ds := genDataset(3, parityAdvertisers[:1], 2, 2, 2, day0, 3)
	ds.load(t, conn, admin)

	biPassword, err := warehouse.BIPassword(st.Dir)
	require.NoError(t, err)
	as := func(t *testing.T, proto config.Protocol, password string) (*config.Config, error) {
		cfg := config.Default()
		addr := st.NativeAddr()
		if proto == config.ProtocolHTTP {
			addr = st.HTTPAddr()
		}
		cfg.ClickHouse.Embedded, cfg.ClickHouse.Addr, cfg.ClickHouse.Protocol = false, []string{addr}, proto
		cfg.ClickHouse.User, cfg.ClickHouse.Password = warehouse.BIUser, config.Secret(password)
		return &cfg, nil
	}

	warehousetest.ForEachProtocol(t, func(t *testing.T, proto config.Protocol) {
		cfg, _ := as(t, proto, biPassword)
		bi, _, err := warehouse.Connect(ctx, *cfg)
		require.NoError(t, err)
		defer bi.Close()

		var n, want uint64
		require.NoError(t, bi.QueryRow(ctx, "SELECT count() FROM "+db+".bi_campaign_daily").Scan(&n))
		require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM "+db+".campaign_stats_daily").Scan(&want))
		require.Equal(t, want, n, "the BI user reads a BI table in full")
		require.Equal(t, uint64(2*3), n)
		require.NoError(t, bi.QueryRow(ctx, "SELECT count() FROM "+db+".bi_drilldown(date_from = '2024-02-20', date_to = '2024-02-22')").Scan(&n))
		require.Equal(t, uint64(2+4+8), n, "and the parameterised drill-down")

		for _, tc := range []struct {
			name, sql string
			codes     []int32
		}{
			{"statistics table", "SELECT count() FROM " + db + ".load_ad_stats_daily", []int32{497}},
			{"one-copy statistics view", "SELECT count() FROM " + db + ".ad_stats_daily", []int32{497}},
			{"entity table", "SELECT count() FROM " + db + ".campaigns", []int32{497}},
			{"load bookkeeping", "SELECT count() FROM " + db + ".load_commits", []int32{497}},
			{"insert", "INSERT INTO " + db + ".load_commits (table_name) VALUES ('x')", []int32{497, 164}},
			{"create", "CREATE TABLE " + db + ".bi_mine (n UInt8) ENGINE = Memory", []int32{497, 164}},
			// The BI names are tables, which the BI user reads and nothing else.
			{"drop a BI table", "DROP TABLE " + db + ".bi_campaign_daily", []int32{497, 164}},
			{"truncate a BI table", "TRUNCATE TABLE " + db + ".bi_campaign_daily", []int32{497, 164}},
			{"insert into a BI table", "INSERT INTO " + db + ".bi_campaign_daily (advertiser_id) VALUES ('x')", []int32{497, 164}},
			{"delete from a BI table", "DELETE FROM " + db + ".bi_campaign_daily WHERE 1", []int32{497, 164}},
			{"alter a BI table", "ALTER TABLE " + db + ".bi_campaign_daily DROP PARTITION ID 'all'", []int32{497, 164}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := bi.Exec(ctx, tc.sql)
				require.Error(t, err)
				code, ok := warehouse.ExceptionCode(err)
				require.True(t, ok, "%v", err)
				require.Contains(t, tc.codes, code, "%v", err) // ACCESS_DENIED or READONLY
			})
		}
	})

	// Only over HTTP: a failed native login makes chDB 26.7 abort.
	t.Run("wrong password", func(t *testing.T) {
		cfg, _ := as(t, config.ProtocolHTTP, "not-the-password")
		_, _, err := warehouse.Connect(ctx, *cfg)
		require.Error(t, err)
		code, ok := warehouse.ExceptionCode(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, int32(516), code) // AUTHENTICATION_FAILED
		require.NotContains(t, err.Error(), "not-the-password")
	})
}

// TestBIRoleSQL checks the statements for a real server: they grant the BI
// views by prefix and nothing else, cap every limit a BI session could
// otherwise lift, render for a cluster, and each one parses in ClickHouse.
func TestBIRoleSQL(t *testing.T) {
	conn, _ := warehousetest.Open(t, config.ProtocolHTTP)
	profile := warehouse.NewBIProfile(config.Default().BI, 2)
	for _, tc := range []struct {
		target schema.Target
		want   []string
	}{
		{schema.Target{Database: "adhouse"}, []string{
			"GRANT SELECT ON adhouse.bi_*, SELECT ON information_schema.*", "readonly = 2", "CREATE USER IF NOT EXISTS adhouse_bi",
			"max_execution_time = 300 MIN 1 MAX 300", "max_memory_usage = 4294967296 MIN 1 MAX 4294967296",
			"max_result_rows = 10000000 MIN 1 MAX 10000000", "max_threads = 2 MIN 1 MAX 2",
			"max_concurrent_queries_for_user = 8 CONST", "cancel_http_readonly_queries_on_client_close = 1 CONST",
			"output_format_json_quote_decimals = 1", "MAX queries = 36000, execution_time = 7200, result_rows = 1000000000"}},
		{schema.Target{Database: "ads", Cluster: "c1"}, []string{"GRANT ON CLUSTER `c1` SELECT ON ads.bi_*", "CREATE ROLE IF NOT EXISTS adhouse_bi_reader ON CLUSTER `c1`",
			"CREATE QUOTA IF NOT EXISTS adhouse_bi_quota ON CLUSTER `c1`"}},
	} {
		sql, err := queries.BIRoleSQL(tc.target, profile)
		require.NoError(t, err)
		for _, w := range tc.want {
			require.Contains(t, sql, w)
		}
		statements := schema.SplitStatements(sql)
		require.Len(t, statements, 6)
		require.NotContains(t, sql, "load_")
		for _, stmt := range statements {
			var formatted string
			require.NoError(t, conn.QueryRow(context.Background(), "SELECT formatQuery({q:String})", clickhouse.Named("q", stmt)).Scan(&formatted), stmt)
			require.NotEmpty(t, formatted)
		}
	}
}

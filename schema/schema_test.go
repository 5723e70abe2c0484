package schema_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestGoldenDDL pins the rendered DDL for a single server and for a cluster
// in each mode. The sharded form runs for real in etl/cluster's tests; the
// replicated form against ZooKeeper in TestReplicatedDDLAgainstKeeper.
func TestGoldenDDL(t *testing.T) {
	for _, tc := range []struct {
		golden string
		target schema.Target
	}{
		{"single.golden.sql", schema.Target{Database: "adhouse"}},
		{"cluster.golden.sql", schema.Target{Database: "adhouse", Cluster: "ads_cluster"}},
		{"sharded.golden.sql", schema.Target{Database: "adhouse", Cluster: "ads_cluster", Sharded: true}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			var b strings.Builder
			boot, err := schema.Bootstrap(tc.target)
			require.NoError(t, err)
			for _, s := range boot {
				b.WriteString(s + ";\n\n")
			}
			ms, err := schema.Migrations(tc.target)
			require.NoError(t, err)
			for _, m := range ms {
				b.WriteString("-- migration " + m.Name + "\n")
				for _, s := range m.Statements {
					b.WriteString(s + ";\n\n")
				}
			}
			got := b.String()
			path := filepath.Join("testdata", tc.golden)
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./schema -update to create it")
			if got != string(want) {
				_ = os.WriteFile(path+".FAIL", []byte(got), 0o644)
				t.Fatalf("rendered DDL differs from %s (see %s.FAIL)", path, path)
			}
		})
	}
}

func TestClusterDDLShape(t *testing.T) {
	ms, err := schema.Migrations(schema.Target{Database: "adhouse", Cluster: "c1"})
	require.NoError(t, err)
	for _, m := range ms {
		for _, s := range m.Statements {
			body := stripLeadingComments(s)
			if strings.HasPrefix(strings.TrimSpace(body), "INSERT") {
				continue // seed data goes through the Distributed table, once
			}
			require.Contains(t, body, "ON CLUSTER `c1`", "DDL without ON CLUSTER:\n%s", s)
			if strings.Contains(body, "MergeTree") {
				require.Contains(t, body, "Replicated", "non-replicated engine on a cluster:\n%s", s)
			}
		}
	}
}

// TestShardedDDLShape: in sharded mode no statement goes through the
// distributed DDL queue and no engine needs Keeper; every table that holds
// rows is a _local table behind a Distributed one.
func TestShardedDDLShape(t *testing.T) {
	target := schema.Target{Database: "adhouse", Cluster: "c1", Sharded: true}
	boot, err := schema.Bootstrap(target)
	require.NoError(t, err)
	ms, err := schema.Migrations(target)
	require.NoError(t, err)
	stmts := boot
	for _, m := range ms {
		stmts = append(stmts, m.Statements...)
	}
	locals, distributed := map[string]bool{}, map[string]bool{}
	for _, s := range stmts {
		body := stripLeadingComments(s)
		require.NotContains(t, body, "ON CLUSTER", s)
		require.NotContains(t, body, "Replicated", s)
		if m := createTable.FindStringSubmatch(body); m != nil {
			if strings.HasSuffix(m[1], "_local") {
				locals[strings.TrimSuffix(m[1], "_local")] = true
			} else if strings.Contains(body, "ENGINE = Distributed(`c1`") {
				distributed[m[1]] = true
			}
		}
	}
	require.NotEmpty(t, locals)
	require.Equal(t, locals, distributed, "every _local table has its Distributed table")
}

var createTable = regexp.MustCompile(`CREATE TABLE IF NOT EXISTS adhouse\.([a-z0-9_]+)`)

func stripLeadingComments(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestMigrateIdempotentAndConcurrent(t *testing.T) {
	warehousetest.ForEachProtocol(t, func(t *testing.T, proto config.Protocol) {
		conn, cfg := warehousetest.Open(t, proto)
		target := schema.Target{Database: cfg.ClickHouse.Database}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()

		// Four processes' worth of migrators race on an empty database.
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = schema.Migrate(ctx, conn, target)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		tables := tableCount(t, conn, cfg.ClickHouse.Database)

		// Running again applies nothing and changes nothing.
		applied, err := schema.Migrate(ctx, conn, target)
		require.NoError(t, err)
		require.Empty(t, applied)
		require.Equal(t, tables, tableCount(t, conn, cfg.ClickHouse.Database))

		statuses, err := schema.Status(ctx, conn, target)
		require.NoError(t, err)
		for _, st := range statuses {
			require.NotNil(t, st.Applied, "migration %d not recorded", st.Version)
			require.False(t, st.Modified)
		}
		var engine string
		require.NoError(t, conn.QueryRow(ctx, "SELECT engine FROM system.databases WHERE name = ?", cfg.ClickHouse.Database).Scan(&engine))
		require.Equal(t, "Atomic", engine)
	})
}

func tableCount(t *testing.T, conn driver.Conn, db string) uint64 {
	t.Helper()
	var n uint64
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT count() FROM system.tables WHERE database = ?", db).Scan(&n))
	require.NotZero(t, n)
	return n
}

// TestCommitLogLogsEveryCommit: migration 0009 logs the commits load_commits
// holds when it runs, and every commit after it, each once, including a
// day's older commits that load_commits merges away, and run again it logs
// nothing twice.
func TestCommitLogLogsEveryCommit(t *testing.T) {
	conn, cfg := warehousetest.Open(t, config.ProtocolNative)
	db := cfg.ClickHouse.Database
	target := schema.Target{Database: db}
	ctx := context.Background()
	_, err := schema.Migrate(ctx, conn, target)
	require.NoError(t, err)
	commit := func(version uint64) {
		require.NoError(t, conn.Exec(ctx, "INSERT INTO "+db+".load_commits (table_name, advertiser_id, stat_date, window_version, batch_versions, row_count, window_from, window_to, run_id, committed_at) "+
			"VALUES ('load_ad_stats_daily', 'a1', '2026-11-01', ?, [?], 1, '2026-11-01', '2026-11-01', 'test', now64(3))", version, version))
	}
	logged := func() []uint64 {
		var vs []uint64
		require.NoError(t, conn.QueryRow(ctx, "SELECT groupArraySorted(100)(window_version) FROM "+db+".load_commit_log FINAL").Scan(&vs))
		return vs
	}
	// A warehouse from before 0009, with a commit made then.
	require.NoError(t, conn.Exec(ctx, "DROP TABLE "+db+".load_commit_log_mv SYNC"))
	require.NoError(t, conn.Exec(ctx, "DROP TABLE "+db+".load_commit_log SYNC"))
	require.NoError(t, conn.Exec(ctx, "DELETE FROM "+db+".schema_migrations WHERE version = 9"))
	commit(1)
	applied, err := schema.Migrate(ctx, conn, target)
	require.NoError(t, err)
	require.Len(t, applied, 1)
	require.Equal(t, []uint64{1}, logged(), "the commit made before the migration")
	commit(2)
	commit(3)
	require.NoError(t, conn.Exec(ctx, "OPTIMIZE TABLE "+db+".load_commits FINAL"))
	var kept uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM "+db+".load_commits").Scan(&kept))
	require.EqualValues(t, 1, kept)
	require.Equal(t, []uint64{1, 2, 3}, logged())
	// Run again (say, after a failure past its INSERT), it logs nothing twice.
	require.NoError(t, conn.Exec(ctx, "DELETE FROM "+db+".schema_migrations WHERE version = 9"))
	applied, err = schema.Migrate(ctx, conn, target)
	require.NoError(t, err)
	require.Len(t, applied, 1)
	require.Equal(t, []uint64{1, 2, 3}, logged())
}

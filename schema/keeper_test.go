package schema_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/warehouse"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/schema"
)

// zooKeeperJar is Debian's ZooKeeper (apt-get install zookeeper; .ci/run
// installs it).
const zooKeeperJar = "/usr/share/java/zookeeper.jar"

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startZooKeeper runs a standalone ZooKeeper on a free loopback port for the
// length of the test and returns the port.
func startZooKeeper(t *testing.T) int {
	t.Helper()
	if _, err := os.Stat(zooKeeperJar); err != nil {
		warehousetest.Unavailable(t, fmt.Errorf("ZooKeeper is not installed (apt-get install zookeeper): %w", err))
	}
	port := freePort(t)
	cmd := exec.Command("java", "-Dzookeeper.4lw.commands.whitelist=ruok", "-cp", "/etc/zookeeper/conf:"+zooKeeperJar,
		"org.apache.zookeeper.server.ZooKeeperServerMain", fmt.Sprint(port), t.TempDir())
	log, err := os.Create(filepath.Join(t.TempDir(), "zookeeper.log"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = log, log
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	// The port opens before the server takes sessions; "imok" says it does.
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("ruok")); err != nil {
			return false
		}
		b, _ := io.ReadAll(c)
		return string(b) == "imok"
	}, time.Minute, 100*time.Millisecond, "ZooKeeper did not become ready")
	return port
}

// TestReplicatedDDLAgainstKeeper checks the replicated mode's DDL with a real
// server, beyond the golden text: an embedded engine configured with Debian's
// ZooKeeper, macros and a one-shard cluster accepts every bootstrap and
// migration statement (ON CLUSTER stripped: the embedded engine has no
// distributed DDL worker, which a production cluster runs), and every
// Replicated table registers its path in Keeper. What it cannot show: the
// embedded engine keeps Replicated tables read-only (it runs no replication
// threads), so an ALTER of one is checked by ClickHouse (checkAlterIsPossible:
// columns, types, AFTER targets) and then refused with TABLE_IS_READ_ONLY
// (242), which the test accepts for ALTERs only; rows, replication and the
// DDL queue are not exercised here. docs/operating.md says so.
func TestReplicatedDDLAgainstKeeper(t *testing.T) {
	zk := startZooKeeper(t)
	tcp := freePort(t)
	dir := t.TempDir()
	const cluster = "ads_cluster"
	secret := fmt.Sprintf("k%d", time.Now().UnixNano())
	keeper := fmt.Sprintf(`<clickhouse>
    <zookeeper><node><host>127.0.0.1</host><port>%d</port></node><session_timeout_ms>30000</session_timeout_ms><connection_timeout_ms>10000</connection_timeout_ms></zookeeper>
    <macros><shard>01</shard><replica>r1</replica></macros>
    <remote_servers><%[2]s><secret>%[3]s</secret><shard><replica><host>127.0.0.1</host><port>%[4]d</port></replica></shard></%[2]s></remote_servers>
</clickhouse>
`, zk, cluster, secret, tcp)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "config.d"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.d", "keeper.xml"), []byte(keeper), 0o600))
	st := warehousetest.PrivateWith(t, dir, func(o *warehouse.EngineOptions) { o.Native, o.TCPPort = true, tcp })

	cfg := config.Default()
	cfg.Warehouse.Dir = st.Dir
	cfg.ClickHouse.Protocol = config.ProtocolNative
	ctx := context.Background()
	conn, _, err := warehouse.Connect(ctx, cfg)
	require.NoError(t, err)
	defer conn.Close()

	target := schema.Target{Database: "adhouse", Cluster: cluster}
	boot, err := schema.Bootstrap(target)
	require.NoError(t, err)
	ms, err := schema.Migrations(target)
	require.NoError(t, err)
	stmts := boot
	for _, m := range ms {
		stmts = append(stmts, m.Statements...)
	}
	onCluster := " ON CLUSTER `" + cluster + "`"
	ran, inserts, readOnly := 0, 0, 0
	wouldAdd := map[string][]string{}
	began := time.Now()
	for _, s := range stmts {
		body := strings.TrimSpace(stripLeadingComments(s))
		if strings.HasPrefix(body, "INSERT") {
			inserts++ // rows: the read-only replicas cannot take them
			continue
		}
		require.Contains(t, s, onCluster, "a replicated-mode statement without ON CLUSTER")
		err := conn.Exec(ctx, strings.ReplaceAll(s, onCluster, ""))
		// A loaded machine can miss the first session handshake (999,
		// KEEPER_EXCEPTION); the engine connects again on the next query.
		for try := 0; try < 10; try++ {
			if code, _ := warehouse.ExceptionCode(err); code != 999 {
				break
			}
			time.Sleep(time.Second)
			err = conn.Exec(ctx, strings.ReplaceAll(s, onCluster, ""))
		}
		table := ""
		if f := strings.Fields(body); len(f) > 2 && f[0] == "ALTER" {
			table = f[2]
		}
		code, _ := warehouse.ExceptionCode(err)
		switch {
		case code == 242 && strings.HasSuffix(table, "_local"):
			wouldAdd[table] = append(wouldAdd[table], addedColumns(body)...) // checked, then refused by the read-only replica
			readOnly++
			continue
		case code == 16 && mentionsAny(err.Error(), wouldAdd[table]):
			readOnly++ // names a column only a refused ALTER would have added
			continue
		}
		require.NoError(t, err, "statement:\n%s", s)
		ran++
	}

	var replicated uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM system.replicas WHERE database = 'adhouse'").Scan(&replicated))
	var tables uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = 'adhouse' AND engine LIKE 'Replicated%'").Scan(&tables))
	require.Positive(t, tables)
	require.Equal(t, tables, replicated, "every Replicated table is a replica")
	// The tables' paths, as ZooKeeper itself lists them.
	out, err := exec.Command("java", "-cp", "/etc/zookeeper/conf:"+zooKeeperJar, "org.apache.zookeeper.ZooKeeperMain",
		"-server", fmt.Sprintf("127.0.0.1:%d", zk), "ls", "/clickhouse/tables/01/adhouse").CombinedOutput()
	require.NoError(t, err, "%s", out)
	list := string(out)
	if i := strings.LastIndex(list, "["); i >= 0 {
		list = list[i:]
	}
	rows, err := conn.Query(ctx, "SELECT table FROM system.replicas WHERE database = 'adhouse'")
	require.NoError(t, err)
	for rows.Next() {
		var table string
		require.NoError(t, rows.Scan(&table))
		require.Contains(t, list, table, "ZooKeeper has no path for %s", table)
	}
	require.NoError(t, rows.Err())
	rows.Close()
	t.Logf("replicated mode: %d DDL statements run in %s, %d ALTERs of Replicated tables checked up to the read-only replica, %d INSERTs not run; %d Replicated tables registered in ZooKeeper",
		ran, time.Since(began).Round(time.Millisecond), readOnly, inserts, tables)
}

// addedColumns lists the columns an ALTER statement adds.
func addedColumns(alter string) []string {
	var cols []string
	for _, m := range addColumn.FindAllStringSubmatch(alter, -1) {
		cols = append(cols, m[1])
	}
	return cols
}

var addColumn = regexp.MustCompile(`ADD COLUMN (?:IF NOT EXISTS )?([A-Za-z_][A-Za-z0-9_]*)`)

// mentionsAny reports whether msg names one of cols as a whole word.
func mentionsAny(msg string, cols []string) bool {
	for _, c := range cols {
		if regexp.MustCompile(`\b` + regexp.QuoteMeta(c) + `\b`).MatchString(msg) {
			return true
		}
	}
	return false
}

package extract_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/attribution"
	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/export"
	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/ga4"
	"github.com/adhouse/adhouse/etl/ingest"
	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/shop"
	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim/simtest"
	"github.com/adhouse/adhouse/etl/warehouse"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/queries"
	"github.com/adhouse/adhouse/schema"
)

// shardedCluster is two embedded engines on loopback forming the cluster
// "adhouse_shards", each one shard, authenticated to each other by a secret.
type shardedCluster struct {
	cfg    config.Config
	nodes  []warehouse.State
	start  []time.Duration // each node's start-up
	secret string
}

func startShardedCluster(t *testing.T) *shardedCluster {
	t.Helper()
	ports := make([]int, 2)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ports[i] = l.Addr().(*net.TCPAddr).Port
		require.NoError(t, l.Close())
	}
	c := &shardedCluster{secret: fmt.Sprintf("s%d", time.Now().UnixNano())}
	shards := []string{"127.0.0.1:" + strconv.Itoa(ports[0]), "127.0.0.1:" + strconv.Itoa(ports[1])}
	var first string
	for i, port := range ports {
		dir := t.TempDir()
		if first != "" {
			// One set of users on every node: node-to-node queries carry the
			// initial user's name, and adhouse logs in to each node.
			for _, f := range []string{"admin.password", "bi.password"} {
				b, err := os.ReadFile(filepath.Join(first, f))
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o600))
			}
		}
		began := time.Now()
		st := warehousetest.PrivateWith(t, dir, c.configure(port, shards))
		c.start = append(c.start, time.Since(began))
		c.nodes = append(c.nodes, st)
		if i == 0 {
			first = dir
		}
	}
	pw, err := warehouse.AdminPassword(first)
	require.NoError(t, err)
	cfg := config.Default()
	cfg.ClickHouse.Embedded = false
	cfg.ClickHouse.Protocol = config.ProtocolNative
	cfg.ClickHouse.Addr = shards
	cfg.ClickHouse.User = warehouse.AdminUser
	cfg.ClickHouse.Password = config.Secret(pw)
	cfg.ClickHouse.Database = "sharded"
	cfg.ClickHouse.Cluster = "adhouse_shards"
	cfg.ClickHouse.ClusterMode = config.ClusterSharded
	require.NoError(t, cfg.Validate())
	c.cfg = cfg
	return c
}

func (c *shardedCluster) configure(port int, shards []string) func(*warehouse.EngineOptions) {
	return func(o *warehouse.EngineOptions) {
		o.Native, o.TCPPort = true, port
		o.Database = "sharded"
		o.Cluster = &config.WarehouseCluster{Name: "adhouse_shards", Secret: config.Secret(c.secret), Shards: shards}
	}
}

func (c *shardedCluster) target() schema.Target {
	return schema.Target{Database: c.cfg.ClickHouse.Database, Cluster: c.cfg.ClickHouse.Cluster, Sharded: true}
}

// rssMB is the resident memory of the engine serving dir, in MB.
func rssMB(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	total := 0
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(dir)) {
			continue
		}
		status, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.Atoi(f[1])
				total += kb / 1024
			}
		}
	}
	return total
}

// side is one warehouse the scenario runs on: the cluster or a single node.
type side struct {
	name   string
	conn   driver.Conn
	target schema.Target
	shards []driver.Conn
}

func (s side) syncer(t *testing.T, srv *tiktoksim.Server, progress *extract.Progress) *extract.Syncer {
	t.Helper()
	api, err := tiktok.New(tiktok.Options{
		BaseURL: srv.BaseURL(), AccessToken: srv.AccessToken(),
		Limiter:    tiktok.NewLimiter(tiktok.LimiterConfig{QPS: 1000, QPM: 60000, AppPause: 10 * time.Millisecond, AdvertiserPause: 10 * time.Millisecond}),
		MaxRetries: 12, BackoffBase: time.Millisecond, BackoffMax: 20 * time.Millisecond, Timeout: 5 * time.Second,
	})
	require.NoError(t, err)
	loader := load.New(s.conn, load.Options{Target: s.target, Shards: s.shards, BatchSize: 500, MaxRetries: 3, RetryBackoff: 10 * time.Millisecond})
	return extract.New(api, loader, s.conn, extract.Options{
		Target: s.target, Levels: allLevels, Granularities: []tiktok.Granularity{tiktok.Daily, tiktok.Hourly},
		LookbackDays: 3, InitialDays: 6, WindowDays: 30, Concurrency: 4, Now: srv.Now, Progress: progress,
		Refresh: queries.NewRefresher(s.conn, s.target, queries.RefreshOptions{}).AfterRun,
	})
}

func (s side) sync(t *testing.T, srv *tiktoksim.Server) {
	t.Helper()
	_, err := s.syncer(t, srv, nil).Run(context.Background(), srv.AdvertiserIDs(), extract.Job{Name: "sync", Entities: true, Stats: true})
	require.NoError(t, err, s.name)
}

func (s side) importFiles(t *testing.T, files map[string]string) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, attribution.Save(ctx, s.conn, s.target, attribution.Settings{LookbackDays: 7, MatchBy: "id_or_name", ConversionEvents: []string{"purchase"}}))
	im := ingest.New(s.conn, ingest.Options{Target: s.target, Load: load.Options{Shards: s.shards}})
	dir := t.TempDir()
	rules := attribution.Rules{TikTokSources: []string{"tiktok"}, CampaignParam: "utm_campaign", AdGroupParam: "utm_term", AdParam: "utm_content"}
	formats := map[string]ingest.Format{
		"events.ndjson": ga4.NDJSON{Options: ga4.Options{Rules: rules, Currency: "USD"}},
		"orders.csv":    shop.Orders{Columns: config.Default().Imports.Orders, Rules: rules},
		"costs.csv":     shop.Costs{},
	}
	for _, name := range []string{"costs.csv", "events.ndjson", "orders.csv"} {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(files[name]), 0o600))
		_, err := im.Import(ctx, path, formats[name], "")
		require.NoError(t, err, "%s: %s", s.name, name)
	}
}

// contents reads every BI view, statistics view and import view of a side,
// each row as TSV, in a stable order.
func (s side) contents(t *testing.T, views []string) map[string][]string {
	t.Helper()
	ctx := context.Background()
	out := map[string][]string{}
	for _, v := range views {
		from := s.target.Database + "." + v
		if v == "bi_drilldown" {
			from += "(date_from = '2026-01-01', date_to = '2026-12-31')"
		}
		cols := s.dataColumns(t, v)
		rows, err := s.conn.Query(ctx, "SELECT formatRow('TSV', "+cols+") AS r FROM "+from+" ORDER BY r")
		require.NoError(t, err, "%s: %s", s.name, v)
		var lines []string
		for rows.Next() {
			var line string
			require.NoError(t, rows.Scan(&line))
			lines = append(lines, line)
		}
		require.NoError(t, rows.Err())
		rows.Close()
		out[v] = lines
	}
	return out
}

// runColumns say when or in which run a row was written; they differ
// between two runs of the same data and are left out of the comparison.
var runColumns = map[string]bool{"loaded_at": true, "load_version": true, "window_version": true, "batch_versions": true,
	"run_id": true, "updated_at": true, "started_at": true, "ended_at": true, "committed_at": true, "applied_at": true, "checked_at": true, "version": true}

// dataColumns lists view v's columns that hold data, not run bookkeeping.
func (s side) dataColumns(t *testing.T, v string) string {
	t.Helper()
	rows, err := s.conn.Query(context.Background(), "SELECT name FROM system.columns WHERE database = ? AND table = ? ORDER BY position", s.target.Database, v)
	require.NoError(t, err)
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		if !runColumns[name] {
			cols = append(cols, "`"+name+"`")
		}
	}
	require.NoError(t, rows.Err())
	if len(cols) == 0 {
		return "*" // a parameterized view lists no columns
	}
	return strings.Join(cols, ", ")
}

func (s side) exportCSV(t *testing.T) string {
	t.Helper()
	rows, err := export.Load(context.Background(), s.conn, s.target, export.Query{
		From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC), By: export.ByDay})
	require.NoError(t, err, s.name)
	var b bytes.Buffer
	require.NoError(t, export.WriteCSV(&b, rows))
	return b.String()
}

// compared views: every plain view and BI table of the single node's
// database that a reader uses (bi_*, statistics, imports, attribution).
func readerViews(t *testing.T, conn driver.Conn, db string) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), "SELECT name FROM system.tables WHERE database = ? AND (engine = 'View' OR startsWith(name, 'bi_')) ORDER BY name", db)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		out = append(out, name)
	}
	require.NoError(t, rows.Err())
	return out
}

// importFiles are small GA4, order and cost exports that credit the
// simulator's first campaigns, so the attribution views have rows.
func importFiles(srv *tiktoksim.Server) map[string]string {
	now := srv.Now()
	var ev, orders strings.Builder
	orders.WriteString("order_id,created_at,currency,revenue,refunded,fees,financial_status,cancelled_at,sku,quantity,price,utm_source,utm_campaign,utm_term\n")
	for i := range srv.AdvertiserIDs() {
		day := now.AddDate(0, 0, -2-i%5)
		campaign := fmt.Sprintf("camp-%d", i)
		fmt.Fprintf(&ev, `{"event_date":%q,"event_timestamp":"%d","event_name":"page_view","user_pseudo_id":"u%d","event_params":[{"key":"page_location","value":{"string_value":"https://shop.example/?utm_source=tiktok&utm_campaign=%s"}}]}`+"\n",
			day.Format("20060102"), day.UnixMicro(), i, campaign)
		fmt.Fprintf(&ev, `{"event_date":%q,"event_timestamp":"%d","event_name":"purchase","user_pseudo_id":"u%d","event_params":[],"ecommerce":{"transaction_id":"T%d","purchase_revenue":%d.25}}`+"\n",
			day.Format("20060102"), day.Add(time.Hour).UnixMicro(), i, i, 40+i)
		fmt.Fprintf(&orders, "O%d,%s +0000,USD,%d.50,0,1.00,paid,,SKU-A,1,%d.50,tiktok,%s,\n", i, day.Format("2006-01-02 15:04:05"), 30+i, 30+i, campaign)
	}
	return map[string]string{"events.ndjson": ev.String(), "orders.csv": orders.String(), "costs.csv": "sku,unit_cost,currency,valid_from\nSKU-A,10.00,USD,2020-01-01\n"}
}

// TestShardedClusterEqualsSingleNode runs the whole pipeline on two embedded
// engines forming a sharded cluster (clickhouse.cluster_mode: sharded) and on
// one node, side by side: migrate (twice), two syncs with a restatement,
// imports, then every view and the finance export must be the same, row for
// row. Then one shard is killed during a sync: the run fails naming it,
// no day shows half a window, and after a restart the next run completes.
func TestShardedClusterEqualsSingleNode(t *testing.T) {
	ctx := context.Background()
	c := startShardedCluster(t)
	nodes, err := warehouse.ConnectNodes(ctx, c.cfg)
	require.NoError(t, err)
	defer func() {
		for _, n := range nodes {
			n.Close()
		}
	}()
	require.Len(t, nodes, 2)
	conn, _, err := warehouse.Connect(ctx, c.cfg)
	require.NoError(t, err)
	defer conn.Close()
	for range 2 { // the second migrate applies nothing and changes nothing
		_, err = queries.MigrateNodes(ctx, nodes, c.target())
		require.NoError(t, err)
	}
	cluster := side{name: "cluster", conn: conn, target: c.target(), shards: nodes}
	singleConn, singleCfg := warehousetest.Migrated(t, config.ProtocolNative)
	single := side{name: "single", conn: singleConn, target: schema.Target{Database: singleCfg.ClickHouse.Database}}

	sc := simConfig()
	sc.Advertisers = 8 // both shards get advertisers (cityHash64 of the id)
	srv := simtest.Start(t, sc)
	for _, s := range []side{single, cluster} {
		s.sync(t, srv)
	}
	srv.Advance(24 * time.Hour) // attribution restates the recent days
	files := importFiles(srv)
	for _, s := range []side{single, cluster} {
		s.sync(t, srv)
		s.importFiles(t, files)
	}

	// Both shards hold rows, and together exactly the single node's.
	for i, n := range nodes {
		var rows uint64
		require.NoError(t, n.QueryRow(ctx, "SELECT count() FROM sharded.load_ad_stats_daily_local").Scan(&rows))
		require.Positive(t, rows, "shard %d holds ad rows", i+1)
		t.Logf("shard %d: %d ad-day rows stored; started in %s; engine RSS %d MB", i+1, rows, c.start[i].Round(time.Millisecond), rssMB(t, c.nodes[i].Dir))
	}
	views := readerViews(t, singleConn, single.target.Database)
	require.Greater(t, len(views), 40)
	want, got := single.contents(t, views), cluster.contents(t, views)
	compared := 0
	for _, v := range views {
		require.Equal(t, want[v], got[v], "view %s differs between the cluster and one node", v)
		compared += len(want[v])
	}
	require.Equal(t, single.exportCSV(t), cluster.exportCSV(t), "the finance export")
	require.Greater(t, strings.Count(single.exportCSV(t), "\n"), 1)
	t.Logf("%d views, %d rows compared, 0 differences; finance export identical", len(views), compared)

	// A shard dies during a sync.
	srv.Advance(24 * time.Hour)
	before := single.contents(t, []string{"ad_stats_daily"})["ad_stats_daily"]
	single.sync(t, srv)
	after := single.contents(t, []string{"ad_stats_daily"})["ad_stats_daily"]
	progress := &extract.Progress{}
	slow := srv.Faults()
	srv.SetFaults(tiktoksim.Faults{SlowRate: 1, SlowDelay: 20 * time.Millisecond})
	errc := make(chan error, 1)
	go func() {
		_, err := cluster.syncer(t, srv, progress).Run(ctx, srv.AdvertiserIDs(), extract.Job{Name: "sync", Entities: true, Stats: true})
		errc <- err
	}()
	require.Eventually(t, func() bool { return progress.Snapshot().WindowsDone >= 5 }, 2*time.Minute, 10*time.Millisecond)
	require.NoError(t, warehouse.Kill(c.nodes[1]))
	err = <-errc
	require.Error(t, err)
	t.Logf("the run with a dead shard said: %.400s", err.Error())
	// One line that says the warehouse (here a shard of it) stopped answering.
	var down *extract.WarehouseDownError
	require.ErrorAs(t, err, &down)
	require.NotContains(t, err.Error(), "\n")
	require.NotContains(t, err.Error(), c.cfg.ClickHouse.Password.Reveal())
	srv.SetFaults(slow)

	ports := []string{c.cfg.ClickHouse.Addr[0], c.cfg.ClickHouse.Addr[1]}
	port, _ := strconv.Atoi(strings.TrimPrefix(ports[1], "127.0.0.1:"))
	c.nodes[1] = warehousetest.PrivateWith(t, c.nodes[1].Dir, c.configure(port, ports))
	// Nothing half-visible: every advertiser-day shows the run before or
	// the run after, never a mixture.
	byDay := func(lines []string) map[string][]string {
		m := map[string][]string{}
		for _, l := range lines {
			f := strings.SplitN(l, "\t", 8)
			m[f[0]+" "+f[4]] = append(m[f[0]+" "+f[4]], l) // advertiser_id, stat_date
		}
		return m
	}
	old, fresh, mid := byDay(before), byDay(after), byDay(cluster.contents(t, []string{"ad_stats_daily"})["ad_stats_daily"])
	mixed := 0
	for day, rows := range mid {
		if !equalLines(rows, old[day]) && !equalLines(rows, fresh[day]) {
			mixed++
			t.Errorf("advertiser-day %s shows neither the old nor the new window", day)
		}
	}
	require.Zero(t, mixed)

	cluster.sync(t, srv)
	want, got = single.contents(t, views), cluster.contents(t, views)
	for _, v := range views {
		require.Equal(t, want[v], got[v], "after the shard came back: view %s", v)
	}
	require.Equal(t, single.exportCSV(t), cluster.exportCSV(t))
}

func equalLines(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

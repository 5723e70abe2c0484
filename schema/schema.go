// Package schema holds the warehouse's ClickHouse DDL as ordered, embedded
// migrations and applies them.
//
// Migrations are text/template files, so one file gives both a single-server
// schema and a cluster schema (ON CLUSTER, Replicated* engines, Distributed
// tables). Every statement is idempotent (IF NOT EXISTS, OR REPLACE), which is
// what makes re-running, and two processes racing, harmless.
package schema

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
)

//go:embed migrations/*.sql migrations/*.tmpl
var migrationFS embed.FS

// Target says which warehouse the DDL is rendered for.
type Target struct {
	// Database holds every adhouse table.
	Database string
	// Cluster, when set, names the ClickHouse cluster: each table keeps its
	// rows in a <name>_local table on every shard, behind a Distributed
	// table of the plain name.
	Cluster string
	// Sharded chooses how a cluster gets its DDL. False (replicated mode):
	// ON CLUSTER statements and Replicated engines, for clusters with Keeper.
	// True (sharded mode): adhouse runs every statement on each node itself,
	// with plain MergeTree engines; no Keeper needed (docs/operating.md).
	Sharded bool
}

// migrationsTable is where a node records its applied migrations: in sharded
// mode each node keeps its own record (its _local table), so a migrate
// interrupted on one node resumes there without trusting another's record.
func (t Target) migrationsTable() string {
	if t.Cluster != "" && t.Sharded {
		return "schema_migrations_local"
	}
	return "schema_migrations"
}

// onCluster is the ON CLUSTER clause of a statement: only a replicated-mode
// cluster runs DDL through ClickHouse's distributed DDL queue.
func (t Target) onCluster() string {
	if t.Cluster == "" || t.Sharded {
		return ""
	}
	return " ON CLUSTER `" + t.Cluster + "`"
}

// Migration is one rendered, versioned migration file.
type Migration struct {
	Version    uint32
	Name       string
	Statements []string
	// Checksum identifies the rendered text, so a file changed after it was
	// applied is noticed.
	Checksum string
}

var fileName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// Migrations renders every embedded migration for the target, in order.
func Migrations(t Target) ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	partials, err := fs.ReadFile(migrationFS, "migrations/partials.tmpl")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		v, _ := strconv.ParseUint(m[1], 10, 32)
		text, err := fs.ReadFile(migrationFS, path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		rendered, err := Render(t, e.Name(), string(partials)+string(text))
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256([]byte(rendered))
		out = append(out, Migration{
			Version:    uint32(v),
			Name:       m[2],
			Statements: SplitStatements(rendered),
			Checksum:   hex.EncodeToString(sum[:8]),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("schema: two migrations numbered %04d", out[i].Version)
		}
	}
	return out, nil
}

// Render executes one DDL template for the target. Besides .DB, templates use:
// onCluster (" ON CLUSTER c" in replicated mode, else ""), local "t" (the
// name holding rows: t, or t_local on a cluster), engine "ReplacingMergeTree"
// "args" (Replicated in replicated mode) and distributed "t" "key" (a
// Distributed table over t_local on a cluster, or nothing).
func Render(t Target, name, text string) (string, error) {
	q := func(s string) string { return "`" + s + "`" }
	funcs := template.FuncMap{
		// globalIn filters a Distributed table by a subquery over another one:
		// a plain IN would be a double-distributed subquery, which ClickHouse
		// refuses on clusters of more than one shard.
		"addStatColumns": func(since uint32) string { return addStatColumnsDDL(t, since) },
		// alter changes a table: on a cluster both the shards' _local table
		// and the Distributed table over it, which keeps its own columns.
		"alter": func(table, clause string) string {
			if t.Cluster == "" {
				return fmt.Sprintf("ALTER TABLE %s.%s %s;", t.Database, table, clause)
			}
			return fmt.Sprintf("ALTER TABLE %[1]s.%[2]s_local%[3]s %[4]s;\nALTER TABLE %[1]s.%[2]s%[3]s %[4]s;", t.Database, table, t.onCluster(), clause)
		},
		"globalIn": func() string {
			if t.Cluster == "" {
				return "IN"
			}
			return "GLOBAL IN"
		},
		"onCluster": t.onCluster,
		"local": func(table string) string {
			if t.Cluster == "" {
				return t.Database + "." + table
			}
			return t.Database + "." + table + "_local"
		},
		"engine": func(family, args string) string {
			if t.Cluster == "" || t.Sharded {
				return family + "(" + args + ")"
			}
			zk := "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'"
			if args != "" {
				zk += ", " + args
			}
			return "Replicated" + family + "(" + zk + ")"
		},
		"distributed": func(table, shardKey string) string {
			if t.Cluster == "" {
				return ""
			}
			return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s%s AS %s.%s_local\nENGINE = Distributed(%s, %s, %s_local, %s);\n",
				t.Database, table, t.onCluster(), t.Database, table, q(t.Cluster), t.Database, table, shardKey)
		},
	}
	for k, v := range tableFuncs {
		funcs[k] = v
	}
	tmpl, err := template.New(name).Funcs(funcs).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("schema: %s: %w", name, err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, struct{ DB string }{t.Database}); err != nil {
		return "", fmt.Errorf("schema: %s: %w", name, err)
	}
	return strings.TrimSpace(buf.String()) + "\n", nil
}

var statementEnd = regexp.MustCompile(`;[ \t]*(\n|$)`)

// SplitStatements cuts rendered SQL at semicolons that end a line, dropping
// comment-only pieces. Our DDL never has such a semicolon inside a string.
func SplitStatements(sql string) []string {
	var out []string
	for _, part := range statementEnd.Split(sql, -1) {
		if s := strings.TrimSpace(stripComments(part)); s != "" {
			out = append(out, strings.TrimSpace(part))
		}
	}
	return out
}

func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// Level is a TikTok reporting level; each has its own statistics tables.
type Level struct {
	// Name is advertiser, campaign, adgroup or ad.
	Name string
	// IDs are the id columns a row carries, parents first.
	IDs []string
	// Key is the row's own id column; empty at advertiser level.
	Key string
}

// Levels lists the reporting levels from the top down.
var Levels = []Level{
	{Name: "advertiser"},
	{Name: "campaign", IDs: []string{"campaign_id"}, Key: "campaign_id"},
	{Name: "adgroup", IDs: []string{"campaign_id", "adgroup_id"}, Key: "adgroup_id"},
	{Name: "ad", IDs: []string{"campaign_id", "adgroup_id", "ad_id"}, Key: "ad_id"},
}

// Granularities lists the time grains statistics are kept at.
var Granularities = []string{"daily", "hourly"}

// StatsTable names the table that holds every loaded version of a level's
// statistics at a granularity; analysts read [StatsView] instead.
func StatsTable(level, granularity string) string {
	return "load_" + level + "_stats_" + granularity
}

// StatsView names the view that shows exactly one committed copy of a level's
// statistics at a granularity.
func StatsView(level, granularity string) string {
	return level + "_stats_" + granularity
}

type entity struct{ Name, Table, ID string }

// Pairs groups its arguments two by two, for a template's range over (name,
// value) pairs.
func Pairs(args ...string) [][2]string {
	out := make([][2]string, 0, len(args)/2)
	for i := 0; i+1 < len(args); i += 2 {
		out = append(out, [2]string{args[i], args[i+1]})
	}
	return out
}

var tableFuncs = template.FuncMap{
	"pairs": Pairs,
	// statColumns renders the statistics columns a migration added (0001).
	"statColumns": statColumnsDDL,
	"levels":      func() []Level { return Levels },
	"grains":      func() []string { return Granularities },
	"statsTable":  StatsTable,
	"statsView":   StatsView,
	"entities": func() []entity {
		return []entity{
			{Name: "campaign", Table: "campaigns", ID: "campaign_id"},
			{Name: "adgroup", Table: "adgroups", ID: "adgroup_id"},
			{Name: "ad", Table: "ads", ID: "ad_id"},
		}
	},
}

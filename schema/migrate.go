package schema

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// AppliedMigration is a row of schema_migrations.
type AppliedMigration struct {
	Version   uint32
	Name      string
	Checksum  string
	AppliedAt time.Time
}

// MigrationStatus pairs an embedded migration with its record, if applied.
type MigrationStatus struct {
	Migration
	Applied *AppliedMigration
	// Modified is true when the applied checksum differs from the file's.
	Modified bool
}

// Bootstrap renders the statements that create the database and the
// schema_migrations table; [Migrate] runs them first, every time.
func Bootstrap(t Target) ([]string, error) {
	text, err := fs.ReadFile(migrationFS, "migrations/bootstrap.sql")
	if err != nil {
		return nil, err
	}
	rendered, err := Render(t, "bootstrap.sql", string(text))
	if err != nil {
		return nil, err
	}
	return SplitStatements(rendered), nil
}

// Migrate applies every pending migration in order and records it. Two
// processes racing both run the same idempotent statements, and the record
// table keeps one row per version, so the result is the same as one run.
func Migrate(ctx context.Context, conn driver.Conn, t Target) ([]Migration, error) {
	return MigrateNodes(ctx, []driver.Conn{conn}, t)
}

// MigrateNodes is [Migrate] for the nodes of a sharded cluster (one
// connection per node; one connection is a single server or a replicated
// cluster). Migration by migration, every statement that defines something
// runs on each node that lacks the migration, while a statement that writes
// rows (INSERT, through a Distributed table) runs once, on the first node,
// after every node has the tables; then each node records the migration.
// After a failure, running it again resumes each node where it stands; a
// migration's INSERTs must therefore be idempotent, as they already are for
// a single server re-run after a partial failure.
func MigrateNodes(ctx context.Context, nodes []driver.Conn, t Target) ([]Migration, error) {
	boot, err := Bootstrap(t)
	if err != nil {
		return nil, err
	}
	pending := make([]map[uint32]bool, len(nodes))
	var ms []Migration
	for i, conn := range nodes {
		for _, stmt := range boot {
			if err := conn.Exec(ctx, stmt); err != nil {
				return nil, nodeErr(i, len(nodes), fmt.Errorf("schema bootstrap: %w\n%s", err, stmt))
			}
		}
		statuses, err := Status(ctx, conn, t)
		if err != nil {
			return nil, nodeErr(i, len(nodes), err)
		}
		pending[i] = map[uint32]bool{}
		ms = ms[:0]
		for _, st := range statuses {
			ms = append(ms, st.Migration)
			if st.Applied == nil {
				pending[i][st.Version] = true
			}
		}
	}
	var applied []Migration
	for _, m := range ms {
		var on []int
		for i := range nodes {
			if pending[i][m.Version] {
				on = append(on, i)
			}
		}
		if len(on) == 0 {
			continue
		}
		for _, i := range on {
			for n, stmt := range m.Statements {
				if writesRows(stmt) {
					continue
				}
				if err := nodes[i].Exec(ctx, stmt); err != nil {
					return applied, nodeErr(i, len(nodes), fmt.Errorf("migration %04d_%s statement %d: %w", m.Version, m.Name, n+1, err))
				}
			}
		}
		if pending[0][m.Version] {
			for n, stmt := range m.Statements {
				if !writesRows(stmt) {
					continue
				}
				if err := nodes[0].Exec(ctx, stmt); err != nil {
					return applied, nodeErr(0, len(nodes), fmt.Errorf("migration %04d_%s statement %d: %w", m.Version, m.Name, n+1, err))
				}
			}
		}
		for _, i := range on {
			err := nodes[i].Exec(ctx, fmt.Sprintf("INSERT INTO %s.%s (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)", t.Database, t.migrationsTable()),
				m.Version, m.Name, m.Checksum, time.Now().UTC())
			if err != nil {
				return applied, nodeErr(i, len(nodes), fmt.Errorf("migration %04d_%s: recording: %w", m.Version, m.Name, err))
			}
		}
		applied = append(applied, m)
	}
	return applied, nil
}

// writesRows tells a statement that adds rows (run once per cluster) from
// one that defines tables (run on every node).
func writesRows(stmt string) bool {
	for _, line := range strings.Split(stmt, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "--") {
			continue
		}
		return strings.HasPrefix(strings.ToUpper(line), "INSERT")
	}
	return false
}

func nodeErr(i, n int, err error) error {
	if n == 1 {
		return err
	}
	return fmt.Errorf("node %d of %d: %w", i+1, n, err)
}

// Status lists every embedded migration with its applied record. It needs the
// bootstrap to have run (any earlier [Migrate] did it).
func Status(ctx context.Context, conn driver.Conn, t Target) ([]MigrationStatus, error) {
	ms, err := Migrations(t)
	if err != nil {
		return nil, err
	}
	rows, err := conn.Query(ctx, fmt.Sprintf(
		"SELECT version, argMax(name, applied_at), argMax(checksum, applied_at), max(applied_at) FROM %s.%s GROUP BY version", t.Database, t.migrationsTable()))
	if err != nil {
		return nil, fmt.Errorf("schema status: %w", err)
	}
	defer rows.Close()
	applied := map[uint32]*AppliedMigration{}
	for rows.Next() {
		var a AppliedMigration
		if err := rows.Scan(&a.Version, &a.Name, &a.Checksum, &a.AppliedAt); err != nil {
			return nil, fmt.Errorf("schema status: %w", err)
		}
		applied[a.Version] = &a
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("schema status: %w", err)
	}
	out := make([]MigrationStatus, len(ms))
	for i, m := range ms {
		a := applied[m.Version]
		out[i] = MigrationStatus{Migration: m, Applied: a, Modified: a != nil && a.Checksum != m.Checksum}
	}
	return out, nil
}

package schema

import (
	"context"
	"fmt"
	"io/fs"
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
// table keeps one row per version, so the result is the same as one run. In
// sharded mode it migrates the one node conn reaches: call it for each node.
func Migrate(ctx context.Context, conn driver.Conn, t Target) ([]Migration, error) {
	boot, err := Bootstrap(t)
	if err != nil {
		return nil, err
	}
	for _, stmt := range boot {
		if err := conn.Exec(ctx, stmt); err != nil {
			return nil, fmt.Errorf("schema bootstrap: %w\n%s", err, stmt)
		}
	}
	statuses, err := Status(ctx, conn, t)
	if err != nil {
		return nil, err
	}
	var applied []Migration
	for _, st := range statuses {
		if st.Applied != nil {
			continue
		}
		for i, stmt := range st.Statements {
			if err := conn.Exec(ctx, stmt); err != nil {
				return applied, fmt.Errorf("migration %04d_%s statement %d: %w", st.Version, st.Name, i+1, err)
			}
		}
		err := conn.Exec(ctx, fmt.Sprintf("INSERT INTO %s.%s (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)", t.Database, t.migrationsTable()),
			st.Version, st.Name, st.Checksum, time.Now().UTC())
		if err != nil {
			return applied, fmt.Errorf("migration %04d_%s: recording: %w", st.Version, st.Name, err)
		}
		applied = append(applied, st.Migration)
	}
	return applied, nil
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

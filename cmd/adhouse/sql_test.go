package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSQLCommand: `adhouse sql` finds the test warehouse from the
// configuration alone, prints CSV when stdout is not a terminal, a table or
// JSON on request, decimals exactly at their scale (also beyond float64's
// 15-16 digits), NULL as NULL; reads "-" from stdin; answers as the BI user
// with --bi, who may not read the bookkeeping tables; and shows
// ClickHouse errors with their code but never a password.
func TestSQLCommand(t *testing.T) {
	c := newCLI(t, "")
	c.must(nil, "migrate")
	db := c.cfg.ClickHouse.Database
	exact := "SELECT toDecimal128('12345678901234567.123456789', 9) AS big, sum(x) AS tenth_sum, CAST(NULL AS Nullable(Int32)) AS nothing, 'a,b' AS s " +
		"FROM (SELECT toDecimal64('0.1', 6) AS x FROM numbers(10))"

	out := c.must(nil, "sql", exact)
	require.Equal(t, "big,tenth_sum,nothing,s\n12345678901234567.123456789,1.000000,,\"a,b\"\n", out, "CSV off a terminal")

	out = c.must(nil, "sql", "--format", "table", exact)
	require.Equal(t, strings.Join([]string{
		"                        big  tenth_sum  nothing  s",
		"---------------------------  ---------  -------  ---",
		"12345678901234567.123456789   1.000000     NULL  a,b",
		"(1 row)", ""}, "\n"), out)

	out = c.must(nil, "query", "-f", "json", exact)
	var rows []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &rows), out)
	require.Equal(t, []map[string]any{{"big": "12345678901234567.123456789", "tenth_sum": "1.000000", "nothing": nil, "s": "a,b"}}, rows)

	stdin := filepath.Join(t.TempDir(), "q.sql")
	require.NoError(t, os.WriteFile(stdin, []byte("SELECT count() AS n FROM "+db+".sync_runs;\n"), 0o600))
	out = c.runStdin(stdin, "sql", "-")
	require.Equal(t, "n\n0\n", out)

	// --bi connects as the BI user, who may not read the bookkeeping tables
	// (the test database is not the one its grants name).
	require.Equal(t, "u\nadhouse_bi\n", c.must(nil, "sql", "--bi", "SELECT currentUser() AS u"))
	require.Equal(t, "u\nadhouse_admin\n", c.must(nil, "sql", "SELECT currentUser() AS u"))
	r := c.run(nil, "sql", "--bi", "SELECT count() FROM "+db+".sync_runs")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "ClickHouse error 497 (ACCESS_DENIED)")

	r = c.run(nil, "sql", "SELEC 1")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "ClickHouse error 62 (SYNTAX_ERROR)")
	for _, f := range []string{"admin.password", "bi.password"} {
		pw, err := os.ReadFile(filepath.Join(c.cfg.Warehouse.Dir, f))
		require.NoError(t, err)
		require.NotContains(t, r.stderr+r.stdout, strings.TrimSpace(string(pw)))
	}
	r = c.run(nil, "sql", "--format", "xml", "SELECT 1")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, `--format: "xml" is not table, csv or json`)
}

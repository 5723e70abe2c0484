package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/warehouse"
)

func init() { commands = append(commands, newSQLCmd) }

// newSQLCmd returns `adhouse sql`: one query against the configured
// warehouse, printed as a table, CSV or JSON, with decimals exact.
func newSQLCmd(a *app) *cobra.Command {
	var format string
	var bi bool
	cmd := &cobra.Command{
		Use:     "sql QUERY",
		Aliases: []string{"query"},
		Short:   "Run one SQL query against the warehouse and print the result",
		Long: `Runs one query against the warehouse the configuration names: the embedded
warehouse (its port and generated password are read from warehouse.dir) or the
configured ClickHouse (clickhouse.addr, user and password). It connects as the
admin user, or with --bi as the read-only BI user (adhouse_bi: the bi_* tables and views
only), as a BI tool would.

The result is a table on a terminal and CSV otherwise; --format chooses.
Decimals are printed exactly as stored, never through a float. A query of "-"
is read from standard input. ClickHouse errors are shown with their code;
passwords never are.`,
		Example: `  adhouse sql "SELECT campaign_name, sum(spend) AS spend FROM adhouse.bi_campaign_daily GROUP BY campaign_name ORDER BY spend DESC LIMIT 5"
  adhouse sql --bi --format csv "SELECT * FROM adhouse.bi_campaign_daily LIMIT 100" > campaigns.csv
  echo "SELECT count() FROM adhouse.sync_runs" | adhouse query -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			query := args[0]
			if query == "-" {
				b, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return fmt.Errorf("reading the query from stdin: %w", err)
				}
				query = string(b)
			}
			query = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(query), ";"))
			if query == "" {
				return errors.New("no query given")
			}
			out := cmd.OutOrStdout()
			if !cmd.Flags().Changed("format") {
				format = "csv"
				if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
					format = "table"
				}
			}
			switch format {
			case "table", "csv", "json":
			default:
				return fmt.Errorf("--format: %q is not table, csv or json", format)
			}
			return a.runSQL(cmd, query, format, bi, out)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "table", "output: table (default on a terminal), csv (default otherwise) or json")
	cmd.Flags().BoolVar(&bi, "bi", false, "connect as the read-only BI user (embedded warehouse), as a BI tool would")
	return cmd
}

func (a *app) runSQL(cmd *cobra.Command, query, format string, bi bool, out io.Writer) error {
	ctx := cmd.Context()
	ep, err := warehouse.Resolve(ctx, a.cfg)
	if err != nil {
		return err
	}
	if bi {
		if !a.cfg.ClickHouse.Embedded {
			return errors.New("--bi: only the embedded warehouse's BI user is known to adhouse; for a configured ClickHouse, set clickhouse.user and clickhouse.password to the BI account")
		}
		pw, err := warehouse.BIPassword(a.cfg.Warehouse.Dir)
		if err != nil {
			return err
		}
		ep.User, ep.Password = warehouse.BIUser, config.Secret(pw)
	}
	conn, err := warehouse.Open(ctx, ep)
	if err != nil {
		return sqlError(err, ep.Password)
	}
	defer conn.Close()
	rows, err := conn.Query(ctx, query)
	if err != nil {
		return sqlError(err, ep.Password)
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = t.Name()
	}
	if len(types) == 0 {
		// Over HTTP an empty result carries no columns: ask for them, so
		// that "no rows" still prints the header.
		if names, err = resultColumns(ctx, conn, query); err != nil {
			return sqlError(err, ep.Password)
		}
	}
	var records [][]cell
	for rows.Next() {
		dest := make([]any, len(types))
		for i, t := range types {
			dest[i] = reflect.New(t.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return sqlError(err, ep.Password)
		}
		rec := make([]cell, len(dest))
		for i, d := range dest {
			rec[i] = cellOf(reflect.ValueOf(d).Elem(), types[i].DatabaseTypeName())
		}
		records = append(records, rec)
	}
	if err := rows.Err(); err != nil {
		return sqlError(err, ep.Password)
	}
	switch format {
	case "csv":
		return writeCSV(out, names, records)
	case "json":
		return writeJSON(out, names, records)
	}
	return writeTable(out, names, records)
}

// sqlError shows a ClickHouse exception as its code, name and message, and
// makes sure the password the connection used is not in it.
func sqlError(err error, pw config.Secret) error {
	msg := err.Error()
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		name := ex.CodeName
		if name == "" {
			name = ex.Name
		}
		msg = fmt.Sprintf("ClickHouse error %d (%s): %s", ex.Code, name, ex.Message)
	} else if code, ok := warehouse.ExceptionCode(err); ok {
		msg = fmt.Sprintf("ClickHouse error %d: %s", code, msg)
	}
	if p := pw.Reveal(); p != "" {
		msg = strings.ReplaceAll(msg, p, "<redacted>")
	}
	return errors.New(msg)
}

// cell is one printed value: its text, whether it is NULL, and whether it
// is a number (right-aligned in tables, bare in JSON).
type cell struct {
	text    string
	null    bool
	number  bool
	decimal bool // exact decimal: quoted in JSON, so no reader turns it into a float
}

// cellOf renders a value scanned from a column of ClickHouse type dbType.
// Decimals print exactly (shopspring's String); floats with the fewest
// digits that read back the same; a Date as YYYY-MM-DD; arrays, maps and
// tuples as JSON.
func cellOf(v reflect.Value, dbType string) cell {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return cell{text: "NULL", null: true}
		}
		v = v.Elem()
	}
	base := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(dbType, "LowCardinality("), "Nullable("), ")")
	if strings.HasPrefix(base, "Array(") || strings.HasPrefix(base, "Map(") || strings.HasPrefix(base, "Tuple(") {
		if b, ok := v.Interface().([]byte); ok {
			ints := make([]int, len(b)) // Array(UInt8) scans as []byte; it is a list of numbers
			for i, x := range b {
				ints[i] = int(x)
			}
			v = reflect.ValueOf(ints)
		}
		b, err := json.Marshal(v.Interface())
		if err != nil {
			return cell{text: fmt.Sprint(v.Interface())}
		}
		return cell{text: string(b)}
	}
	switch x := v.Interface().(type) {
	case decimal.Decimal:
		// At the column's scale, as ClickHouse prints it: 1.500000, not 1.5.
		text := x.String()
		if x.Exponent() < 0 {
			text = x.StringFixed(-x.Exponent())
		}
		return cell{text: text, number: true, decimal: true}
	case time.Time:
		if strings.HasPrefix(base, "Date") && !strings.HasPrefix(base, "DateTime") {
			return cell{text: x.Format(time.DateOnly)}
		}
		return cell{text: x.Format("2006-01-02 15:04:05.999999999")}
	case big.Int:
		return cell{text: x.String(), number: true}
	case []byte:
		return cell{text: string(x)}
	case string:
		return cell{text: x}
	case bool:
		return cell{text: strconv.FormatBool(x)}
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return cell{text: strconv.FormatInt(v.Int(), 10), number: true}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return cell{text: strconv.FormatUint(v.Uint(), 10), number: true}
	case reflect.Float32:
		return cell{text: strconv.FormatFloat(v.Float(), 'f', -1, 32), number: true}
	case reflect.Float64:
		return cell{text: strconv.FormatFloat(v.Float(), 'f', -1, 64), number: true}
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return cell{text: fmt.Sprint(v.Interface())}
	}
	return cell{text: string(b)}
}

func writeCSV(out io.Writer, names []string, records [][]cell) error {
	w := csv.NewWriter(out)
	if err := w.Write(names); err != nil {
		return err
	}
	for _, rec := range records {
		row := make([]string, len(rec))
		for i, c := range rec {
			if !c.null {
				row[i] = c.text
			}
		}
		if err := w.Write(row); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

// writeJSON writes one JSON object per row, its keys in column order, as an
// array. Decimals are strings, as the BI profile serves them, so that
// "12345678901.234567" reaches the reader unrounded.
func writeJSON(out io.Writer, names []string, records [][]cell) error {
	var sb strings.Builder
	sb.WriteString("[")
	for r, rec := range records {
		if r > 0 {
			sb.WriteString(",")
		}
		sb.WriteString("\n  {")
		for i, c := range rec {
			if i > 0 {
				sb.WriteString(", ")
			}
			k, _ := json.Marshal(names[i])
			sb.Write(k)
			sb.WriteString(": ")
			switch {
			case c.null:
				sb.WriteString("null")
			case c.number && !c.decimal && c.text != "NaN" && !strings.Contains(c.text, "Inf"):
				sb.WriteString(c.text)
			case strings.HasPrefix(c.text, "[") || strings.HasPrefix(c.text, "{"):
				if json.Valid([]byte(c.text)) {
					sb.WriteString(c.text)
					break
				}
				fallthrough
			default:
				v, _ := json.Marshal(c.text)
				sb.Write(v)
			}
		}
		sb.WriteString("}")
	}
	if len(records) > 0 {
		sb.WriteString("\n")
	}
	sb.WriteString("]\n")
	_, err := io.WriteString(out, sb.String())
	return err
}

// writeTable writes an aligned table: numbers right-aligned, a rule under
// the header, and the row count.
func writeTable(out io.Writer, names []string, records [][]cell) error {
	widths := make([]int, len(names))
	numeric := make([]bool, len(names))
	for i, n := range names {
		widths[i] = utf8.RuneCountInString(n)
		numeric[i] = len(records) > 0
	}
	for _, rec := range records {
		for i, c := range rec {
			widths[i] = max(widths[i], utf8.RuneCountInString(c.text))
			if !c.number && !c.null {
				numeric[i] = false
			}
		}
	}
	var sb strings.Builder
	line := func(texts []string) {
		for i, t := range texts {
			if i > 0 {
				sb.WriteString("  ")
			}
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(t))
			if numeric[i] {
				sb.WriteString(pad + t)
			} else if i < len(texts)-1 {
				sb.WriteString(t + pad)
			} else {
				sb.WriteString(t)
			}
		}
		sb.WriteString("\n")
	}
	line(names)
	rule := make([]string, len(names))
	for i := range rule {
		rule[i] = strings.Repeat("-", widths[i])
	}
	line(rule)
	for _, rec := range records {
		texts := make([]string, len(rec))
		for i, c := range rec {
			texts[i] = c.text
		}
		line(texts)
	}
	noun := "rows"
	if len(records) == 1 {
		noun = "row"
	}
	fmt.Fprintf(&sb, "(%d %s)\n", len(records), noun)
	_, err := io.WriteString(out, sb.String())
	return err
}

// resultColumns names the columns a SELECT would return, from DESCRIBE; a
// statement that returns nothing (INSERT, CREATE) has none.
func resultColumns(ctx context.Context, conn driver.Conn, query string) ([]string, error) {
	head := strings.ToUpper(strings.TrimSpace(query))
	if !strings.HasPrefix(head, "SELECT") && !strings.HasPrefix(head, "WITH") && !strings.HasPrefix(head, "(") {
		return nil, nil
	}
	rows, err := conn.Query(ctx, "DESCRIBE TABLE ("+query+")")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name, typ, defType, defExpr, comment, codec, ttl string
		if err := rows.Scan(&name, &typ, &defType, &defExpr, &comment, &codec, &ttl); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, rows.Err()
}

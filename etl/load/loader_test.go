package load_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/warehouse"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/queries"
	"github.com/adhouse/adhouse/schema"
)

var day0 = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

// sample makes ad-day rows for days [from, from+days) with values that depend
// on gen, so a later generation is a restatement of an earlier one.
func sample(t load.StatsTable, adv string, from time.Time, days, ads, gen int) []*load.StatRow {
	var rows []*load.StatRow
	for d := range days {
		for a := range ads {
			spend := decimal.New(int64(1000+a*37+d*11+gen), -6).Add(decimal.RequireFromString("0.10"))
			imp, clk := uint64(1000+a+d), uint64(10+a%7)
			inst := uint64(a%5 + gen)
			r := &load.StatRow{
				AdvertiserID: adv, CampaignID: fmt.Sprintf("c%d", a%3), AdGroupID: fmt.Sprintf("g%d", a%6), AdID: fmt.Sprintf("ad%04d", a),
				Date: from.AddDate(0, 0, d), Timezone: "Etc/GMT+8", Currency: "USD",
			}
			r.Set("spend", &spend).Set("impressions", &imp).Set("clicks", &clk).Set("app_install", &inst)
			if a%10 == 0 {
				r.Set("app_install", nil) // TikTok sent "-"
			}
			rows = append(rows, t.Bind(r))
		}
	}
	return rows
}

func loadWindow(ctx context.Context, l *load.Loader, t load.StatsTable, adv string, from, to time.Time, rows []*load.StatRow) error {
	w, err := l.Begin(load.WindowSpec{Table: t.Table, AdvertiserID: adv, From: from, To: to, RunID: "test"})
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := w.Append(ctx, r); err != nil {
			w.Abort()
			return err
		}
	}
	return w.Commit(ctx)
}

// answers returns every row of a view as text, sorted, without load times.
func answers(t *testing.T, conn driver.Conn, db, view string) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(),
		fmt.Sprintf("SELECT toString(tuple(* EXCEPT (loaded_at))) AS r FROM %s.%s ORDER BY r", db, view))
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}

func newLoader(conn driver.Conn, cfg config.Config, batch int) *load.Loader {
	return load.New(conn, load.Options{Target: schema.Target{Database: cfg.ClickHouse.Database}, BatchSize: batch, MaxRetries: 2, RetryBackoff: 20 * time.Millisecond})
}

func TestReloadsGiveOneCleanCopy(t *testing.T) {
	warehousetest.ForEachProtocol(t, func(t *testing.T, proto config.Protocol) {
		ctx := context.Background()
		adTable, _ := load.NewStatsTable("ad", "daily")
		view := schema.StatsView("ad", "daily")

		// The reference: one clean load of the final data.
		cleanConn, cleanCfg := warehousetest.Migrated(t, proto)
		final := sample(adTable, "adv1", day0, 7, 40, 2)
		final = final[:len(final)-15] // rows that vanished from the newest pull
		clean := newLoader(cleanConn, cleanCfg, 64)
		require.NoError(t, loadWindow(ctx, clean, adTable, "adv1", day0, day0.AddDate(0, 0, 6), final))
		want := answers(t, cleanConn, cleanCfg.ClickHouse.Database, view)
		require.Len(t, want, len(final))

		conn, cfg := warehousetest.Migrated(t, proto)
		l := newLoader(conn, cfg, 64)
		db := cfg.ClickHouse.Database
		// The first generation three times, then a restated generation with changed
		// values and without the vanished rows: answers equal the clean load.
		first := sample(adTable, "adv1", day0, 7, 40, 1)
		for range 3 {
			require.NoError(t, loadWindow(ctx, l, adTable, "adv1", day0, day0.AddDate(0, 0, 6), first))
		}
		require.Len(t, answers(t, conn, db, view), len(first), "three loads of one window show one copy")
		require.NoError(t, loadWindow(ctx, l, adTable, "adv1", day0, day0.AddDate(0, 0, 6), final))
		require.Equal(t, want, answers(t, conn, db, view))

		// Sums through the view are exact decimals of one copy.
		var spend decimal.Decimal
		require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf("SELECT sum(spend) FROM %s.%s", db, view)).Scan(&spend))
		wantSpend := decimal.Zero
		for _, r := range final {
			wantSpend = wantSpend.Add(*r.Decimal("spend"))
		}
		require.True(t, wantSpend.Equal(spend), "sum(spend) = %s, want %s", spend, wantSpend)

		// Pruning reclaims superseded versions and changes no answer.
		require.NoError(t, l.Prune(ctx, adTable.Name))
		require.Equal(t, want, answers(t, conn, db, view))
		var stored uint64
		require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s.%s", db, adTable.Name)).Scan(&stored))
		require.Equal(t, uint64(len(final)), stored)
	})
}

// TestPruneDeletesOnlyWhenSomethingIsSuperseded: a prune of days that hold
// one committed window issues no DELETE (an empty one still costs the engine
// seconds of mutation), and one after a re-load deletes the old copy.
func TestPruneDeletesOnlyWhenSomethingIsSuperseded(t *testing.T) {
	conn, cfg := warehousetest.Migrated(t, config.ProtocolNative)
	ctx := context.Background()
	tbl, _ := load.NewStatsTable("ad", "daily")
	db := cfg.ClickHouse.Database
	l := newLoader(conn, cfg, 50)
	mutations := func() uint64 {
		var n uint64
		require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM system.mutations WHERE database = ? AND table = ?", db, tbl.Name).Scan(&n))
		return n
	}
	stored := func() uint64 {
		var n uint64
		require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s.%s", db, tbl.Name)).Scan(&n))
		return n
	}
	migrated := mutations() // the migrations' own ALTERs
	last := day0.AddDate(0, 0, 4)
	first := sample(tbl, "adv1", day0, 5, 20, 1)
	require.NoError(t, loadWindow(ctx, l, tbl, "adv1", day0, last, first))
	require.NoError(t, l.PruneDays(ctx, tbl.Name, day0, last))
	require.NoError(t, l.Prune(ctx, tbl.Name))
	require.Equal(t, migrated, mutations(), "nothing was superseded, so nothing was deleted")
	require.Equal(t, uint64(len(first)), stored())

	require.NoError(t, loadWindow(ctx, l, tbl, "adv1", day0, last, sample(tbl, "adv1", day0, 5, 20, 2)))
	require.Equal(t, uint64(2*len(first)), stored())
	require.NoError(t, l.PruneDays(ctx, tbl.Name, day0, last))
	require.Equal(t, migrated+1, mutations(), "the re-load's old copy is deleted")
	require.Equal(t, uint64(len(first)), stored())
}

func TestOverlappingWindowsNewestWins(t *testing.T) {
	conn, cfg := warehousetest.Migrated(t, config.ProtocolNative)
	ctx := context.Background()
	tbl, _ := load.NewStatsTable("campaign", "daily")
	l := newLoader(conn, cfg, 1000)
	// A 30-day backfill, then a 7-day lookback re-pull of its last week.
	backfill := sample(tbl, "adv1", day0, 30, 3, 1)
	require.NoError(t, loadWindow(ctx, l, tbl, "adv1", day0, day0.AddDate(0, 0, 29), backfill))
	lookback := sample(tbl, "adv1", day0.AddDate(0, 0, 23), 7, 3, 5)
	require.NoError(t, loadWindow(ctx, l, tbl, "adv1", day0.AddDate(0, 0, 23), day0.AddDate(0, 0, 29), lookback))

	var total, restated uint64
	q := fmt.Sprintf("SELECT count(), countIf(app_install IS NOT NULL AND stat_date >= '2026-10-24') FROM %s.%s",
		cfg.ClickHouse.Database, schema.StatsView("campaign", "daily"))
	require.NoError(t, conn.QueryRow(ctx, q).Scan(&total, &restated))
	require.Equal(t, uint64(30*3), total)
	var sumInst uint64
	require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf("SELECT sum(app_install) FROM %s.%s WHERE stat_date >= '2026-10-24'",
		cfg.ClickHouse.Database, schema.StatsView("campaign", "daily"))).Scan(&sumInst))
	var want uint64
	for _, r := range lookback {
		if n := r.Count("app_install"); n != nil {
			want += *n
		}
	}
	require.Equal(t, want, sumInst, "the re-pulled week shows the restated values")
}

func TestUncommittedWindowIsInvisible(t *testing.T) {
	conn, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
	ctx := context.Background()
	tbl, _ := load.NewStatsTable("ad", "hourly")
	l := newLoader(conn, cfg, 10)
	w, err := l.Begin(load.WindowSpec{Table: tbl.Table, AdvertiserID: "adv1", From: day0, To: day0})
	require.NoError(t, err)
	for h := range 24 {
		spend := decimal.RequireFromString("0.10")
		r := tbl.Bind((&load.StatRow{AdvertiserID: "adv1", AdID: "ad1", Date: day0, Hour: uint8(h),
			TimeUTC: day0.Add(time.Duration(h+8) * time.Hour), Timezone: "Etc/GMT+8", Currency: "USD"}).Set("spend", &spend))
		require.NoError(t, w.Append(ctx, r))
	}
	// Two batches of ten have been sent; the window is not committed.
	var stored, visible uint64
	require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s.%s", cfg.ClickHouse.Database, tbl.Name)).Scan(&stored))
	require.Equal(t, uint64(20), stored)
	require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s.%s", cfg.ClickHouse.Database, schema.StatsView("ad", "hourly"))).Scan(&visible))
	require.Zero(t, visible)
	require.NoError(t, w.Commit(ctx))
	require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s.%s", cfg.ClickHouse.Database, schema.StatsView("ad", "hourly"))).Scan(&visible))
	require.Equal(t, uint64(24), visible)
	require.ErrorIs(t, w.Commit(ctx), load.ErrWindowFinished)

	// A row outside the window is refused with the day and window named.
	w2, err := l.Begin(load.WindowSpec{Table: tbl.Table, AdvertiserID: "adv1", From: day0, To: day0})
	require.NoError(t, err)
	err = w2.Append(ctx, tbl.Bind(&load.StatRow{AdvertiserID: "adv1", Date: day0.AddDate(0, 0, 1)}))
	require.ErrorContains(t, err, "row for 2026-10-02 is outside the window 2026-10-01..2026-10-01")
}

// flaky wraps the real connection and makes the first PrepareBatch calls fail
// with a ClickHouse exception, as an overloaded server would.
type flaky struct {
	driver.Conn
	failures atomic.Int32
	code     int32
}

func (f *flaky) PrepareBatch(ctx context.Context, q string, opts ...driver.PrepareBatchOption) (driver.Batch, error) {
	if f.failures.Add(-1) >= 0 {
		return nil, &clickhouse.Exception{Code: f.code, Name: "injected", Message: "injected failure"}
	}
	return f.Conn.PrepareBatch(ctx, q, opts...)
}

func TestRetryByExceptionCode(t *testing.T) {
	conn, cfg := warehousetest.Migrated(t, config.ProtocolNative)
	ctx := context.Background()
	tbl, _ := load.NewStatsTable("ad", "daily")
	rows := sample(tbl, "adv1", day0, 1, 50, 1)

	retried := &flaky{Conn: conn, code: 202} // TOO_MANY_SIMULTANEOUS_QUERIES
	retried.failures.Store(2)
	require.NoError(t, loadWindow(ctx, newLoader(retried, cfg, 100), tbl, "adv1", day0, day0, rows))
	require.Len(t, answers(t, conn, cfg.ClickHouse.Database, schema.StatsView("ad", "daily")), 50)

	fatal := &flaky{Conn: conn, code: 53} // TYPE_MISMATCH: retrying cannot help
	fatal.failures.Store(1)
	err := loadWindow(ctx, newLoader(fatal, cfg, 100), tbl, "adv1", day0, day0, sample(tbl, "adv1", day0, 1, 10, 2))
	require.Error(t, err)
	code, ok := warehouse.ExceptionCode(err)
	require.True(t, ok)
	require.Equal(t, int32(53), code)
	require.Equal(t, int32(0), fatal.failures.Load(), "a non-retryable code is not retried")
	require.Len(t, answers(t, conn, cfg.ClickHouse.Database, schema.StatsView("ad", "daily")), 50, "the failed load changed nothing")
}

func TestClickHouseStopDuringLoad(t *testing.T) {
	st := warehousetest.Private(t)
	warehousetest.ForEachProtocol(t, func(t *testing.T, proto config.Protocol) {
		ctx := context.Background()
		cfg := config.Default()
		cfg.Warehouse.Dir = st.Dir
		cfg.ClickHouse.Protocol = proto
		cfg.ClickHouse.Database = "outage_" + string(proto)
		conn, _, err := warehouse.Connect(ctx, cfg)
		require.NoError(t, err)
		defer conn.Close()
		_, err = queries.Migrate(ctx, conn, schema.Target{Database: cfg.ClickHouse.Database})
		require.NoError(t, err)

		tbl, _ := load.NewStatsTable("ad", "daily")
		view := schema.StatsView("ad", "daily")
		l := newLoader(conn, cfg, 500)
		first := sample(tbl, "adv1", day0, 7, 300, 1)
		require.NoError(t, loadWindow(ctx, l, tbl, "adv1", day0, day0.AddDate(0, 0, 6), first))
		before := answers(t, conn, cfg.ClickHouse.Database, view)

		// A second load sends some batches, then the engine goes down.
		second := sample(tbl, "adv1", day0, 7, 300, 2)
		w, err := l.Begin(load.WindowSpec{Table: tbl.Table, AdvertiserID: "adv1", From: day0, To: day0.AddDate(0, 0, 6)})
		require.NoError(t, err)
		for _, r := range second[:1200] {
			require.NoError(t, w.Append(ctx, r))
		}
		require.NoError(t, warehouse.Stop(ctx, st.Dir))
		err = nil
		for _, r := range second[1200:] {
			if err = w.Append(ctx, r); err != nil {
				break
			}
		}
		if err == nil {
			err = w.Commit(ctx)
		}
		require.Error(t, err)
		msg := err.Error()
		require.Contains(t, msg, "load "+cfg.ClickHouse.Database+"."+tbl.Name)
		require.Contains(t, msg, "advertiser adv1 window 2026-10-01..2026-10-07")
		require.Contains(t, msg, "failed after 3 attempts")
		pw, _ := warehouse.AdminPassword(st.Dir)
		require.NotContains(t, msg, pw)
		w.Abort()

		// After a restart the first load is intact: nothing of the second shows.
		st = warehousetest.Restart(t, st)
		require.Equal(t, before, answers(t, conn, cfg.ClickHouse.Database, view))
		// And the load succeeds when run again.
		require.NoError(t, loadWindow(ctx, l, tbl, "adv1", day0, day0.AddDate(0, 0, 6), second))
		require.Len(t, answers(t, conn, cfg.ClickHouse.Database, view), len(second))
		require.NotEqual(t, before, answers(t, conn, cfg.ClickHouse.Database, view))
	})
}

func TestEntityReloadKeepsOneLatestAndHistory(t *testing.T) {
	conn, cfg := warehousetest.Migrated(t, config.ProtocolNative)
	ctx := context.Background()
	l := newLoader(conn, cfg, 100)
	tbl := load.Table{Name: "campaigns", Columns: []string{"advertiser_id", "campaign_id", "campaign_name", "modify_time"}, Versioned: true}
	mk := func(name string, mod time.Time) []load.Row {
		return []load.Row{campaign{"adv1", "c1", name, mod}, campaign{"adv1", "c2", "other", day0}}
	}
	for range 3 {
		require.NoError(t, l.Insert(ctx, tbl, mk("Spring sale", day0)))
	}
	require.NoError(t, l.Insert(ctx, tbl, mk("Spring sale (renamed)", day0.Add(time.Hour))))
	db := cfg.ClickHouse.Database
	var latest string
	var n uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT campaign_name FROM "+db+".campaigns FINAL WHERE campaign_id = 'c1'").Scan(&latest))
	require.Equal(t, "Spring sale (renamed)", latest)
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM "+db+".campaigns FINAL").Scan(&n))
	require.Equal(t, uint64(2), n)
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM "+db+".campaign_history FINAL WHERE campaign_id = 'c1'").Scan(&n))
	require.Equal(t, uint64(2), n, "one history row per distinct modify_time")
}

type campaign struct {
	adv, id, name string
	mod           time.Time
}

func (c campaign) AppendValues(dst []any) []any { return append(dst, c.adv, c.id, c.name, c.mod) }

func TestRetryableClassification(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&clickhouse.Exception{Code: 202}, true},
		{fmt.Errorf("wrapped: %w", &clickhouse.Exception{Code: 252}), true},
		{&clickhouse.Exception{Code: 60}, false}, // UNKNOWN_TABLE
		{context.Canceled, false},
		{errors.New("some message that mentions TOO_MANY_PARTS"), false}, // codes, never text
	} {
		require.Equal(t, tc.want, load.Retryable(tc.err), "%v", tc.err)
	}
}

func TestNewVersionIncreases(t *testing.T) {
	prev := load.NewVersion()
	for range 10000 {
		v := load.NewVersion()
		require.Greater(t, v, prev)
		prev = v
	}
	require.True(t, strings.HasPrefix(fmt.Sprint(time.UnixMicro(int64(prev>>8)).Year()), "20"))
}

// decimalRow is a row of decimal_check: one nullable and one plain decimal.
type decimalRow struct {
	id           uint64
	nullable     *decimal.Decimal
	plain        *decimal.Decimal
	plainByValue decimal.Decimal
}

func (r decimalRow) AppendValues(dst []any) []any {
	return append(dst, r.id, r.nullable, r.plain, r.plainByValue)
}

// TestDecimalsLandExactly: the loader hands decimals to clickhouse-go
// without their text form; every value, at the edges of the scale and of
// Decimal(18, 6), and NULL, lands as written over both protocols.
func TestDecimalsLandExactly(t *testing.T) {
	warehousetest.ForEachProtocol(t, func(t *testing.T, proto config.Protocol) {
		conn, cfg := warehousetest.Migrated(t, proto)
		ctx := context.Background()
		db := cfg.ClickHouse.Database
		require.NoError(t, conn.Exec(ctx, "CREATE TABLE "+db+".decimal_check (id UInt64, nullable Nullable(Decimal(38, 6)), plain Decimal(18, 6), by_value Decimal(38, 6)) ENGINE = MergeTree ORDER BY id"))
		values := []string{"0", "0.000001", "-0.000001", "19.99", "-123.456789", "999999999999.999999", "-999999999999.999999", "1.5"}
		var rows []load.Row
		var want []string
		for i, s := range values {
			d := decimal.RequireFromString(s)
			r := decimalRow{id: uint64(i), nullable: &d, plain: &d, plainByValue: d}
			wantNullable := d.String()
			if i%3 == 2 {
				r.nullable, wantNullable = nil, "NULL"
			}
			rows = append(rows, r)
			want = append(want, fmt.Sprintf("%d %s %s %s", i, wantNullable, d, d))
		}
		l := load.New(conn, load.Options{Target: schema.Target{Database: db}})
		require.NoError(t, l.Insert(ctx, load.Table{Name: "decimal_check", Columns: []string{"id", "nullable", "plain", "by_value"}}, rows))
		got, err := conn.Query(ctx, "SELECT concat(toString(id), ' ', ifNull(toString(nullable), 'NULL'), ' ', toString(plain), ' ', toString(by_value)) FROM "+db+".decimal_check ORDER BY id")
		require.NoError(t, err)
		defer got.Close()
		var lines []string
		for got.Next() {
			var s string
			require.NoError(t, got.Scan(&s))
			lines = append(lines, s)
		}
		require.NoError(t, got.Err())
		require.Equal(t, want, lines)
	})
}

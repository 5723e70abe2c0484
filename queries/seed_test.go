package queries_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/metrics"
	"github.com/adhouse/adhouse/queries"
	"github.com/adhouse/adhouse/schema"
)

// setup gives a test a fresh database with the schema and every BI view.
func setup(t testing.TB, proto config.Protocol) (driver.Conn, config.Config) {
	t.Helper()
	conn, cfg := warehousetest.Migrated(t, proto)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, queries.Apply(ctx, conn, schema.Target{Database: cfg.ClickHouse.Database}))
	return conn, cfg
}

type advertiser struct{ id, name, currency, timezone string }

// dataset is seeded statistics: ad-day rows and, derived from them as TikTok
// reports them, the rows of every higher level.
type dataset struct {
	advertisers []advertiser
	from, to    time.Time
	levels      map[string][]*load.StatRow // by level name
	// hourly holds hourly rows by level name, when withHours made them.
	hourly map[string][]*load.StatRow
}

func ptr[T any](v T) *T { return &v }

// genDataset makes ads × days ad-level rows per advertiser with the edge cases
// the metrics must survive: zero clicks, zero impressions, zero and NULL
// spend, NULL installs and revenue, 6-decimal money, and exact half-way
// points at the output scale of CPI, CPC and CTR.
func genDataset(seed uint64, advertisers []advertiser, campaigns, adgroups, ads int, from time.Time, days int) *dataset {
	rng := rand.New(rand.NewPCG(seed, 7))
	ds := &dataset{advertisers: advertisers, from: from, to: from.AddDate(0, 0, days-1), levels: map[string][]*load.StatRow{}}
	money := func(maxMicros int64) *decimal.Decimal { return ptr(decimal.New(rng.Int64N(maxMicros), -6)) }
	for _, a := range advertisers {
		for c := range campaigns {
			for g := range adgroups {
				for x := range ads {
					for d := range days {
						r := &load.StatRow{
							AdvertiserID: a.id,
							CampaignID:   fmt.Sprintf("%s-c%02d", a.id, c),
							AdGroupID:    fmt.Sprintf("%s-c%02d-g%02d", a.id, c, g),
							AdID:         fmt.Sprintf("%s-c%02d-g%02d-a%03d", a.id, c, g, x),
							Date:         from.AddDate(0, 0, d), Timezone: a.timezone, Currency: a.currency,
						}
						imp := uint64(rng.IntN(50_000))
						clk := uint64(rng.IntN(int(imp/20 + 1)))
						inst := uint64(rng.IntN(int(clk/3 + 1)))
						r.Set("impressions", ptr(imp)).Set("clicks", ptr(clk))
						r.Set("app_install", ptr(inst)).Set("real_time_app_install", ptr(uint64(rng.IntN(int(inst+2)))))
						r.Set("conversion", ptr(uint64(rng.IntN(int(clk/4+1)))))
						r.Set("reach", ptr(imp/2))
						r.Set("spend", money(900_000_000))
						r.Set("complete_payment", ptr(uint64(rng.IntN(5))))
						r.Set("complete_payment_value", money(3_000_000_000))
						r.Set("total_purchase_value", money(100_000_000))
						switch rng.IntN(16) {
						case 0:
							r.Set("clicks", ptr(uint64(0)))
						case 1:
							r.Set("spend", ptr(decimal.Zero))
						case 2:
							r.Set("app_install", nil) // TikTok "-"
						case 3:
							r.Set("real_time_app_install", nil).Set("complete_payment_value", nil)
						case 4:
							r.Set("impressions", ptr(uint64(0))).Set("clicks", ptr(uint64(0))).Set("app_install", ptr(uint64(0)))
						case 5:
							r.Set("spend", nil)
						case 6: // CPI and CPC exactly half-way at 6 decimals: odd micros / 2
							r.Set("app_install", ptr(uint64(2))).Set("clicks", ptr(uint64(2)))
							r.Set("spend", ptr(decimal.New(2*rng.Int64N(50_000_000)+1, -6)))
						case 7: // CTR exactly half-way at 8 decimals
							r.Set("impressions", ptr(uint64(200_000_000))).Set("clicks", ptr(uint64(2*rng.IntN(1000)+1)))
						case 8: // ROAS half-way at 6 decimals: revenue/spend = (k + 0.5)·10^-6
							m := rng.Int64N(50) + 1
							r.Set("spend", ptr(decimal.New(2_000_000*m, -6)))
							r.Set("complete_payment_value", ptr(decimal.New(m*(2*rng.Int64N(10_000_000)+1), -6)))
						case 9:
							r.Set("conversion", nil)
						}
						if c == campaigns-1 && d == 0 {
							// A whole campaign-day without installs data or
							// clicks: undefined even after aggregation.
							r.Set("app_install", nil).Set("clicks", ptr(uint64(0)))
						}
						ds.levels["ad"] = append(ds.levels["ad"], r)
					}
				}
			}
		}
	}
	ds.rollUpLevels()
	return ds
}

// dropAds removes every n-th ad-day row, as a re-pull in which TikTok no
// longer returns them, and derives the higher levels again.
func (ds *dataset) dropAds(n int) {
	var kept []*load.StatRow
	for i, r := range ds.levels["ad"] {
		if i%n != 0 {
			kept = append(kept, r)
		}
	}
	ds.levels["ad"] = kept
	ds.rollUpLevels()
}

// days is the part of the dataset on days from..to, as a re-load of those
// days alone writes it.
func (ds *dataset) days(from, to time.Time) *dataset {
	within := func(src map[string][]*load.StatRow) map[string][]*load.StatRow {
		if src == nil {
			return nil
		}
		out := map[string][]*load.StatRow{}
		for level, rows := range src {
			for _, r := range rows {
				if !r.Date.Before(from) && !r.Date.After(to) {
					out[level] = append(out[level], r)
				}
			}
		}
		return out
	}
	return &dataset{advertisers: ds.advertisers, from: from, to: to, levels: within(ds.levels), hourly: within(ds.hourly)}
}

// withHours gives every level hourly rows: each daily row split over the
// given local hours, its counts and money divided by their number with the
// remainder in the first hour, so the hours of a day sum to the day.
func (ds *dataset) withHours(hours ...uint8) *dataset {
	ds.hourly = map[string][]*load.StatRow{}
	n := uint64(len(hours))
	for level, rows := range ds.levels {
		for _, r := range rows {
			for i, h := range hours {
				hr := *r
				hr.Metrics = nil // the hour's own values, not the day's
				hr.Hour = h
				hr.TimeUTC = r.Date.Add(time.Duration(h) * time.Hour)
				for _, col := range schema.AdditiveStatColumns() {
					switch v := r.Get(col).(type) {
					case *uint64:
						if v == nil {
							continue
						}
						part := *v / n
						if i == 0 {
							part += *v % n
						}
						hr.Set(col, ptr(part))
					case *decimal.Decimal:
						if v == nil {
							continue
						}
						part := v.Div(decimal.NewFromInt(int64(n))).Truncate(6)
						if i == 0 {
							part = v.Sub(part.Mul(decimal.NewFromInt(int64(n - 1))))
						}
						hr.Set(col, ptr(part))
					}
				}
				ds.hourly[level] = append(ds.hourly[level], &hr)
			}
		}
	}
	return ds
}

// rollUpLevels derives the ad group, campaign and advertiser rows from the
// ad rows.
func (ds *dataset) rollUpLevels() {
	ds.levels["adgroup"] = rollUp(ds.levels["ad"], func(r *load.StatRow) load.StatRow {
		return load.StatRow{AdvertiserID: r.AdvertiserID, CampaignID: r.CampaignID, AdGroupID: r.AdGroupID}
	})
	ds.levels["campaign"] = rollUp(ds.levels["ad"], func(r *load.StatRow) load.StatRow {
		return load.StatRow{AdvertiserID: r.AdvertiserID, CampaignID: r.CampaignID}
	})
	ds.levels["advertiser"] = rollUp(ds.levels["ad"], func(r *load.StatRow) load.StatRow {
		return load.StatRow{AdvertiserID: r.AdvertiserID}
	})
}

// rollUp sums rows per key and day the way TikTok reports a higher level: a
// metric is NULL only where every row below had "-".
func rollUp(rows []*load.StatRow, key func(*load.StatRow) load.StatRow) []*load.StatRow {
	idx := map[string]*load.StatRow{}
	var out []*load.StatRow
	for _, r := range rows {
		id := key(r)
		kk := id.AdvertiserID + "|" + id.CampaignID + "|" + id.AdGroupID + "|" + r.Date.Format(time.DateOnly)
		s := idx[kk]
		if s == nil {
			s = &id
			s.Date, s.Timezone, s.Currency = r.Date, r.Timezone, r.Currency
			idx[kk] = s
			out = append(out, s)
		}
		for _, col := range schema.AdditiveStatColumns() {
			switch v := r.Get(col).(type) {
			case *uint64:
				if v == nil {
					continue
				}
				sum := uint64(0)
				if cur := s.Count(col); cur != nil {
					sum = *cur
				}
				s.Set(col, ptr(sum+*v))
			case *decimal.Decimal:
				if v == nil {
					continue
				}
				sum := decimal.Zero
				if cur := s.Decimal(col); cur != nil {
					sum = *cur
				}
				s.Set(col, ptr(sum.Add(*v)))
			}
		}
	}
	return out
}

// load writes the dataset through the production loader, one window per
// advertiser and level, plus the entity tables with names, and refreshes the
// materialised BI tables, as a sync run does.
func (ds *dataset) load(t testing.TB, conn driver.Conn, cfg config.Config) {
	t.Helper()
	ds.write(t, conn, cfg)
	refresh(t, conn, cfg.ClickHouse.Database)
}

// write is load without the refresh: a run killed after its commits.
func (ds *dataset) write(t testing.TB, conn driver.Conn, cfg config.Config) {
	t.Helper()
	ctx := context.Background()
	l := load.New(conn, load.Options{Target: schema.Target{Database: cfg.ClickHouse.Database}, BatchSize: 200_000})
	for level, rows := range ds.levels {
		loadLevel(t, l, level, "daily", ds.from, ds.to, rows)
	}
	for level, rows := range ds.hourly {
		loadLevel(t, l, level, "hourly", ds.from, ds.to, rows)
	}
	var advs, camps, groups, ads []load.Row
	seen := map[string]bool{}
	for _, a := range ds.advertisers {
		advs = append(advs, entity{a.id, a.name, a.currency, a.timezone})
	}
	for _, r := range ds.levels["ad"] {
		if !seen[r.CampaignID] {
			seen[r.CampaignID] = true
			camps = append(camps, entity{r.AdvertiserID, r.CampaignID, "Campaign " + r.CampaignID})
		}
		if !seen[r.AdGroupID] {
			seen[r.AdGroupID] = true
			groups = append(groups, entity{r.AdvertiserID, r.CampaignID, r.AdGroupID, "Ad group " + r.AdGroupID})
		}
		if !seen[r.AdID] {
			seen[r.AdID] = true
			ads = append(ads, entity{r.AdvertiserID, r.CampaignID, r.AdGroupID, r.AdID, "Ad " + r.AdID})
		}
	}
	for _, e := range []struct {
		table string
		cols  []string
		rows  []load.Row
	}{
		{"advertisers", []string{"advertiser_id", "name", "currency", "timezone"}, advs},
		{"campaigns", []string{"advertiser_id", "campaign_id", "campaign_name"}, camps},
		{"adgroups", []string{"advertiser_id", "campaign_id", "adgroup_id", "adgroup_name"}, groups},
		{"ads", []string{"advertiser_id", "campaign_id", "adgroup_id", "ad_id", "ad_name"}, ads},
	} {
		require.NoError(t, l.Insert(ctx, load.Table{Name: e.table, Columns: e.cols, Versioned: true}, e.rows))
	}
}

// refresh rebuilds what differs in the materialised BI tables, as the end of a
// sync run does, and requires that nothing is left pending.
func refresh(t testing.TB, conn driver.Conn, db string) queries.RefreshResult {
	t.Helper()
	ctx := context.Background()
	r := queries.NewRefresher(conn, schema.Target{Database: db}, queries.RefreshOptions{})
	res, err := r.Refresh(ctx)
	require.NoError(t, err)
	pending, err := r.Pending(ctx)
	require.NoError(t, err)
	for _, p := range pending {
		require.Zero(t, p.Days, "%s still differs after a refresh: %+v", p.Table, p)
	}
	// A build reads the committed rows without grouping them, on the word of
	// the API readers that a window never repeats a row: a table holds each
	// key once.
	for _, m := range queries.MaterialisedTables() {
		key := append(append([]string{"advertiser_id"}, m.Level.IDs...), "stat_date", "timezone", "currency")
		if m.Grain == "hourly" {
			key = append(key, "stat_hour", "stat_time_utc")
		}
		var repeated uint64
		require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM (SELECT 1 FROM %s.%s GROUP BY %s HAVING count() > 1)",
			db, m.Name(), strings.Join(key, ", "))).Scan(&repeated))
		require.Zero(t, repeated, "%s holds a key more than once", m.Name())
	}
	return res
}

// loadLevel loads rows of one level and granularity as windows from..to, one
// window per advertiser, exactly as a sync does; each advertiser of empty
// gets a window without rows, so a re-load can make all its rows vanish.
func loadLevel(t testing.TB, l *load.Loader, level, grain string, from, to time.Time, rows []*load.StatRow, empty ...string) {
	t.Helper()
	ctx := context.Background()
	tbl, ok := load.NewStatsTable(level, grain)
	require.True(t, ok)
	byAdv := map[string][]*load.StatRow{}
	var advs []string
	for _, a := range empty {
		byAdv[a] = nil
		advs = append(advs, a)
	}
	for _, r := range rows {
		if _, ok := byAdv[r.AdvertiserID]; !ok {
			advs = append(advs, r.AdvertiserID)
		}
		byAdv[r.AdvertiserID] = append(byAdv[r.AdvertiserID], r)
	}
	sort.Strings(advs)
	for _, adv := range advs {
		w, err := l.Begin(load.WindowSpec{Table: tbl.Table, AdvertiserID: adv, From: from, To: to, RunID: "test"})
		require.NoError(t, err)
		for _, r := range byAdv[adv] {
			require.NoError(t, w.Append(ctx, tbl.Bind(r)))
		}
		require.NoError(t, w.Commit(ctx))
	}
}

// entity is a row of an entity table: its values in column order.
type entity []any

func (e entity) AppendValues(dst []any) []any { return append(dst, e...) }

// goRow converts a statistics row into the metrics package's Row, with
// TikTok's "-" as NULL, the way TikTokColumns maps bases to columns.
func goRow(t testing.TB, r *load.StatRow) metrics.Row {
	t.Helper()
	var m metrics.Row
	cur, err := metrics.ParseCurrency(r.Currency)
	require.NoError(t, err)
	m.Currency = cur
	for f, col := range queries.TikTokColumns {
		switch v := r.Get(col).(type) {
		case *decimal.Decimal:
			if v != nil {
				require.NoError(t, m.Set(f, v.String()))
				continue
			}
		case *uint64:
			if v != nil {
				require.NoError(t, m.Set(f, fmt.Sprint(*v)))
				continue
			}
		}
		m.SetNull(f)
	}
	return m
}

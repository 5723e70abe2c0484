package load

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/adhouse/adhouse/schema"
)

// StatRow is one row of statistics at any level and granularity, as the
// warehouse stores it. Metrics holds one value per schema.StatColumns entry,
// in catalog order: a *uint64 for counts, a *decimal.Decimal for money and
// ratios, and nil for a metric TikTok sent as "-", which loads as NULL,
// never as zero.
type StatRow struct {
	AdvertiserID string
	CampaignID   string // set at campaign, ad group and ad level
	AdGroupID    string // set at ad group and ad level
	AdID         string // set at ad level
	// Date is the local day, at 00:00 UTC.
	Date time.Time
	// Hour is the local hour (hourly only).
	Hour uint8
	// TimeUTC is the instant the local hour starts (hourly only).
	TimeUTC  time.Time
	Timezone string
	Currency string
	// Metrics are the catalog columns' values; shorter (or nil) means NULL
	// for the rest.
	Metrics []any
	// Extra holds requested metrics without a column of their own.
	Extra map[string]string

	level  int8 // index into schema.Levels
	hourly bool
}

// noExtra is shared by rows without extra metrics; the driver only reads it.
var noExtra = map[string]string{}

// StatDate implements [DatedRow].
func (r *StatRow) StatDate() time.Time { return r.Date }

// statIndex is each catalog column's position in StatRow.Metrics.
var statIndex = func() map[string]int {
	m := make(map[string]int, len(schema.StatColumns))
	for i, c := range schema.StatColumns {
		m[c.Name] = i
	}
	return m
}()

func mustIndex(name string) int {
	i, ok := statIndex[name]
	if !ok {
		panic("load: no statistics column " + name)
	}
	return i
}

// Set sets the catalog column name to v (a *uint64, a *decimal.Decimal, or
// nil for NULL) and returns r. It panics on a name outside the catalog.
func (r *StatRow) Set(name string, v any) *StatRow {
	i := mustIndex(name)
	if len(r.Metrics) < len(schema.StatColumns) {
		r.Metrics = append(r.Metrics, make([]any, len(schema.StatColumns)-len(r.Metrics))...)
	}
	r.Metrics[i] = v
	return r
}

// Get returns the value of the catalog column name, nil when NULL.
func (r *StatRow) Get(name string) any {
	if i := mustIndex(name); i < len(r.Metrics) {
		return r.Metrics[i]
	}
	return nil
}

// Count returns a count column's value, nil when NULL.
func (r *StatRow) Count(name string) *uint64 {
	v, _ := r.Get(name).(*uint64)
	return v
}

// Decimal returns a money or ratio column's value, nil when NULL.
func (r *StatRow) Decimal(name string) *decimal.Decimal {
	v, _ := r.Get(name).(*decimal.Decimal)
	return v
}

// metricColumns are the columns after the ids and time of every statistics
// table: the currency, the catalog, and the metrics without a column.
var metricColumns = append(append([]string{"currency"}, schema.StatColumnNames()...), "extra_metrics")

// StatsTable describes the versioned statistics table of a level
// ("advertiser", "campaign", "adgroup", "ad") and granularity ("daily",
// "hourly"), and stamps rows with it.
type StatsTable struct {
	Table
	level  int8
	hourly bool
}

// NewStatsTable returns the table for a level and granularity, or false.
func NewStatsTable(level, granularity string) (StatsTable, bool) {
	for i, l := range schema.Levels {
		if l.Name != level {
			continue
		}
		if granularity != "daily" && granularity != "hourly" {
			return StatsTable{}, false
		}
		cols := append([]string{"advertiser_id"}, l.IDs...)
		if granularity == "hourly" {
			cols = append(cols, "stat_date", "stat_hour", "stat_time_utc", "timezone")
		} else {
			cols = append(cols, "stat_date", "timezone")
		}
		cols = append(cols, metricColumns...)
		return StatsTable{
			Table:  Table{Name: schema.StatsTable(level, granularity), Columns: cols, Versioned: true},
			level:  int8(i),
			hourly: granularity == "hourly",
		}, true
	}
	return StatsTable{}, false
}

// Bind marks r as a row of t, so it appends exactly t's columns.
func (t StatsTable) Bind(r *StatRow) *StatRow {
	r.level, r.hourly = t.level, t.hourly
	return r
}

// AppendValues implements [Row] in the column order of its [StatsTable].
func (r *StatRow) AppendValues(dst []any) []any {
	dst = append(dst, r.AdvertiserID)
	switch r.level {
	case 1:
		dst = append(dst, r.CampaignID)
	case 2:
		dst = append(dst, r.CampaignID, r.AdGroupID)
	case 3:
		dst = append(dst, r.CampaignID, r.AdGroupID, r.AdID)
	}
	if r.hourly {
		dst = append(dst, r.Date, r.Hour, r.TimeUTC, r.Timezone)
	} else {
		dst = append(dst, r.Date, r.Timezone)
	}
	extra := r.Extra
	if extra == nil {
		extra = noExtra
	}
	dst = append(dst, r.Currency)
	dst = append(dst, r.Metrics...)
	for range len(schema.StatColumns) - len(r.Metrics) {
		dst = append(dst, nil)
	}
	return append(dst, extra)
}

// NewColumns implements [ColumnRow]: statistics load column by column.
func (r *StatRow) NewColumns(n int) ColumnBuffer {
	c := &statColumns{level: r.level, hourly: r.hourly, metrics: make([]metricColumn, len(schema.StatColumns))}
	for i := range c.ids[:r.level+1] {
		c.ids[i] = make([]string, 0, n)
	}
	c.date, c.timezone, c.currency, c.extra = make([]time.Time, 0, n), make([]string, 0, n), make([]string, 0, n), make([]map[string]string, 0, n)
	if r.hourly {
		c.hour, c.timeUTC = make([]uint8, 0, n), make([]time.Time, 0, n)
	}
	for i, col := range schema.StatColumns {
		if col.Decimal() {
			c.metrics[i].decimals = make([]*decimal.Decimal, 0, n)
		} else {
			c.metrics[i].counts = make([]*uint64, 0, n)
		}
	}
	return c
}

// statColumns holds statistics rows of one table as its columns.
type statColumns struct {
	level         int8
	hourly        bool
	ids           [4][]string // advertiser, campaign, ad group and ad, as deep as the level
	date, timeUTC []time.Time
	hour          []uint8
	timezone      []string
	currency      []string
	metrics       []metricColumn // the catalog's columns, in its order
	extra         []map[string]string
}

// metricColumn is one catalog column: decimals or counts, the other nil.
// Typed slices, not an []any of them: storing each appended slice back in
// an interface allocated a slice header, 25 allocations a row.
type metricColumn struct {
	decimals []*decimal.Decimal
	counts   []*uint64
}

// Add implements [ColumnBuffer]; r is a *StatRow of the same table.
func (c *statColumns) Add(row Row) {
	r := row.(*StatRow)
	ids := [4]string{r.AdvertiserID, r.CampaignID, r.AdGroupID, r.AdID}
	for i, id := range ids[:c.level+1] {
		c.ids[i] = append(c.ids[i], id)
	}
	c.date = append(c.date, r.Date)
	if c.hourly {
		c.hour, c.timeUTC = append(c.hour, r.Hour), append(c.timeUTC, r.TimeUTC)
	}
	c.timezone, c.currency = append(c.timezone, r.Timezone), append(c.currency, r.Currency)
	for i := range c.metrics {
		m := &c.metrics[i]
		var v any
		if i < len(r.Metrics) {
			v = r.Metrics[i]
		}
		if m.decimals != nil {
			d, ok := v.(*decimal.Decimal)
			if !ok && v != nil {
				panic(fmt.Sprintf("load: statistics column %s holds a %T, not a *decimal.Decimal", schema.StatColumns[i].Name, v))
			}
			m.decimals = append(m.decimals, d)
			continue
		}
		n, ok := v.(*uint64)
		if !ok && v != nil {
			panic(fmt.Sprintf("load: statistics column %s holds a %T, not a *uint64", schema.StatColumns[i].Name, v))
		}
		m.counts = append(m.counts, n)
	}
	extra := r.Extra
	if extra == nil {
		extra = noExtra
	}
	c.extra = append(c.extra, extra)
}

// Len implements [Columns].
func (c *statColumns) Len() int { return len(c.date) }

// Slices implements [Columns], in the column order of the [StatsTable].
func (c *statColumns) Slices() []any {
	out := make([]any, 0, len(c.metrics)+10)
	for _, ids := range c.ids[:c.level+1] {
		out = append(out, ids)
	}
	if c.hourly {
		out = append(out, c.date, c.hour, c.timeUTC, c.timezone)
	} else {
		out = append(out, c.date, c.timezone)
	}
	out = append(out, c.currency)
	for _, m := range c.metrics {
		if m.decimals != nil {
			out = append(out, m.decimals)
		} else {
			out = append(out, m.counts)
		}
	}
	return append(out, c.extra)
}

package load

import (
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

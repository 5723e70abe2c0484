package extract

import (
	"encoding/json"
	"time"

	"github.com/shopspring/decimal"

	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/schema"
)

// parents maps an ad group or ad to its campaign and ad group, from the
// entities, so statistics rows carry their whole path even for deleted ads.
type parents struct {
	adgroupCampaign map[string]string
	adAdGroup       map[string]string
	adCampaign      map[string]string
}

func newParents() *parents {
	return &parents{adgroupCampaign: map[string]string{}, adAdGroup: map[string]string{}, adCampaign: map[string]string{}}
}

// statRow turns a decoded report row into the warehouse row of t, with the
// parents of ad groups and ads filled from the entities.
func statRow(t load.StatsTable, r *tiktok.ReportRow, currency string, p *parents) *load.StatRow {
	out := StatRowOf(t, r, currency)
	switch r.Level {
	case tiktok.LevelAdGroup:
		out.CampaignID = firstOf(out.CampaignID, p.adgroupCampaign[r.EntityID])
	case tiktok.LevelAd:
		out.AdGroupID = firstOf(out.AdGroupID, p.adAdGroup[r.EntityID])
		out.CampaignID = firstOf(out.CampaignID, p.adCampaign[r.EntityID])
	}
	return out
}

// StatRowOf turns a decoded report row into the warehouse row of t; parents
// come only from attribute metrics (campaign_id, adgroup_id) if requested.
// The row's values point into r's metrics, so r must not change while the
// row is in use.
func StatRowOf(t load.StatsTable, r *tiktok.ReportRow, currency string) *load.StatRow {
	// One allocation holds the row and its column values: a pointer per
	// metric would cost a score of allocations per row, on millions of
	// rows, and a copy of the metrics to point into took a third of the
	// conversion's time.
	a := &rowAlloc{}
	m := &r.Metrics
	out := &a.row
	*out = load.StatRow{
		AdvertiserID: r.AdvertiserID,
		Date:         r.Date.Time(),
		Timezone:     r.Timezone,
		Currency:     currency,
		Metrics:      a.vals[:len(statColumns)],
		Extra:        extras(m),
	}
	for i, get := range statColumns {
		out.Metrics[i] = get(m)
	}
	if r.Granularity == tiktok.Hourly {
		out.Hour = uint8(r.Hour)
		out.TimeUTC = r.StartUTC
	}
	id := r.EntityID
	switch r.Level {
	case tiktok.LevelCampaign:
		out.CampaignID = id
	case tiktok.LevelAdGroup:
		out.AdGroupID, out.CampaignID = id, m.Extra["campaign_id"]
	case tiktok.LevelAd:
		out.AdID, out.AdGroupID, out.CampaignID = id, m.Extra["adgroup_id"], m.Extra["campaign_id"]
	}
	return t.Bind(out)
}

// metricValue reads one metric of decoded TikTok metrics as a column value:
// a pointer into m, or nil when TikTok sent "-".
type metricValue func(m *tiktok.Metrics) any

// valueOf returns the reader of a known TikTok metric, or nil.
func valueOf(metric string) metricValue {
	if cnt := tiktok.CountField(metric); cnt != nil {
		return func(m *tiktok.Metrics) any { return u64p(cnt(m)) }
	}
	if dec := tiktok.DecimalField(metric); dec != nil {
		return func(m *tiktok.Metrics) any { return decp(dec(m)) }
	}
	return nil
}

// statColumns reads each schema.StatColumns entry from decoded metrics, in
// catalog order; a catalog metric TikTok's client does not decode is a bug
// that TestCatalogMetricsAreDecoded catches.
var statColumns = func() []metricValue {
	out := make([]metricValue, len(schema.StatColumns))
	for i, c := range schema.StatColumns {
		if out[i] = valueOf(c.Metric); out[i] == nil {
			out[i] = func(*tiktok.Metrics) any { return nil }
		}
	}
	return out
}()

// columnlessMetric is a metric the client decodes into a typed field but
// the warehouse has no column for (cash spend, frequency…).
type columnlessMetric struct {
	name string
	text func(*tiktok.Metrics) (text string, valid bool)
}

// columnless lists them, kept in extra_metrics as text.
var columnless = func() []columnlessMetric {
	inCatalog := map[string]bool{}
	for _, c := range schema.StatColumns {
		inCatalog[c.Metric] = true
	}
	var out []columnlessMetric
	for _, name := range tiktok.KnownMetrics() {
		if inCatalog[name] {
			continue
		}
		if cnt := tiktok.CountField(name); cnt != nil {
			out = append(out, columnlessMetric{name, func(m *tiktok.Metrics) (string, bool) {
				if v := cnt(m); v.Valid {
					return v.String(), true
				}
				return "", false
			}})
		} else if dec := tiktok.DecimalField(name); dec != nil {
			out = append(out, columnlessMetric{name, func(m *tiktok.Metrics) (string, bool) {
				// Only a value TikTok sent is formatted: a row has more
				// of these metrics missing than present.
				if v := dec(m); v.Valid {
					return v.Decimal.String(), true
				}
				return "", false
			}})
		}
	}
	return out
}()

// extras keeps what has no column: metrics without a typed field, and the
// typed ones without a catalog column.
func extras(m *tiktok.Metrics) map[string]string {
	var out map[string]string
	put := func(k, v string) {
		if out == nil {
			out = make(map[string]string, len(m.Extra)+4)
		}
		out[k] = v
	}
	for k, v := range m.Extra {
		put(k, v)
	}
	for _, c := range columnless {
		if text, ok := c.text(m); ok {
			put(c.name, text)
		}
	}
	return out
}

// maxStatColumns bounds the catalog so a row's values fit in its
// allocation, with room for a few more columns; a larger bound only costs
// memory on every row.
const maxStatColumns = 32

// rowAlloc is a statistics row together with its column values.
type rowAlloc struct {
	row  load.StatRow
	vals [maxStatColumns]any
}

// u64p points at a count's value, or is nil when TikTok sent "-".
func u64p(v *tiktok.NullUint64) any {
	if !v.Valid {
		return nil
	}
	return &v.Uint64
}

// decp points at a decimal's value, or is nil when TikTok sent "-".
func decp(v *tiktok.NullDecimal) any {
	if !v.Valid {
		return nil
	}
	return &v.Decimal
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func ts(t tiktok.Timestamp) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

func dec(d tiktok.NullDecimal) *decimal.Decimal { return d.Ptr() }

func raw(b json.RawMessage) string { return string(b) }

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

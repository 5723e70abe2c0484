package extract

import (
	"encoding/json"
	"time"

	"github.com/shopspring/decimal"

	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/tiktok"
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
func StatRowOf(t load.StatsTable, r *tiktok.ReportRow, currency string) *load.StatRow {
	// One allocation holds the row and a copy of its metrics, and the row's
	// nullable fields point into that copy: a pointer per metric would cost a
	// score of allocations per row, on millions of rows.
	a := &rowAlloc{m: r.Metrics}
	m := &a.m
	out := &a.row
	*out = load.StatRow{
		AdvertiserID: r.AdvertiserID,
		Date:         r.Date.Time(),
		Timezone:     r.Timezone,
		Currency:     currency,

		Spend:                decp(&m.Spend),
		Impressions:          u64p(&m.Impressions),
		Clicks:               u64p(&m.Clicks),
		Reach:                u64p(&m.Reach),
		Conversion:           u64p(&m.Conversion),
		RealTimeConversion:   u64p(&m.RealTimeConversion),
		AppInstall:           u64p(&m.AppInstall),
		RealTimeAppInstall:   u64p(&m.RealTimeAppInstall),
		CompletePayment:      u64p(&m.CompletePayment),
		CompletePaymentValue: decp(&m.TotalCompletePaymentRate),
		TotalPurchaseValue:   decp(&m.TotalPurchaseValue),
		VideoPlayActions:     u64p(&m.VideoPlayActions),
		VideoWatched2s:       u64p(&m.VideoWatched2s),
		VideoWatched6s:       u64p(&m.VideoWatched6s),
		Likes:                u64p(&m.Likes),
		Comments:             u64p(&m.Comments),
		Shares:               u64p(&m.Shares),
		Follows:              u64p(&m.Follows),
		ProfileVisits:        u64p(&m.ProfileVisits),
		ReportedCTR:          decp(&m.CTR),
		ReportedCPC:          decp(&m.CPC),
		ReportedCPM:          decp(&m.CPM),
		Extra:                extras(m),
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

// extras keeps what has no column: metrics without a typed field, and the
// typed ones the warehouse has no column for (video quartiles, cash spend…).
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
	counts := [...]struct {
		name string
		v    tiktok.NullUint64
	}{
		{"video_views_p25", m.VideoViewsP25}, {"video_views_p50", m.VideoViewsP50},
		{"video_views_p75", m.VideoViewsP75}, {"video_views_p100", m.VideoViewsP100},
	}
	for _, c := range counts {
		if c.v.Valid {
			put(c.name, c.v.String())
		}
	}
	decimals := [...]struct {
		name string
		v    tiktok.NullDecimal
	}{{"cash_spend", m.CashSpend}, {"voucher_spend", m.VoucherSpend}, {"frequency", m.Frequency}}
	for _, d := range decimals {
		if d.v.Valid {
			put(d.name, d.v.Decimal.String())
		}
	}
	return out
}

// rowAlloc is a statistics row together with the metric values it points to.
type rowAlloc struct {
	row load.StatRow
	m   tiktok.Metrics
}

// u64p points at a count's value, or is nil when TikTok sent "-".
func u64p(v *tiktok.NullUint64) *uint64 {
	if !v.Valid {
		return nil
	}
	return &v.Uint64
}

// decp points at a decimal's value, or is nil when TikTok sent "-".
func decp(v *tiktok.NullDecimal) *decimal.Decimal {
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

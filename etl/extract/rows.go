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
	m := &r.Metrics
	out := &load.StatRow{
		AdvertiserID: r.AdvertiserID,
		Date:         r.Date.Time(),
		Timezone:     r.Timezone,
		Currency:     currency,

		Spend:                m.Spend.Ptr(),
		Impressions:          m.Impressions.Ptr(),
		Clicks:               m.Clicks.Ptr(),
		Reach:                m.Reach.Ptr(),
		Conversion:           m.Conversion.Ptr(),
		RealTimeConversion:   m.RealTimeConversion.Ptr(),
		AppInstall:           m.AppInstall.Ptr(),
		RealTimeAppInstall:   m.RealTimeAppInstall.Ptr(),
		CompletePayment:      m.CompletePayment.Ptr(),
		CompletePaymentValue: m.TotalCompletePaymentRate.Ptr(),
		TotalPurchaseValue:   m.TotalPurchaseValue.Ptr(),
		VideoPlayActions:     m.VideoPlayActions.Ptr(),
		VideoWatched2s:       m.VideoWatched2s.Ptr(),
		VideoWatched6s:       m.VideoWatched6s.Ptr(),
		Likes:                m.Likes.Ptr(),
		Comments:             m.Comments.Ptr(),
		Shares:               m.Shares.Ptr(),
		Follows:              m.Follows.Ptr(),
		ProfileVisits:        m.ProfileVisits.Ptr(),
		ReportedCTR:          m.CTR.Ptr(),
		ReportedCPC:          m.CPC.Ptr(),
		ReportedCPM:          m.CPM.Ptr(),
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

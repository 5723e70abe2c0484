package load

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/adhouse/adhouse/schema"
)

// StatRow is one row of statistics at any level and granularity, as the
// warehouse stores it. Nil pointers are metrics TikTok sent as "-": they load
// as NULL, never as zero.
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

	Spend                *decimal.Decimal
	Impressions          *uint64
	Clicks               *uint64
	Reach                *uint64
	Conversion           *uint64
	RealTimeConversion   *uint64
	AppInstall           *uint64
	RealTimeAppInstall   *uint64
	CompletePayment      *uint64
	CompletePaymentValue *decimal.Decimal
	TotalPurchaseValue   *decimal.Decimal
	VideoPlayActions     *uint64
	VideoWatched2s       *uint64
	VideoWatched6s       *uint64
	Likes                *uint64
	Comments             *uint64
	Shares               *uint64
	Follows              *uint64
	ProfileVisits        *uint64
	ReportedCTR          *decimal.Decimal
	ReportedCPC          *decimal.Decimal
	ReportedCPM          *decimal.Decimal
	// Extra holds requested metrics without a column of their own.
	Extra map[string]string

	level  int8 // index into schema.Levels
	hourly bool
}

// noExtra is shared by rows without extra metrics; the driver only reads it.
var noExtra = map[string]string{}

// StatDate implements [DatedRow].
func (r *StatRow) StatDate() time.Time { return r.Date }

var metricColumns = []string{
	"currency", "spend", "impressions", "clicks", "reach", "conversion", "real_time_conversion",
	"app_install", "real_time_app_install", "complete_payment", "complete_payment_value",
	"total_purchase_value", "video_play_actions", "video_watched_2s", "video_watched_6s",
	"likes", "comments", "shares", "follows", "profile_visits",
	"reported_ctr", "reported_cpc", "reported_cpm", "extra_metrics",
}

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
	return append(dst, r.Currency, r.Spend, r.Impressions, r.Clicks, r.Reach, r.Conversion, r.RealTimeConversion,
		r.AppInstall, r.RealTimeAppInstall, r.CompletePayment, r.CompletePaymentValue,
		r.TotalPurchaseValue, r.VideoPlayActions, r.VideoWatched2s, r.VideoWatched6s,
		r.Likes, r.Comments, r.Shares, r.Follows, r.ProfileVisits,
		r.ReportedCTR, r.ReportedCPC, r.ReportedCPM, extra)
}

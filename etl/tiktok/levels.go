package tiktok

import (
	"fmt"
	"strings"
)

// Level is a report data_level. Only the AUCTION levels of the BASIC report
// are supported, which is what a spend warehouse needs.
type Level string

// The four AUCTION data levels of the integrated report.
const (
	LevelAdvertiser Level = "AUCTION_ADVERTISER"
	LevelCampaign   Level = "AUCTION_CAMPAIGN"
	LevelAdGroup    Level = "AUCTION_ADGROUP"
	LevelAd         Level = "AUCTION_AD"
)

// Levels lists the data levels from the coarsest to the finest.
var Levels = []Level{LevelAdvertiser, LevelCampaign, LevelAdGroup, LevelAd}

// IDDimension returns the ID dimension of the level ("campaign_id" for
// LevelCampaign) or "" for an unknown level.
func (l Level) IDDimension() string {
	switch l {
	case LevelAdvertiser:
		return "advertiser_id"
	case LevelCampaign:
		return "campaign_id"
	case LevelAdGroup:
		return "adgroup_id"
	case LevelAd:
		return "ad_id"
	}
	return ""
}

// StatusField returns the filtering field that must carry STATUS_ALL for the
// report to include deleted objects. It is "" at advertiser level, where no
// filter is needed, and it must match the level: TikTok rejects
// campaign_status at ad level.
func (l Level) StatusField() string {
	switch l {
	case LevelCampaign:
		return "campaign_status"
	case LevelAdGroup:
		return "adgroup_status"
	case LevelAd:
		return "ad_status"
	}
	return ""
}

// Valid reports whether l is one of the four supported levels.
func (l Level) Valid() bool { return l.IDDimension() != "" }

// Name returns the level's name everywhere outside the API's wire format
// ("advertiser", "campaign", "adgroup", "ad"): configuration, logs, tables
// (schema.Levels) and metrics labels.
func (l Level) Name() string {
	return strings.TrimSuffix(l.IDDimension(), "_id")
}

// ParseLevel accepts a data_level ("AUCTION_AD") or a short name ("ad").
func ParseLevel(s string) (Level, error) {
	for _, l := range Levels {
		if strings.EqualFold(s, string(l)) || strings.EqualFold(s, l.Name()) {
			return l, nil
		}
	}
	return "", fmt.Errorf("tiktok: unknown data level %q", s)
}

// Granularity is the time dimension of a report.
type Granularity string

// Report time dimensions.
const (
	Daily  Granularity = "stat_time_day"
	Hourly Granularity = "stat_time_hour"
)

// MaxDays returns the longest inclusive date range TikTok accepts in one
// request for the granularity: 30 days daily, 1 day hourly.
func (g Granularity) MaxDays() int {
	if g == Hourly {
		return 1
	}
	return 30
}

// Valid reports whether g is Daily or Hourly.
func (g Granularity) Valid() bool { return g == Daily || g == Hourly }

// Name returns the granularity's name everywhere outside the API's wire
// format ("daily", "hourly"): configuration, logs and tables
// (schema.Granularities).
func (g Granularity) Name() string {
	if g == Hourly {
		return "hourly"
	}
	return "daily"
}

// ParseGranularity accepts a name ("daily", "hourly") or the API's dimension
// ("stat_time_day", "stat_time_hour").
func ParseGranularity(s string) (Granularity, error) {
	switch strings.ToLower(s) {
	case "stat_time_day", "daily":
		return Daily, nil
	case "stat_time_hour", "hourly":
		return Hourly, nil
	}
	return "", fmt.Errorf("tiktok: unknown granularity %q", s)
}

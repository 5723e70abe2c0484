package tiktok

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// ReportQuery selects one synchronous BASIC report window for one advertiser.
type ReportQuery struct {
	AdvertiserID string
	Level        Level
	Granularity  Granularity
	// Start and End are inclusive local dates in the advertiser's timezone; at
	// most 30 days apart for Daily and the same day for Hourly.
	Start, End Date
	// Metrics to request; nil means DefaultMetrics.
	Metrics []string
	// Location is the advertiser's timezone, used to compute UTC instants.
	// If nil the client looks it up once with /advertiser/info/ and caches it.
	Location *time.Location
	// ExcludeDeleted leaves out deleted campaigns/ad groups/ads. By default the
	// report filters on STATUS_ALL so deleted objects keep their history:
	// TikTok auto-deletes old ads and would otherwise drop their spend.
	ExcludeDeleted bool
	// PageSize overrides the client's page size (1..1000).
	PageSize int
}

// Validate checks the query against TikTok's documented limits before any
// request is made.
func (q ReportQuery) Validate() error { return q.validate(q.Granularity.MaxDays()) }

// validate is Validate with the longest range allowed (0: no limit, as for
// asynchronous report tasks).
func (q ReportQuery) validate(maxDays int) error {
	switch {
	case q.AdvertiserID == "":
		return fmt.Errorf("tiktok: report query: no advertiser_id: %w", ErrInvalidRequest)
	case !q.Level.Valid():
		return fmt.Errorf("tiktok: report query: invalid data level %q: %w", q.Level, ErrInvalidRequest)
	case !q.Granularity.Valid():
		return fmt.Errorf("tiktok: report query: invalid granularity %q: %w", q.Granularity, ErrInvalidRequest)
	case q.Start.IsZero() || q.End.IsZero():
		return fmt.Errorf("tiktok: report query: start and end dates are required: %w", ErrInvalidRequest)
	case q.End.Before(q.Start):
		return fmt.Errorf("tiktok: report query: end %s before start %s: %w", q.End, q.Start, ErrInvalidRequest)
	case maxDays > 0 && q.Start.DaysUntil(q.End)+1 > maxDays:
		return fmt.Errorf("tiktok: report query: %s to %s is %d days, more than the %d allowed for %s: %w",
			q.Start, q.End, q.Start.DaysUntil(q.End)+1, maxDays, q.Granularity, ErrInvalidRequest)
	case q.PageSize < 0 || q.PageSize > MaxPageSize:
		return fmt.Errorf("tiktok: report query: page size %d outside 1..%d: %w", q.PageSize, MaxPageSize, ErrInvalidRequest)
	}
	return nil
}

// metrics returns the metric list to request.
func (q ReportQuery) metrics() []string {
	if len(q.Metrics) == 0 {
		return DefaultMetrics
	}
	return q.Metrics
}

// Params returns the query parameters of page page of the report, as sent to
// /report/integrated/get/.
func (q ReportQuery) Params(page, pageSize int) url.Values {
	v := url.Values{}
	v.Set("advertiser_id", q.AdvertiserID)
	v.Set("report_type", "BASIC")
	v.Set("service_type", "AUCTION")
	v.Set("data_level", string(q.Level))
	v.Set("dimensions", jsonArray([]string{q.Level.IDDimension(), string(q.Granularity)}))
	v.Set("metrics", jsonArray(q.metrics()))
	v.Set("start_date", q.Start.String())
	v.Set("end_date", q.End.String())
	v.Set("page", strconv.Itoa(page))
	v.Set("page_size", strconv.Itoa(pageSize))
	if f := q.Level.StatusField(); f != "" && !q.ExcludeDeleted {
		// filter_value is itself a JSON-array string, per the SDK.
		filter := []map[string]string{{"field_name": f, "filter_type": "IN", "filter_value": `["STATUS_ALL"]`}}
		b, _ := json.Marshal(filter)
		v.Set("filtering", string(b))
	}
	return v
}

// DateRange is an inclusive range of local dates.
type DateRange struct {
	Start, End Date
}

// Windows splits [start, end] into consecutive windows of at most days days
// (capped at the granularity's maximum), for backfills and for shrinking a
// window after ErrQueryTooLarge.
func Windows(start, end Date, g Granularity, days int) []DateRange {
	if days <= 0 || days > g.MaxDays() {
		days = g.MaxDays()
	}
	var out []DateRange
	for s := start; !s.After(end); s = s.AddDays(days) {
		e := s.AddDays(days - 1)
		if e.After(end) {
			e = end
		}
		out = append(out, DateRange{Start: s, End: e})
	}
	return out
}

package tiktok

import (
	"sort"
	"time"
)

// Daylight saving time. TikTok labels hourly rows with the local wall-clock
// hour ("2026-10-25 02:00:00") and no offset. TikTok Ads Manager documents
// fixed-offset account timezones only, but /advertiser/info/ may name a zone
// with daylight saving time (Europe/Berlin), and then a local day has 23 hours
// (the skipped hour has no label) or 25: the repeated hour carries the same
// label twice, in time order, once per occurrence. adhouse keeps both: the
// first row of a repeated label is its first occurrence, the second row its
// second (ReportRow.Fold 1, StartUTC one hour later), so they are stored as
// two rows with one stat_hour and two stat_time_utc, never merged.

// HourStarts returns the instants at which local hour hour of day d begins in
// loc, earliest first: none for the hour a spring-forward day skips, two for
// the hour a fall-back day repeats, one otherwise.
func (d Date) HourStarts(loc *time.Location, hour int) []time.Time {
	naive := time.Date(d.Year, d.Month, d.Day, hour, 0, 0, 0, time.UTC)
	var out []time.Time
	// The offsets in force around the day: a day holds at most one change.
	for _, probe := range []time.Time{naive.Add(-36 * time.Hour), naive, naive.Add(36 * time.Hour)} {
		_, off := probe.In(loc).Zone()
		t := naive.Add(-time.Duration(off) * time.Second).In(loc)
		if t.Year() != d.Year || t.Month() != d.Month || t.Day() != d.Day || t.Hour() != hour || t.Minute() != 0 {
			continue
		}
		dup := false
		for _, o := range out {
			dup = dup || o.Equal(t)
		}
		if !dup {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// admit records a row's key and reports whether it is new to the report. A
// second row with the label of an hour that the advertiser's timezone repeats
// that day is the hour's second occurrence: it is admitted as such (Fold 1,
// StartUTC of the later instant). Any other repeat is not new.
func (s *keySet) admit(r *ReportRow, loc *time.Location) bool {
	if s.add(r.EntityID, r.Date, r.Hour) {
		return true
	}
	if r.Granularity != Hourly || loc == nil {
		return false
	}
	starts := r.Date.HourStarts(loc, r.Hour)
	if len(starts) < 2 || !s.add(r.EntityID, r.Date, r.Hour+24) {
		return false
	}
	r.Fold, r.StartUTC = 1, starts[1].UTC()
	return true
}

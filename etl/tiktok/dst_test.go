package tiktok_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
)

func TestHourStarts(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		tz   string
		day  tiktok.Date
		hour int
		want []time.Time
		in   time.Time // Date.In: the first start, or where a skipped hour's clock jumps
	}{
		{"Europe/Berlin", date(2026, 3, 29), 1, []time.Time{utc("2026-03-29T00:00:00Z")}, utc("2026-03-29T00:00:00Z")},
		{"Europe/Berlin", date(2026, 3, 29), 2, nil, utc("2026-03-29T01:00:00Z")},
		{"Europe/Berlin", date(2026, 3, 29), 3, []time.Time{utc("2026-03-29T01:00:00Z")}, utc("2026-03-29T01:00:00Z")},
		{"Europe/Berlin", date(2026, 10, 25), 1, []time.Time{utc("2026-10-24T23:00:00Z")}, utc("2026-10-24T23:00:00Z")},
		{"Europe/Berlin", date(2026, 10, 25), 2, []time.Time{utc("2026-10-25T00:00:00Z"), utc("2026-10-25T01:00:00Z")}, utc("2026-10-25T00:00:00Z")},
		{"Europe/Berlin", date(2026, 10, 25), 3, []time.Time{utc("2026-10-25T02:00:00Z")}, utc("2026-10-25T02:00:00Z")},
		{"America/New_York", date(2026, 11, 1), 1, []time.Time{utc("2026-11-01T05:00:00Z"), utc("2026-11-01T06:00:00Z")}, utc("2026-11-01T05:00:00Z")},
		{"America/New_York", date(2026, 11, 1), 0, []time.Time{utc("2026-11-01T04:00:00Z")}, utc("2026-11-01T04:00:00Z")},
		{"Etc/GMT+8", date(2026, 10, 25), 2, []time.Time{utc("2026-10-25T10:00:00Z")}, utc("2026-10-25T10:00:00Z")},
		{"Asia/Kolkata", date(2026, 10, 25), 0, []time.Time{utc("2026-10-24T18:30:00Z")}, utc("2026-10-24T18:30:00Z")},
	}
	for _, tc := range tests {
		loc, err := time.LoadLocation(tc.tz)
		if err != nil {
			t.Fatal(err)
		}
		got := tc.day.HourStarts(loc, tc.hour)
		if len(got) != len(tc.want) {
			t.Errorf("%s %s %02d:00: starts %v, want %v", tc.tz, tc.day, tc.hour, got, tc.want)
			continue
		}
		for i := range got {
			if !got[i].Equal(tc.want[i]) {
				t.Errorf("%s %s %02d:00: start %d is %s, want %s", tc.tz, tc.day, tc.hour, i, got[i].UTC(), tc.want[i])
			}
		}
		if in := tc.day.In(loc, tc.hour); !in.Equal(tc.in) {
			t.Errorf("%s %s %02d:00: In = %s, want %s", tc.tz, tc.day, tc.hour, in.UTC(), tc.in)
		}
	}
}

// TestReportAcrossDaylightSaving pulls hourly reports of advertisers in
// Europe/Berlin and America/New_York on the days their clocks change, pages
// of 37 rows splitting the repeated hour's two rows apart: the skipped hour
// has no row, the repeated hour has two (the second with Fold 1 and the later
// instant), every row equals the simulator's truth, the hours of an entity
// are an hour apart, and they sum to the daily row. The same day through a
// report task (a CSV file) gives the same rows.
func TestReportAcrossDaylightSaving(t *testing.T) {
	srv, c := simClient(t, tiktoksim.Config{Seed: 11, Advertisers: 4, StartDate: date(2026, 3, 1), Days: 250})
	tasks := fastTasks(c)
	ctx := context.Background()
	advs := srv.AdvertiserIDs()
	for _, tc := range []struct {
		adv   string
		day   tiktok.Date
		hours int
	}{
		{advs[2], date(2026, 3, 29), 23},  // Europe/Berlin: 02:00 skipped
		{advs[2], date(2026, 10, 25), 25}, // Europe/Berlin: 02:00 twice
		{advs[3], date(2026, 3, 8), 23},   // America/New_York
		{advs[3], date(2026, 11, 1), 25},
	} {
		for _, lvl := range tiktok.Levels {
			t.Run(fmt.Sprintf("%s/%s/%s", tc.adv[len(tc.adv)-1:], tc.day, lvl.Name()), func(t *testing.T) {
				q := tiktok.ReportQuery{AdvertiserID: tc.adv, Level: lvl, Granularity: tiktok.Hourly, Start: tc.day, End: tc.day, PageSize: 37}
				rows, _, err := pull(ctx, c, q)
				if err != nil {
					t.Fatal(err)
				}
				want, err := srv.Truth(tc.adv, lvl, tiktok.Hourly, tc.day, tc.day)
				if err != nil {
					t.Fatal(err)
				}
				tiktok.SortRows(rows)
				tiktok.SortRows(want)
				requireSameRows(t, rows, want)
				// The report task's file labels hours the same way.
				taskRows, _, err := pullTask(ctx, tasks, tiktok.ReportQuery{AdvertiserID: tc.adv, Level: lvl, Granularity: tiktok.Hourly, Start: tc.day, End: tc.day})
				if err != nil {
					t.Fatal(err)
				}
				tiktok.SortRows(taskRows)
				requireSameRows(t, taskRows, want)

				starts := map[string][]time.Time{}
				for _, r := range rows {
					starts[r.EntityID] = append(starts[r.EntityID], r.StartUTC)
				}
				full := 0
				for id, s := range starts {
					for i := 1; i < len(s); i++ {
						if !s[i].After(s[i-1]) || s[i].Sub(s[i-1])%time.Hour != 0 {
							t.Errorf("%s: hour %d starts at %s after %s", id, i, s[i], s[i-1])
						}
					}
					if len(s) == tc.hours {
						full++
					}
				}
				if lvl == tiktok.LevelAdvertiser && full != 1 {
					t.Errorf("the advertiser delivered %d hours, want %d", len(starts[tc.adv]), tc.hours)
				}

				daily, _, err := pull(ctx, c, tiktok.ReportQuery{AdvertiserID: tc.adv, Level: lvl, Granularity: tiktok.Daily, Start: tc.day, End: tc.day})
				if err != nil {
					t.Fatal(err)
				}
				var hourly, day decimal.Decimal
				for _, r := range rows {
					hourly = hourly.Add(r.Metrics.Spend.Decimal)
				}
				for _, r := range daily {
					day = day.Add(r.Metrics.Spend.Decimal)
				}
				if !hourly.Equal(day) || day.IsZero() {
					t.Errorf("Σ hourly spend %s, daily %s", hourly, day)
				}
			})
		}
	}
}

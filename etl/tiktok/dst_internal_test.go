package tiktok

import (
	"testing"
	"time"
)

// TestAdmitRepeatedHour: only an hour the timezone repeats may appear twice
// in a report, and only twice; the second row becomes the later occurrence.
func TestAdmitRepeatedHour(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	fallBack, spring := NewDate(2026, 10, 25), NewDate(2026, 3, 29)
	row := func(d Date, hour int, g Granularity) *ReportRow {
		return &ReportRow{EntityID: "1", Date: d, Hour: hour, Granularity: g, StartUTC: d.In(berlin, hour).UTC()}
	}
	tests := []struct {
		name  string
		rows  []*ReportRow
		admit []bool
	}{
		{"repeated hour twice", []*ReportRow{row(fallBack, 2, Hourly), row(fallBack, 2, Hourly)}, []bool{true, true}},
		{"repeated hour three times", []*ReportRow{row(fallBack, 2, Hourly), row(fallBack, 2, Hourly), row(fallBack, 2, Hourly)}, []bool{true, true, false}},
		{"ordinary hour twice", []*ReportRow{row(fallBack, 3, Hourly), row(fallBack, 3, Hourly)}, []bool{true, false}},
		{"spring day hour twice", []*ReportRow{row(spring, 3, Hourly), row(spring, 3, Hourly)}, []bool{true, false}},
		{"daily row twice", []*ReportRow{row(fallBack, 0, Daily), row(fallBack, 0, Daily)}, []bool{true, false}},
	}
	for _, tc := range tests {
		seen := newKeySet()
		for i, r := range tc.rows {
			if got := seen.admit(r, berlin); got != tc.admit[i] {
				t.Errorf("%s: row %d admitted %v, want %v", tc.name, i, got, tc.admit[i])
			}
		}
	}
	seen := newKeySet()
	first, second := row(fallBack, 2, Hourly), row(fallBack, 2, Hourly)
	seen.admit(first, berlin)
	seen.admit(second, berlin)
	if first.Fold != 0 || second.Fold != 1 || second.StartUTC.Sub(first.StartUTC) != time.Hour ||
		!first.StartUTC.Equal(time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("first %+v, second %+v", first, second)
	}
	if first.Key() == second.Key() {
		t.Errorf("both occurrences have the key %s", first.Key())
	}
}

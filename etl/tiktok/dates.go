package tiktok

import (
	"fmt"
	"time"
)

// DateLayout is the layout of the start_date/end_date request parameters.
const DateLayout = "2006-01-02"

// TimeLayout is the layout of stat_time_day/stat_time_hour and of entity
// create_time/modify_time strings ("YYYY-MM-DD HH:MM:SS", no zone).
const TimeLayout = "2006-01-02 15:04:05"

// Date is a calendar day without a timezone. TikTok labels report days in the
// advertiser's timezone, so a day is kept as a label rather than an instant:
// converting it to time.Time too early is how connectors lose a day for
// accounts ahead of UTC.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// NewDate returns the normalised date for year, month and day (so that
// NewDate(2024, 1, 32) is 2024-02-01).
func NewDate(year int, month time.Month, day int) Date {
	return DateOf(time.Date(year, month, day, 0, 0, 0, 0, time.UTC))
}

// DateOf returns the calendar day of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// ParseDate parses a "YYYY-MM-DD" day.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		// Go's layout ("2006-01-02") means nothing to the person typing.
		return Date{}, fmt.Errorf("%q is not a date: write YYYY-MM-DD, such as 2026-03-01", s)
	}
	return DateOf(t), nil
}

// String formats the date as "YYYY-MM-DD", the API's date format.
func (d Date) String() string {
	if d.Year < 0 || d.Year > 9999 || d.Month < 0 || d.Month > 99 || d.Day < 0 || d.Day > 99 {
		return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
	}
	// By hand: every served and decoded row formats its date, and
	// fmt.Sprintf was a tenth of the simulator's formatting.
	b := [10]byte{'0', '0', '0', '0', '-', '0', '0', '-', '0', '0'}
	y, m, day := d.Year, int(d.Month), d.Day
	b[0], b[1], b[2], b[3] = byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10)
	b[5], b[6] = byte('0'+m/10%10), byte('0'+m%10)
	b[8], b[9] = byte('0'+day/10%10), byte('0'+day%10)
	return string(b[:])
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// Time returns midnight of d in UTC; handy as a ClickHouse Date value, which
// carries no zone.
func (d Date) Time() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

// In returns the instant at which local hour of day d starts in loc. It is how
// a local report label becomes a UTC instant; "Etc/GMT+8" is UTC−8. An hour
// that a fall-back day repeats gives its first occurrence (see HourStarts);
// one that a spring-forward day skips gives the instant the clock jumps.
func (d Date) In(loc *time.Location, hour int) time.Time {
	t := time.Date(d.Year, d.Month, d.Day, hour, 0, 0, 0, loc)
	// time.Date may pick either occurrence of a repeated hour; an hour
	// earlier showing the same wall clock is the first. Only an instant
	// less than an hour after a change of offset can be a second
	// occurrence, which keeps this cheap for every decoded row.
	if start, _ := t.ZoneBounds(); !start.IsZero() && t.Sub(start) < time.Hour {
		if e := t.Add(-time.Hour); e.Hour() == hour && e.Minute() == 0 && e.Day() == d.Day {
			return e
		}
	}
	return t
}

// AddDays returns d shifted by n days.
func (d Date) AddDays(n int) Date {
	return DateOf(d.Time().AddDate(0, 0, n))
}

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	return d.Time().Compare(e.Time())
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

// DaysUntil returns the number of days from d to e (negative if e is before d).
func (d Date) DaysUntil(e Date) int {
	return int(e.Time().Sub(d.Time()) / (24 * time.Hour))
}

// MarshalText implements encoding.TextMarshaler as "YYYY-MM-DD".
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler for "YYYY-MM-DD".
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

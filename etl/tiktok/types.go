package tiktok

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
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
		return Date{}, fmt.Errorf("tiktok: invalid date %q: %w", s, err)
	}
	return DateOf(t), nil
}

// String formats the date as "YYYY-MM-DD", the API's date format.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// Time returns midnight of d in UTC; handy as a ClickHouse Date value, which
// carries no zone.
func (d Date) Time() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

// In returns the instant at which local hour of day d starts in loc. It is how
// a local report label becomes a UTC instant; "Etc/GMT+8" is UTC−8.
func (d Date) In(loc *time.Location, hour int) time.Time {
	return time.Date(d.Year, d.Month, d.Day, hour, 0, 0, 0, loc)
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

// NullDecimal is a decimal metric that may be missing. TikTok sends "-" (and
// sometimes null) for "no data", which is not the same as zero, so it decodes to
// Valid == false.
type NullDecimal struct {
	Decimal decimal.Decimal
	Valid   bool
}

// NewNullDecimal returns a valid NullDecimal holding d.
func NewNullDecimal(d decimal.Decimal) NullDecimal { return NullDecimal{Decimal: d, Valid: true} }

// Ptr returns a pointer to the value, or nil when missing, which is what
// database drivers expect for Nullable columns.
func (n NullDecimal) Ptr() *decimal.Decimal {
	if !n.Valid {
		return nil
	}
	d := n.Decimal
	return &d
}

// String returns the value as TikTok would send it, keeping its scale
// ("20.00", not "20"), and "-" when missing.
func (n NullDecimal) String() string {
	if !n.Valid {
		return "-"
	}
	return decimalText(n.Decimal)
}

// decimalText formats d keeping trailing zeros of its scale.
func decimalText(d decimal.Decimal) string {
	if e := d.Exponent(); e < 0 {
		return d.StringFixed(-e)
	}
	return d.String()
}

// Equal reports whether both are missing or both hold numerically equal values.
func (n NullDecimal) Equal(m NullDecimal) bool {
	if n.Valid != m.Valid {
		return false
	}
	return !n.Valid || n.Decimal.Equal(m.Decimal)
}

// UnmarshalJSON accepts a JSON string or bare number (parsed exactly, never
// through float64), null, "" or "-" (missing).
func (n *NullDecimal) UnmarshalJSON(b []byte) error {
	text, ok, err := scalarText(b)
	if err != nil {
		return err
	}
	if !ok {
		*n = NullDecimal{}
		return nil
	}
	d, err := parseDecimal(text)
	if err != nil {
		return err
	}
	*n = NullDecimal{Decimal: d, Valid: true}
	return nil
}

// MarshalJSON writes the value as a JSON string, or null when missing.
func (n NullDecimal) MarshalJSON() ([]byte, error) {
	if !n.Valid {
		return []byte("null"), nil
	}
	return json.Marshal(decimalText(n.Decimal))
}

// NullUint64 is a count metric that may be missing ("-" or null).
type NullUint64 struct {
	Uint64 uint64
	Valid  bool
}

// NewNullUint64 returns a valid NullUint64 holding v.
func NewNullUint64(v uint64) NullUint64 { return NullUint64{Uint64: v, Valid: true} }

// Ptr returns a pointer to the value, or nil when missing.
func (n NullUint64) Ptr() *uint64 {
	if !n.Valid {
		return nil
	}
	v := n.Uint64
	return &v
}

// String returns the decimal count, "-" when missing.
func (n NullUint64) String() string {
	if !n.Valid {
		return "-"
	}
	return strconv.FormatUint(n.Uint64, 10)
}

// UnmarshalJSON accepts a JSON string or bare number holding a non-negative
// integer ("12" or "12.00"), null, "" or "-" (missing).
func (n *NullUint64) UnmarshalJSON(b []byte) error {
	// The common case, a quoted run of digits, without allocating.
	if inner, ok := plainBytes(b); ok && len(inner) > 0 && len(inner) <= 18 {
		var v uint64
		digits := true
		for _, c := range inner {
			if c < '0' || c > '9' {
				digits = false
				break
			}
			v = v*10 + uint64(c-'0')
		}
		if digits {
			*n = NullUint64{Uint64: v, Valid: true}
			return nil
		}
	}
	text, ok, err := scalarText(b)
	if err != nil {
		return err
	}
	if !ok {
		*n = NullUint64{}
		return nil
	}
	v, err := parseCount(text)
	if err != nil {
		return err
	}
	*n = NullUint64{Uint64: v, Valid: true}
	return nil
}

// MarshalJSON writes the count as a JSON string, or null when missing.
func (n NullUint64) MarshalJSON() ([]byte, error) {
	if !n.Valid {
		return []byte("null"), nil
	}
	return json.Marshal(strconv.FormatUint(n.Uint64, 10))
}

// Timestamp is an entity time ("YYYY-MM-DD HH:MM:SS", or epoch seconds for
// advertisers) that may be missing: Smart+ ads arrive without modify_time and
// dropping them, as one connector did, loses ads. TikTok does not document the
// zone of entity times; they are read as UTC.
type Timestamp struct {
	Time  time.Time
	Valid bool
}

// String formats the time with TimeLayout, or "" when missing.
func (t Timestamp) String() string {
	if !t.Valid {
		return ""
	}
	return t.Time.UTC().Format(TimeLayout)
}

// UnmarshalJSON accepts "YYYY-MM-DD HH:MM:SS", RFC 3339, epoch seconds (number
// or numeric string), null and "" (missing).
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	text, ok, err := scalarText(b)
	if err != nil {
		return err
	}
	if !ok {
		*t = Timestamp{}
		return nil
	}
	if v, perr := time.ParseInLocation(TimeLayout, text, time.UTC); perr == nil {
		*t = Timestamp{Time: v, Valid: true}
		return nil
	}
	if v, perr := time.Parse(time.RFC3339, text); perr == nil {
		*t = Timestamp{Time: v.UTC(), Valid: true}
		return nil
	}
	if sec, perr := strconv.ParseInt(text, 10, 64); perr == nil {
		*t = Timestamp{Time: time.Unix(sec, 0).UTC(), Valid: true}
		return nil
	}
	return fmt.Errorf("invalid time %q", truncateForError(text))
}

// MarshalJSON writes the time with TimeLayout, or null when missing.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	if !t.Valid {
		return []byte("null"), nil
	}
	return json.Marshal(t.String())
}

// flexString decodes an ID that TikTok (or a connector fixture) sends either as
// a string or as a bare JSON number. The raw digits are kept: decoding IDs via
// float64 corrupts 19-digit IDs.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if !json.Valid(b) {
		return errors.New("invalid JSON value")
	}
	*f = flexString(b)
	return nil
}

// flexStrings decodes a JSON array of strings or numbers.
type flexStrings []string

func (f *flexStrings) UnmarshalJSON(b []byte) error {
	var raw []flexString
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make([]string, len(raw))
	for i, r := range raw {
		out[i] = string(r)
	}
	*f = out
	return nil
}

// scalarText returns the text of a JSON scalar: the unquoted string, or the
// literal of a number or boolean. ok is false for null, "" and "-", TikTok's
// "no data" marker.
func scalarText(b []byte) (text string, ok bool, err error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return "", false, nil
	}
	switch b[0] {
	case '"':
		s, plain := plainString(b)
		if !plain {
			if err := json.Unmarshal(b, &s); err != nil {
				return "", false, err
			}
		}
		s = strings.TrimSpace(s)
		if s == "" || s == "-" {
			return "", false, nil
		}
		return s, true, nil
	case '{', '[':
		return "", false, fmt.Errorf("expected a scalar, got %s", truncateForError(string(b)))
	}
	if !plainNumber(b) && !json.Valid(b) {
		return "", false, fmt.Errorf("invalid JSON value %s", truncateForError(string(b)))
	}
	return string(b), true, nil
}

// plainString returns the content of a JSON string without escapes or control
// characters, which is every metric TikTok sends; anything else goes through
// encoding/json. Decoding each of millions of values with json.Unmarshal was
// the pipeline's largest cost.
func plainString(b []byte) (string, bool) {
	inner, ok := plainBytes(b)
	if !ok {
		return "", false
	}
	return string(inner), true
}

// plainBytes is plainString without the copy.
func plainBytes(b []byte) ([]byte, bool) {
	if len(b) < 2 || b[len(b)-1] != '"' {
		return nil, false
	}
	inner := b[1 : len(b)-1]
	for _, c := range inner {
		if c == '\\' || c == '"' || c < 0x20 || c >= 0x80 {
			return nil, false
		}
	}
	return inner, true
}

// plainNumber reports whether b is a JSON number made of the usual characters
// in a valid order (-?digits[.digits]); exponents go through json.Valid.
func plainNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	start := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i == start || (b[start] == '0' && i-start > 1) {
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		frac := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == frac {
			return false
		}
	}
	return i == len(b)
}

// maxDecimalExponent bounds the exponent of a decimal text. Metric values are
// plain decimals; a huge exponent would make formatting allocate gigabytes.
const maxDecimalExponent = 64

// parseDecimal parses a decimal metric exactly. It accepts an optional sign,
// digits with an optional fraction and an optional small exponent (JSON
// numbers such as 1e-05), and rejects NaN, Inf, thousands separators and
// anything else.
func parseDecimal(s string) (decimal.Decimal, error) {
	if len(s) > 128 {
		return decimal.Decimal{}, fmt.Errorf("decimal too long (%d bytes)", len(s))
	}
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return decimal.Decimal{}, fmt.Errorf("invalid decimal %q", truncateForError(s))
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		exp, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if err != nil || exp > maxDecimalExponent || exp < -maxDecimalExponent {
			return decimal.Decimal{}, fmt.Errorf("invalid decimal exponent in %q", truncateForError(s))
		}
		i = len(s)
	}
	if i != len(s) {
		return decimal.Decimal{}, fmt.Errorf("invalid decimal %q", truncateForError(s))
	}
	d, err := decimal.NewFromString(strings.TrimPrefix(s, "+"))
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("invalid decimal %q", truncateForError(s))
	}
	return d, nil
}

// parseCount parses a non-negative integer count. "12.00" is accepted because
// some endpoints format counts like money; a fraction or a sign is an error.
func parseCount(s string) (uint64, error) {
	if v, err := strconv.ParseUint(s, 10, 64); err == nil {
		return v, nil
	}
	d, err := parseDecimal(s)
	if err != nil {
		return 0, fmt.Errorf("invalid count %q", truncateForError(s))
	}
	if d.IsNegative() || !d.IsInteger() {
		return 0, fmt.Errorf("invalid count %q: not a non-negative integer", truncateForError(s))
	}
	bi := d.BigInt()
	if !bi.IsUint64() {
		return 0, fmt.Errorf("invalid count %q: out of range", truncateForError(s))
	}
	return bi.Uint64(), nil
}

// truncateForError keeps error messages short when a response is garbage.
func truncateForError(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

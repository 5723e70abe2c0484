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
	if d, ok := plainDecimal(b); ok {
		*n = NullDecimal{Decimal: d, Valid: true}
		return nil
	}
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
			var escaped string // apart from s, which would then live on the heap
			if err := json.Unmarshal(b, &escaped); err != nil {
				return "", false, err
			}
			s = escaped
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

// plainDecimal parses what TikTok sends for nearly every decimal, a quoted
// unsigned number of at most 18 digits such as "12.50", to the value
// parseDecimal gives, without copying it to a string first; ok is false for
// anything else, which parseDecimal then judges.
func plainDecimal(b []byte) (d decimal.Decimal, ok bool) {
	inner, ok := plainBytes(b)
	if !ok || len(inner) == 0 || len(inner) > 19 {
		return d, false
	}
	var v int64
	digits, point := 0, -1
	for i, c := range inner {
		switch {
		case c >= '0' && c <= '9':
			v = v*10 + int64(c-'0')
			digits++
		case c == '.' && point < 0 && i > 0 && i < len(inner)-1:
			point = i
		default:
			return d, false
		}
	}
	if digits > 18 {
		return d, false
	}
	exp := 0
	if point >= 0 {
		exp = point + 1 - len(inner)
	}
	return decimal.New(v, int32(exp)), true
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

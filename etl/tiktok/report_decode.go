package tiktok

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"time"
)

// ReportRow is one decoded report row: one entity (advertiser, campaign, ad
// group or ad) for one local day or hour.
type ReportRow struct {
	AdvertiserID string
	Level        Level
	Granularity  Granularity
	// EntityID is the value of the level's ID dimension (the advertiser ID at
	// advertiser level).
	EntityID string
	// Date is the local day label in the advertiser's timezone.
	Date Date
	// Hour is the local hour label (0–23) of hourly rows; 0 for daily rows.
	Hour int
	// Fold is 1 for the second occurrence of a local hour that a fall-back
	// day repeats (the second row with that label), 0 otherwise.
	Fold int
	// StartUTC is the instant the local hour (hourly) or day (daily) starts,
	// computed with Timezone (the first occurrence of a repeated hour unless
	// Fold is 1); zero when the timezone is unknown.
	StartUTC time.Time
	// Timezone is the advertiser's IANA timezone used for StartUTC.
	Timezone string
	// Dimensions holds any further dimensions (AUDIENCE reports), nil for
	// BASIC reports.
	Dimensions map[string]string
	Metrics    Metrics
}

// Key identifies the row within a report: entity, day and hour (with "b"
// for the second occurrence of a repeated hour).
func (r *ReportRow) Key() string {
	k := r.EntityID + "|" + r.Date.String() + "|" + strconv.Itoa(r.Hour)
	if r.Fold != 0 {
		k += "b"
	}
	return k
}

// Equal reports whether two rows are identical, comparing decimals
// numerically and instants with time.Time.Equal.
func (r *ReportRow) Equal(o *ReportRow) bool {
	if r.AdvertiserID != o.AdvertiserID || r.Level != o.Level || r.Granularity != o.Granularity ||
		r.EntityID != o.EntityID || r.Date != o.Date || r.Hour != o.Hour || r.Fold != o.Fold ||
		!r.StartUTC.Equal(o.StartUTC) || r.Timezone != o.Timezone || len(r.Dimensions) != len(o.Dimensions) {
		return false
	}
	for k, v := range r.Dimensions {
		if w, ok := o.Dimensions[k]; !ok || w != v {
			return false
		}
	}
	return r.Metrics.Equal(&o.Metrics)
}

// SortRows orders rows by entity ID (numerically when IDs are digits), date
// and hour (and occurrence), so that pulls can be compared regardless of page order.
func SortRows(rows []ReportRow) {
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := &rows[i], &rows[j]
		if a.EntityID != b.EntityID {
			if len(a.EntityID) != len(b.EntityID) {
				return len(a.EntityID) < len(b.EntityID)
			}
			return a.EntityID < b.EntityID
		}
		if c := a.Date.Compare(b.Date); c != 0 {
			return c < 0
		}
		if a.Hour != b.Hour {
			return a.Hour < b.Hour
		}
		return a.Fold < b.Fold
	})
}

// PageInfo is TikTok's pagination block.
type PageInfo struct {
	Page        int `json:"page"`
	PageSize    int `json:"page_size"`
	TotalNumber int `json:"total_number"`
	TotalPage   int `json:"total_page"`
}

// ReportPage is one decoded page of a report.
type ReportPage struct {
	Rows      []ReportRow
	PageInfo  PageInfo
	RequestID string
}

// DecodeOptions tells DecodeReport what the rows are.
type DecodeOptions struct {
	// AdvertiserID fills ReportRow.AdvertiserID; if empty, a row's own
	// advertiser_id (a dimension or a top-level field) is used.
	AdvertiserID string
	// Level selects the ID dimension. If empty it is inferred per row from the
	// most specific ID dimension present (ad_id, adgroup_id, campaign_id,
	// advertiser_id).
	Level Level
	// Granularity selects the time dimension. If empty it is inferred from the
	// dimensions present; rows without a time dimension are accepted then.
	Granularity Granularity
	// Location computes StartUTC; nil leaves it zero.
	Location *time.Location
}

// rawRow keeps a row's dimensions and metrics as raw objects: they are walked
// once with walkObject instead of being decoded into maps, which allocated a
// map entry and a copy per value for millions of values.
type rawRow struct {
	Dimensions   json.RawMessage `json:"dimensions"`
	Metrics      json.RawMessage `json:"metrics"`
	AdvertiserID flexString      `json:"advertiser_id"`
}

// field is one member of a walked JSON object.
type field struct {
	key string
	val []byte
	// metric is the key's known metric, when it is one: found with the
	// interned key, so a row's metrics cost one map lookup each, not two.
	metric *metricDef
}

type rawReportData struct {
	List     []rawRow `json:"list"`
	PageInfo PageInfo `json:"page_info"`
}

// DecodeReport decodes a /report/integrated/get/ response body (the whole
// envelope). A non-zero code is returned as *APIError. Values may be strings,
// bare JSON numbers or null; money and ratios become exact decimals, counts
// uint64, "-" and null NULL, and unknown metrics land in Metrics.Extra.
func DecodeReport(body []byte, opts DecodeOptions) (ReportPage, error) {
	env, err := decodeEnvelope(body)
	if err != nil {
		return ReportPage{}, &malformedError{status: http.StatusOK, err: err}
	}
	if env.Code == nil {
		return ReportPage{}, &malformedError{status: http.StatusOK, err: errors.New(`no "code" in response`)}
	}
	if *env.Code != CodeOK {
		return ReportPage{}, &APIError{Code: *env.Code, Message: env.Message, RequestID: env.RequestID, HTTPStatus: http.StatusOK}
	}
	p, err := decodeReportData(env.Data, env.tape, opts)
	p.RequestID = env.RequestID
	return p, err
}

// decodeReportData decodes the envelope's data object; t, if not nil, is the
// tape of the body data is a slice of.
func decodeReportData(data json.RawMessage, t *tape, opts DecodeOptions) (ReportPage, error) {
	// decodeEnvelope has validated the whole body; the data object is
	// walked, not decoded.
	var d rawReportData
	top, err := walkObject(data, nil, t)
	if err != nil {
		return ReportPage{}, &DecodeError{Row: -1, Field: "data", Err: err}
	}
	for _, f := range top {
		switch f.key {
		case "page_info":
			if err := json.Unmarshal(f.val, &d.PageInfo); err != nil {
				return ReportPage{}, &DecodeError{Row: -1, Field: "page_info", Err: err}
			}
		case "list":
			if d.List, err = walkList(f.val, t); err != nil {
				return ReportPage{}, &DecodeError{Row: -1, Field: "list", Err: err}
			}
		}
	}
	page := ReportPage{PageInfo: d.PageInfo, Rows: make([]ReportRow, len(d.List))}
	tz := ""
	if opts.Location != nil {
		tz = opts.Location.String()
	}
	for i := range d.List {
		if err := decodeRowInto(&d.List[i], i, opts, tz, &page.Rows[i]); err != nil {
			return ReportPage{}, err
		}
	}
	return page, nil
}

var idDimensionsMostSpecificFirst = []Level{LevelAd, LevelAdGroup, LevelCampaign, LevelAdvertiser}

func decodeRow(raw *rawRow, i int, opts DecodeOptions, tz string) (ReportRow, error) {
	var row ReportRow
	err := decodeRowInto(raw, i, opts, tz, &row)
	return row, err
}

// decodeRowInto is decodeRow into the caller's row: a page decodes into its
// slice, where a returned row was first allocated on the heap, then copied.
func decodeRowInto(raw *rawRow, i int, opts DecodeOptions, tz string, row *ReportRow) error {
	var dimBuf [8]field
	dims, err := walkObject(raw.Dimensions, dimBuf[:0], nil)
	if err != nil {
		return &DecodeError{Row: i, Field: "dimensions", Err: err}
	}
	lookup := func(k string) ([]byte, bool) {
		for _, f := range dims {
			if f.key == k {
				return f.val, true
			}
		}
		return nil, false
	}
	*row = ReportRow{
		AdvertiserID: opts.AdvertiserID,
		Level:        opts.Level,
		Granularity:  opts.Granularity,
		Timezone:     tz,
	}
	if row.Level == "" {
		for _, l := range idDimensionsMostSpecificFirst {
			if _, ok := lookup(l.IDDimension()); ok {
				row.Level = l
				break
			}
		}
	}
	if row.Granularity == "" {
		if _, ok := lookup(string(Hourly)); ok {
			row.Granularity = Hourly
		} else if _, ok := lookup(string(Daily)); ok {
			row.Granularity = Daily
		}
	}
	used := 0
	if row.Level != "" {
		dim := row.Level.IDDimension()
		v, ok := lookup(dim)
		if !ok {
			return &DecodeError{Row: i, Field: dim, Err: errors.New("missing ID dimension")}
		}
		// Most IDs are plain strings: read without encoding/json.
		id, plain := plainString(v)
		if !plain {
			var flex flexString
			if err := json.Unmarshal(v, &flex); err != nil {
				flex = ""
			}
			id = string(flex)
		}
		if id == "" {
			return &DecodeError{Row: i, Field: dim, Err: errors.New("invalid or empty ID")}
		}
		row.EntityID = id
		used++
		if row.Level == LevelAdvertiser && row.AdvertiserID == "" {
			row.AdvertiserID = row.EntityID
		}
	}
	if row.Granularity != "" {
		dim := string(row.Granularity)
		v, ok := lookup(dim)
		if !ok {
			return &DecodeError{Row: i, Field: dim, Err: errors.New("missing time dimension")}
		}
		text, ok, err := scalarText(v)
		if err != nil || !ok {
			return &DecodeError{Row: i, Field: dim, Err: errors.New("invalid time")}
		}
		t, err := time.Parse(TimeLayout, text)
		if err != nil {
			return &DecodeError{Row: i, Field: dim, Err: fmt.Errorf("invalid time %q", truncateForError(text))}
		}
		if t.Minute() != 0 || t.Second() != 0 || (row.Granularity == Daily && t.Hour() != 0) {
			return &DecodeError{Row: i, Field: dim, Err: fmt.Errorf("time %q is not the start of a whole %s", text, map[Granularity]string{Daily: "day", Hourly: "hour"}[row.Granularity])}
		}
		row.Date = DateOf(t)
		row.Hour = t.Hour()
		if opts.Location != nil {
			row.StartUTC = row.Date.In(opts.Location, row.Hour).UTC()
		}
		used++
	}
	if len(dims) > used {
		for _, f := range dims {
			k, v := f.key, f.val
			if (row.Level != "" && k == row.Level.IDDimension()) || (row.Granularity != "" && k == string(row.Granularity)) {
				continue
			}
			text, ok, err := scalarText(v)
			if err != nil {
				return &DecodeError{Row: i, Field: k, Err: err}
			}
			if !ok {
				text = "-"
			}
			if row.Dimensions == nil {
				row.Dimensions = make(map[string]string)
			}
			row.Dimensions[k] = text
		}
		if row.AdvertiserID == "" {
			row.AdvertiserID = row.Dimensions["advertiser_id"]
		}
	}
	if row.AdvertiserID == "" {
		row.AdvertiserID = string(raw.AdvertiserID)
	}
	var metricBuf [48]field
	metrics, err := walkObject(raw.Metrics, metricBuf[:0], nil)
	if err != nil {
		return &DecodeError{Row: i, Field: "metrics", Err: err}
	}
	for _, f := range metrics {
		if f.metric != nil {
			err = f.metric.set(&row.Metrics, f.val)
		} else {
			err = row.Metrics.set(f.key, f.val)
		}
		if err != nil {
			return &DecodeError{Row: i, Field: f.key, Err: err}
		}
	}
	return nil
}

// walkList splits a JSON array of row objects into raw rows.
func walkList(b []byte, t *tape) ([]rawRow, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return nil, nil
	}
	if b[0] != '[' {
		return nil, fmt.Errorf("expected an array, got %s", truncateForError(string(b)))
	}
	var rows []rawRow
	var buf [4]field
	i := skipSpace(b, 1)
	if i < len(b) && b[i] == ']' {
		return rows, nil
	}
	for i < len(b) {
		var members []field
		var end int
		var err error
		if b[i] == '{' {
			// Walked once, not skipped first: rows are most of a page.
			members, end, err = walkMembers(b, i, buf[:0], t)
		} else {
			end = t.skip(b, i)
			members, err = walkObject(b[i:end], buf[:0], t)
		}
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", len(rows), err)
		}
		var r rawRow
		for _, m := range members {
			switch m.key {
			case "dimensions":
				r.Dimensions = m.val
			case "metrics":
				r.Metrics = m.val
			case "advertiser_id":
				if err := json.Unmarshal(m.val, &r.AdvertiserID); err != nil {
					return nil, fmt.Errorf("row %d: advertiser_id: %w", len(rows), err)
				}
			}
		}
		rows = append(rows, r)
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		if i < len(b) && b[i] == ']' {
			return rows, nil
		}
		return nil, errors.New("malformed array")
	}
	return nil, errors.New("malformed array")
}

// walkObject appends the members of a JSON object (already validated, by
// decodeEnvelope) to dst. null or an absent object gives none. A repeated
// key keeps its last value, as map decoding did. t, if not nil, is the tape
// of the body b is a slice of.
func walkObject(b []byte, dst []field, t *tape) ([]field, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return dst, nil
	}
	if b[0] != '{' {
		return dst, fmt.Errorf("expected an object, got %s", truncateForError(string(b)))
	}
	dst, _, err := walkMembers(b, 0, dst, t)
	return dst, err
}

// walkMembers appends the members of the JSON object that starts at b[i]
// (a '{') to dst and returns the index after the object's '}'.
func walkMembers(b []byte, i int, dst []field, t *tape) ([]field, int, error) {
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return dst, i + 1, nil
	}
	var seen uint64 // the bits of the interned keys met so far
	for i < len(b) {
		end := skipValue(b, i)
		var key string
		var known internedKey
		if raw, ok := plainBytes(b[i:end]); ok {
			// Known names are shared strings: no allocation per key per row.
			if known, ok = internedKeys[string(raw)]; ok {
				key = known.name
			} else {
				key = string(raw)
			}
		} else {
			// Its own variable: one whose address goes to json.Unmarshal lives
			// on the heap, and key would have been allocated for every member.
			var escaped string
			if err := json.Unmarshal(b[i:end], &escaped); err != nil {
				return dst, end, err
			}
			key = escaped
			// An escaped spelling of a known key is that key: its bit too
			// must say it was met.
			if k, ok := internedKeys[key]; ok {
				known = k
			}
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return dst, i, errors.New("malformed object")
		}
		i = skipSpace(b, i+1)
		end = t.skip(b, i)
		val := b[i:end]
		replaced := false
		// A key met for the first time, as an interned one's bit says, is
		// not looked for among the others: comparing every key with every
		// earlier one cost a tenth of decoding a report row.
		if known.bit == 0 || seen&known.bit != 0 {
			for j := range dst {
				if dst[j].key == key {
					dst[j].val, replaced = val, true
				}
			}
		}
		seen |= known.bit
		if !replaced {
			dst = append(dst, field{key, val, known.metric})
		}
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			return dst, i + 1, nil
		}
		return dst, i, errors.New("malformed object")
	}
	return dst, i, errors.New("malformed object")
}

// internedKey is what walkMembers knows of a key TikTok sends on every row.
type internedKey struct {
	name   string
	bit    uint64     // one of 64 bits per key, 0 beyond the 64th
	metric *metricDef // nil unless a known metric
}

// internedKeys holds the object keys TikTok sends on every row: metric names
// and dimensions.
var internedKeys = func() map[string]internedKey {
	names := slices.Sorted(maps.Keys(knownMetrics))
	for _, l := range Levels {
		names = append(names, l.IDDimension())
	}
	names = append(names, string(Daily), string(Hourly), "dimensions", "metrics", "advertiser_id",
		"campaign_name", "adgroup_name", "ad_name", "currency", "list", "page_info")
	m := map[string]internedKey{}
	for _, name := range names {
		if _, dup := m[name]; dup {
			continue
		}
		k := internedKey{name: name}
		if len(m) < 64 {
			k.bit = 1 << len(m)
		}
		if d, ok := knownMetrics[name]; ok {
			k.metric = &d
		}
		m[name] = k
	}
	return m
}()

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skip is skipValue that steps over an object or array the tape knows
// without scanning it. t may be nil.
func (t *tape) skip(b []byte, i int) int {
	if i < len(b) && (b[i] == '{' || b[i] == '[') {
		if end, ok := t.end(b, i); ok {
			return end
		}
	}
	return skipValue(b, i)
}

// skipValue returns the end of the JSON value starting at i: a string with
// its escapes, a nested object or array, or a literal.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return len(b)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = skipValue(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\t' && b[j] != '\r' {
		j++
	}
	return j
}

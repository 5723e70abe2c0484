// Package ga4 parses Google Analytics 4 BigQuery export rows — NDJSON as
// BigQuery exports it (nested records, INT64 as strings) and flattened CSV —
// into the load_ga4_events staging table.
package ga4

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/adhouse/adhouse/etl/attribution"
	"github.com/adhouse/adhouse/etl/ingest"
	"github.com/adhouse/adhouse/etl/load"
)

// Event is one GA4 event as staged.
type Event struct {
	Date             time.Time
	Timestamp        time.Time
	Name             string
	UserPseudoID     string
	UserID           string
	SessionID        int64
	PageLocation     string
	PageReferrer     string
	Page             attribution.Touch // from page_location
	Collected        attribution.Touch // collected_traffic_source.manual_*
	SessionLastClick attribution.Touch // session_traffic_source_last_click.manual_campaign
	TrafficSource    attribution.Touch // traffic_source (first user touch): Source, Medium, Campaign=name
	Class            attribution.Classified
	Touch            attribution.Touch // the touch the event carries (Collected, else Page, else the referrer)
	// ChannelGroup is GA4's default channel group of the touch.
	ChannelGroup    string
	PurchaseRevenue *decimal.Decimal
	RefundValue     *decimal.Decimal
	// Currency is the event's own currency (event_params.currency), else
	// the configured property currency.
	Currency      string
	TransactionID string
}

// Columns are the staging columns after file_key, load_version and line.
var Columns = []string{
	"event_date", "event_timestamp", "event_name", "user_pseudo_id", "user_id", "ga_session_id", "page_location", "page_referrer",
	"utm_source", "utm_medium", "utm_campaign", "utm_id", "utm_content", "utm_term", "ttclid",
	"cts_source", "cts_medium", "cts_campaign_name", "cts_campaign_id", "cts_content", "cts_term",
	"slc_source", "slc_medium", "slc_campaign_name", "slc_campaign_id",
	"ts_source", "ts_medium", "ts_name",
	"channel", "channel_group", "touch_source", "touch_medium", "campaign_ref", "adgroup_ref", "ad_ref",
	"purchase_revenue", "refund_value", "currency", "transaction_id",
}

// AppendValues implements load.Row.
func (e *Event) AppendValues(dst []any) []any {
	p, c, s, ts := &e.Page, &e.Collected, &e.SessionLastClick, &e.TrafficSource
	return append(dst, e.Date, e.Timestamp, e.Name, e.UserPseudoID, e.UserID, e.SessionID, e.PageLocation, e.PageReferrer,
		p.Source, p.Medium, p.Campaign, p.ID, p.Content, p.Term, e.Touch.TTCLID,
		c.Source, c.Medium, c.Campaign, c.ID, c.Content, c.Term,
		s.Source, s.Medium, s.Campaign, s.ID,
		ts.Source, ts.Medium, ts.Campaign,
		string(e.Class.Channel), e.ChannelGroup, e.Touch.Source, e.Touch.Medium, e.Class.CampaignRef, e.Class.AdGroupRef, e.Class.AdRef,
		e.PurchaseRevenue, e.RefundValue, e.Currency, e.TransactionID)
}

// NewColumns implements load.ColumnRow: a file's events load column by
// column, several times cheaper than value by value.
func (e *Event) NewColumns(n int) load.ColumnBuffer {
	c := &eventColumns{
		date: make([]time.Time, 0, n), timestamp: make([]time.Time, 0, n), session: make([]int64, 0, n),
		revenue: make([]*decimal.Decimal, 0, n), refund: make([]*decimal.Decimal, 0, n),
	}
	for i := range c.str {
		c.str[i] = make([]string, 0, n)
	}
	return c
}

// eventColumns holds events as the columns of Columns.
type eventColumns struct {
	date, timestamp []time.Time
	session         []int64
	revenue, refund []*decimal.Decimal
	// str are the string columns, in the order of Columns.
	str [34][]string
}

// Add implements load.ColumnBuffer.
func (c *eventColumns) Add(r load.Row) {
	e := r.(*Event)
	c.date = append(c.date, e.Date)
	c.timestamp = append(c.timestamp, e.Timestamp)
	c.session = append(c.session, e.SessionID)
	c.revenue = append(c.revenue, e.PurchaseRevenue)
	c.refund = append(c.refund, e.RefundValue)
	p, cs, s, ts := &e.Page, &e.Collected, &e.SessionLastClick, &e.TrafficSource
	for i, v := range [len(c.str)]string{e.Name, e.UserPseudoID, e.UserID, e.PageLocation, e.PageReferrer,
		p.Source, p.Medium, p.Campaign, p.ID, p.Content, p.Term, e.Touch.TTCLID,
		cs.Source, cs.Medium, cs.Campaign, cs.ID, cs.Content, cs.Term,
		s.Source, s.Medium, s.Campaign, s.ID,
		ts.Source, ts.Medium, ts.Campaign,
		string(e.Class.Channel), e.ChannelGroup, e.Touch.Source, e.Touch.Medium, e.Class.CampaignRef, e.Class.AdGroupRef, e.Class.AdRef,
		e.Currency, e.TransactionID} {
		c.str[i] = append(c.str[i], v)
	}
}

// Len implements load.Columns.
func (c *eventColumns) Len() int { return len(c.date) }

// Slices implements load.Columns, in the order of Columns.
func (c *eventColumns) Slices() []any {
	out := []any{c.date, c.timestamp, c.str[0], c.str[1], c.str[2], c.session}
	for _, s := range c.str[3:32] {
		out = append(out, s)
	}
	return append(out, c.revenue, c.refund, c.str[32], c.str[33])
}

// finish derives the event's touch, channel and channel group: the
// event-scoped collected traffic source first, then the UTM parameters of
// page_location (which also gives the ttclid), then, for a visit without
// campaign parameters, the page referrer (organic search, social, other
// sites). A referrer never makes a TikTok ad touch: an organic TikTok visit
// is Organic Social, as in GA4.
func (e *Event) finish(o Options, groups *channelGroups) {
	e.Page = attribution.FromURL(e.PageLocation)
	e.Touch = e.Collected.Or(e.Page)
	e.Class = o.Rules.Classify(e.Touch)
	switch {
	case e.Class.Channel == attribution.ChannelNone:
		if ref := attribution.FromReferrer(e.PageReferrer, e.PageLocation); ref.Source != "" {
			tt := e.Touch.TTCLID
			e.Touch, e.Class.Channel = ref, attribution.ChannelOther
			e.Touch.TTCLID = tt
		}
		e.ChannelGroup = groups.of(e.Touch)
	case e.Class.Channel == attribution.ChannelTikTok && e.Touch.Source == "" && e.Touch.Medium == "":
		e.ChannelGroup = attribution.GroupPaidSocial // a TikTok click id alone
	default:
		e.ChannelGroup = groups.of(e.Touch)
	}
	if e.Currency == "" {
		e.Currency = o.Currency
	}
}

// defaultCategories is attribution.DefaultCategories, built once and only
// read.
var defaultCategories = attribution.DefaultCategories()

// channelGroups remembers the channel group of the touches a file repeats
// (a few campaigns, sources and media over millions of events): GA4's rules
// are regular expressions, costly per event.
type channelGroups struct {
	cats attribution.Categories
	memo map[[3]string]string
}

// maxChannelGroups bounds the memo; a file with more distinct touches
// starts it over.
const maxChannelGroups = 1 << 14

func newChannelGroups(o Options) *channelGroups {
	cats := o.Categories
	if cats == nil {
		cats = defaultCategories
	}
	return &channelGroups{cats: cats, memo: map[[3]string]string{}}
}

func (g *channelGroups) of(t attribution.Touch) string {
	k := [3]string{t.Source, t.Medium, t.Campaign}
	if v, ok := g.memo[k]; ok {
		return v
	}
	v := g.cats.ChannelGroup(t.Source, t.Medium, t.Campaign)
	if len(g.memo) >= maxChannelGroups {
		clear(g.memo)
	}
	g.memo[k] = v
	return v
}

// Options configure the GA4 formats.
type Options struct {
	Rules attribution.Rules
	// Currency is the property currency, for events that name none.
	Currency string
	// Categories classify sources into GA4's channel groups; nil means
	// attribution.DefaultCategories.
	Categories attribution.Categories
}

// NDJSON is the BigQuery export as newline-delimited JSON.
type NDJSON struct{ Options }

// Source implements ingest.Format.
func (NDJSON) Source() string { return "ga4" }

// Name implements ingest.Format.
func (NDJSON) Name() string { return "ga4-ndjson" }

// Tables implements ingest.Format.
func (NDJSON) Tables() []load.Table { return []load.Table{{Name: "load_ga4_events", Columns: Columns}} }

// Parse implements ingest.Format. Blank lines are skipped.
func (f NDJSON) Parse(ctx context.Context, in *ingest.Input, sink ingest.Sink) error {
	br := in.Reader()
	head, _ := br.Peek(512)
	if err := ingest.CheckText(in.Name, head); err != nil {
		return err
	}
	if len(head) >= 3 && string(head[:3]) == "\xEF\xBB\xBF" {
		_, _ = br.Discard(3)
	}
	lr := ingest.NewLineReader(br)
	groups := newChannelGroups(f.Options)
	var j row
	for {
		line, err := lr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return ingest.ReadErr(in.Name, lr.Line(), err)
		}
		if blank(line) {
			continue
		}
		ev := new(Event)
		if err := decodeEvent(line, &j, ev); err != nil {
			var fe *ingest.Error
			if errors.As(err, &fe) {
				fe.File, fe.Line = in.Name, lr.Line()
				return fe
			}
			return &ingest.Error{File: in.Name, Line: lr.Line(), Err: err}
		}
		ev.finish(f.Options, groups)
		if err := sink.Emit(ctx, 0, lr.Line(), ev); err != nil {
			return err
		}
	}
}

// blank reports whether a line holds only white space (as strings.TrimSpace
// sees it), without copying it.
func blank(line []byte) bool {
	return len(bytes.TrimSpace(line)) == 0
}

// DecodeJSON parses one BigQuery export row into ev (without the derived
// touch). Errors name the field at fault as an *ingest.Error without file
// and line.
func DecodeJSON(line []byte, ev *Event) error {
	var r row
	return decodeEvent(line, &r, ev)
}

// decodeEvent is DecodeJSON with a row to reuse from line to line.
func decodeEvent(line []byte, j *row, ev *Event) error {
	if !utf8.Valid(line) {
		return &ingest.Error{Err: ingest.ErrEncoding}
	}
	if err := decodeRow(line, j); err != nil {
		var te *typeError
		if errors.As(err, &te) {
			return &ingest.Error{Column: te.path, Value: te.got, Err: fmt.Errorf("wrong JSON type: want %s", te.want)}
		}
		return &ingest.Error{Err: fmt.Errorf("not a JSON object: %w", err)}
	}
	var err error
	if ev.Date, err = dateOf(j.date.raw); err != nil || j.date.esc {
		s := j.date.text()
		if ev.Date, err = Date(s); err != nil {
			return &ingest.Error{Column: "event_date", Value: s, Err: err}
		}
	}
	if ev.Timestamp, err = Micros(j.timestamp.text()); err != nil {
		return &ingest.Error{Column: "event_timestamp", Value: j.timestamp.text(), Err: err}
	}
	if ev.Name = j.name.text(); ev.Name == "" {
		return &ingest.Error{Column: "event_name", Err: errors.New("required")}
	}
	ev.UserPseudoID, ev.UserID = j.userPseudoID.text(), j.userID.text()
	for i := range j.params {
		p := &j.params[i]
		str, integer := &p.v[0], &p.v[1]
		switch {
		case p.key.is("page_location"):
			ev.PageLocation = str.text()
		case p.key.is("page_referrer"):
			ev.PageReferrer = str.text()
		case p.key.is("currency"):
			if s := str.text(); s != "" {
				if ev.Currency, err = ingest.Currency(s); err != nil {
					return &ingest.Error{Column: "event_params.currency", Value: s, Err: err}
				}
			}
		case p.key.is("ga_session_id"):
			if integer.set {
				if ev.SessionID, err = strconv.ParseInt(integer.text(), 10, 64); err != nil {
					return &ingest.Error{Column: "event_params.ga_session_id", Value: integer.text(), Err: errors.New("not an integer")}
				}
			}
		}
	}
	if t := j.traffic; t != nil {
		ev.TrafficSource = attribution.Touch{Source: t[2].text(), Medium: t[1].text(), Campaign: t[0].text()}
	}
	if c := j.collected; c != nil {
		ev.Collected = attribution.Touch{Source: c[0].text(), Medium: c[1].text(), Campaign: c[2].text(),
			ID: c[3].text(), Content: c[4].text(), Term: c[5].text()}
	}
	if m := j.lastClick; m != nil {
		ev.SessionLastClick = attribution.Touch{Source: m[2].text(), Medium: m[3].text(), Campaign: m[1].text(), ID: m[0].text()}
	}
	if e := j.ecommerce; e != nil {
		ev.TransactionID = e[2].text()
		if e[0].set {
			d, err := Revenue(e[0].text())
			if err != nil {
				return &ingest.Error{Column: "ecommerce.purchase_revenue", Value: e[0].text(), Err: err}
			}
			ev.PurchaseRevenue = &d
		}
		if e[1].set {
			d, err := Revenue(e[1].text())
			if err != nil {
				return &ingest.Error{Column: "ecommerce.refund_value", Value: e[1].text(), Err: err}
			}
			ev.RefundValue = &d
		}
	}
	return nil
}

// dateOf is Date for the common case of eight plain digits, without
// allocating; anything else goes through Date for its error.
func dateOf(b []byte) (time.Time, error) {
	if len(b) != 8 {
		return time.Time{}, errBadDate
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return time.Time{}, errBadDate
		}
		n = n*10 + int(c-'0')
	}
	y, m, d := n/10000, time.Month(n/100%100), n%100
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if m < 1 || m > 12 || d < 1 || t.Day() != d {
		return time.Time{}, errBadDate
	}
	return t, nil
}

var errBadDate = errors.New("not a date in YYYYMMDD form")

// Date parses event_date, YYYYMMDD in the property timezone.
func Date(s string) (time.Time, error) {
	t, err := time.Parse("20060102", s)
	if err != nil {
		return time.Time{}, errors.New("not a date in YYYYMMDD form")
	}
	return t, nil
}

// Micros parses event_timestamp, UTC microseconds since the epoch (an INT64
// that BigQuery writes as a string).
func Micros(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, errors.New("not a positive integer of microseconds")
	}
	return time.UnixMicro(n).UTC(), nil
}

// Revenue parses purchase_revenue. GA4 keeps it as FLOAT64, so its text can
// carry float noise such as 19.990000000000002: the text is read as an exact
// decimal (never through float64) and rounded half-even to 6 decimals, the
// warehouse's money scale.
func Revenue(s string) (decimal.Decimal, error) {
	d, err := decimal.NewFromString(s)
	if err != nil || strings.ContainsAny(s, " \t") {
		return decimal.Decimal{}, errors.New("not a decimal number")
	}
	d = d.RoundBank(6)
	if d.Abs().GreaterThanOrEqual(decimal.New(1, 12)) {
		return decimal.Decimal{}, errors.New("out of range for Decimal(18, 6)")
	}
	return d, nil
}

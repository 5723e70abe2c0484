// Package ga4 parses Google Analytics 4 BigQuery export rows — NDJSON as
// BigQuery exports it (nested records, INT64 as strings) and flattened CSV —
// into the load_ga4_events staging table.
package ga4

import (
	"context"
	"encoding/json"
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

// finish derives the event's touch, channel and channel group: the
// event-scoped collected traffic source first, then the UTM parameters of
// page_location (which also gives the ttclid), then, for a visit without
// campaign parameters, the page referrer (organic search, social, other
// sites). A referrer never makes a TikTok ad touch: an organic TikTok visit
// is Organic Social, as in GA4.
func (e *Event) finish(o Options) {
	e.Page = attribution.FromURL(e.PageLocation)
	e.Touch = e.Collected.Or(e.Page)
	e.Class = o.Rules.Classify(e.Touch)
	cats := o.Categories
	if cats == nil {
		cats = attribution.DefaultCategories()
	}
	switch {
	case e.Class.Channel == attribution.ChannelNone:
		if ref := attribution.FromReferrer(e.PageReferrer, e.PageLocation); ref.Source != "" {
			tt := e.Touch.TTCLID
			e.Touch, e.Class.Channel = ref, attribution.ChannelOther
			e.Touch.TTCLID = tt
		}
		e.ChannelGroup = cats.ChannelGroup(e.Touch.Source, e.Touch.Medium, e.Touch.Campaign)
	case e.Class.Channel == attribution.ChannelTikTok && e.Touch.Source == "" && e.Touch.Medium == "":
		e.ChannelGroup = attribution.GroupPaidSocial // a TikTok click id alone
	default:
		e.ChannelGroup = cats.ChannelGroup(e.Touch.Source, e.Touch.Medium, e.Touch.Campaign)
	}
	if e.Currency == "" {
		e.Currency = o.Currency
	}
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
	for {
		line, err := lr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return ingest.ReadErr(in.Name, lr.Line(), err)
		}
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		ev := new(Event)
		if err := DecodeJSON(line, ev); err != nil {
			var fe *ingest.Error
			if errors.As(err, &fe) {
				fe.File, fe.Line = in.Name, lr.Line()
				return fe
			}
			return &ingest.Error{File: in.Name, Line: lr.Line(), Err: err}
		}
		ev.finish(f.Options)
		if err := sink.Emit(ctx, 0, lr.Line(), ev); err != nil {
			return err
		}
	}
}

// bqString is a BigQuery JSON scalar: a string, a number or null, kept as text.
type bqString struct {
	s   string
	set bool
}

func (b *bqString) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*b = bqString{}
		return nil
	}
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*b = bqString{s: s, set: true}
		return nil
	}
	if len(data) > 0 && (data[0] == '-' || (data[0] >= '0' && data[0] <= '9')) {
		*b = bqString{s: string(data), set: true}
		return nil
	}
	return fmt.Errorf("want a string or number, got %s", data)
}

type jsonSource struct {
	ManualSource       bqString `json:"manual_source"`
	ManualMedium       bqString `json:"manual_medium"`
	ManualCampaignName bqString `json:"manual_campaign_name"`
	ManualCampaignID   bqString `json:"manual_campaign_id"`
	ManualContent      bqString `json:"manual_content"`
	ManualTerm         bqString `json:"manual_term"`
}

type jsonEvent struct {
	EventDate      bqString `json:"event_date"`
	EventTimestamp bqString `json:"event_timestamp"`
	EventName      bqString `json:"event_name"`
	EventParams    []struct {
		Key   string `json:"key"`
		Value struct {
			StringValue bqString `json:"string_value"`
			IntValue    bqString `json:"int_value"`
			DoubleValue bqString `json:"double_value"`
			FloatValue  bqString `json:"float_value"`
		} `json:"value"`
	} `json:"event_params"`
	UserID        bqString `json:"user_id"`
	UserPseudoID  bqString `json:"user_pseudo_id"`
	TrafficSource *struct {
		Name   bqString `json:"name"`
		Medium bqString `json:"medium"`
		Source bqString `json:"source"`
	} `json:"traffic_source"`
	CollectedTrafficSource        *jsonSource `json:"collected_traffic_source"`
	SessionTrafficSourceLastClick *struct {
		ManualCampaign *struct {
			CampaignID   bqString `json:"campaign_id"`
			CampaignName bqString `json:"campaign_name"`
			Source       bqString `json:"source"`
			Medium       bqString `json:"medium"`
		} `json:"manual_campaign"`
	} `json:"session_traffic_source_last_click"`
	Ecommerce *struct {
		PurchaseRevenue bqString `json:"purchase_revenue"`
		RefundValue     bqString `json:"refund_value"`
		TransactionID   bqString `json:"transaction_id"`
	} `json:"ecommerce"`
}

// DecodeJSON parses one BigQuery export row into ev (without the derived
// touch). Errors name the field at fault as an *ingest.Error without file
// and line.
func DecodeJSON(line []byte, ev *Event) error {
	if !utf8.Valid(line) {
		return &ingest.Error{Err: ingest.ErrEncoding}
	}
	var j jsonEvent
	if err := json.Unmarshal(line, &j); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &ingest.Error{Column: te.Field, Value: te.Value, Err: fmt.Errorf("wrong JSON type: want %s", te.Type.Kind())}
		}
		return &ingest.Error{Err: fmt.Errorf("not a JSON object: %w", err)}
	}
	var err error
	if ev.Date, err = Date(j.EventDate.s); err != nil {
		return &ingest.Error{Column: "event_date", Value: j.EventDate.s, Err: err}
	}
	if ev.Timestamp, err = Micros(j.EventTimestamp.s); err != nil {
		return &ingest.Error{Column: "event_timestamp", Value: j.EventTimestamp.s, Err: err}
	}
	if ev.Name = j.EventName.s; ev.Name == "" {
		return &ingest.Error{Column: "event_name", Err: errors.New("required")}
	}
	ev.UserPseudoID, ev.UserID = j.UserPseudoID.s, j.UserID.s
	for _, p := range j.EventParams {
		switch p.Key {
		case "page_location":
			ev.PageLocation = p.Value.StringValue.s
		case "page_referrer":
			ev.PageReferrer = p.Value.StringValue.s
		case "currency":
			if s := p.Value.StringValue.s; s != "" {
				if ev.Currency, err = ingest.Currency(s); err != nil {
					return &ingest.Error{Column: "event_params.currency", Value: s, Err: err}
				}
			}
		case "ga_session_id":
			if p.Value.IntValue.set {
				if ev.SessionID, err = strconv.ParseInt(p.Value.IntValue.s, 10, 64); err != nil {
					return &ingest.Error{Column: "event_params.ga_session_id", Value: p.Value.IntValue.s, Err: errors.New("not an integer")}
				}
			}
		}
	}
	if t := j.TrafficSource; t != nil {
		ev.TrafficSource = attribution.Touch{Source: t.Source.s, Medium: t.Medium.s, Campaign: t.Name.s}
	}
	if c := j.CollectedTrafficSource; c != nil {
		ev.Collected = attribution.Touch{Source: c.ManualSource.s, Medium: c.ManualMedium.s, Campaign: c.ManualCampaignName.s,
			ID: c.ManualCampaignID.s, Content: c.ManualContent.s, Term: c.ManualTerm.s}
	}
	if s := j.SessionTrafficSourceLastClick; s != nil && s.ManualCampaign != nil {
		m := s.ManualCampaign
		ev.SessionLastClick = attribution.Touch{Source: m.Source.s, Medium: m.Medium.s, Campaign: m.CampaignName.s, ID: m.CampaignID.s}
	}
	if e := j.Ecommerce; e != nil {
		ev.TransactionID = e.TransactionID.s
		if e.PurchaseRevenue.set {
			d, err := Revenue(e.PurchaseRevenue.s)
			if err != nil {
				return &ingest.Error{Column: "ecommerce.purchase_revenue", Value: e.PurchaseRevenue.s, Err: err}
			}
			ev.PurchaseRevenue = &d
		}
		if e.RefundValue.set {
			d, err := Revenue(e.RefundValue.s)
			if err != nil {
				return &ingest.Error{Column: "ecommerce.refund_value", Value: e.RefundValue.s, Err: err}
			}
			ev.RefundValue = &d
		}
	}
	return nil
}

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

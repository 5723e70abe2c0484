package ga4

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/adhouse/adhouse/etl/attribution"
	"github.com/adhouse/adhouse/etl/ingest"
)

// The reference: the export row decoded by encoding/json into the export's
// struct shape, as adhouse did before its own decoder. The fuzz test below
// requires the two to accept the same lines, give the same events and report
// the same located errors.

type refString struct {
	s   string
	set bool
}

func (b *refString) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*b = refString{}
		return nil
	}
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*b = refString{s: s, set: true}
		return nil
	}
	if len(data) > 0 && (data[0] == '-' || (data[0] >= '0' && data[0] <= '9')) {
		*b = refString{s: string(data), set: true}
		return nil
	}
	return fmt.Errorf("want a string or number, got %s", data)
}

type refEvent struct {
	EventDate      refString `json:"event_date"`
	EventTimestamp refString `json:"event_timestamp"`
	EventName      refString `json:"event_name"`
	EventParams    []struct {
		Key   string `json:"key"`
		Value struct {
			StringValue refString `json:"string_value"`
			IntValue    refString `json:"int_value"`
			DoubleValue refString `json:"double_value"`
			FloatValue  refString `json:"float_value"`
		} `json:"value"`
	} `json:"event_params"`
	UserID        refString `json:"user_id"`
	UserPseudoID  refString `json:"user_pseudo_id"`
	TrafficSource *struct {
		Name   refString `json:"name"`
		Medium refString `json:"medium"`
		Source refString `json:"source"`
	} `json:"traffic_source"`
	CollectedTrafficSource *struct {
		ManualSource       refString `json:"manual_source"`
		ManualMedium       refString `json:"manual_medium"`
		ManualCampaignName refString `json:"manual_campaign_name"`
		ManualCampaignID   refString `json:"manual_campaign_id"`
		ManualContent      refString `json:"manual_content"`
		ManualTerm         refString `json:"manual_term"`
	} `json:"collected_traffic_source"`
	SessionTrafficSourceLastClick *struct {
		ManualCampaign *struct {
			CampaignID   refString `json:"campaign_id"`
			CampaignName refString `json:"campaign_name"`
			Source       refString `json:"source"`
			Medium       refString `json:"medium"`
		} `json:"manual_campaign"`
	} `json:"session_traffic_source_last_click"`
	Ecommerce *struct {
		PurchaseRevenue refString `json:"purchase_revenue"`
		RefundValue     refString `json:"refund_value"`
		TransactionID   refString `json:"transaction_id"`
	} `json:"ecommerce"`
}

func refDecode(line []byte, ev *Event) error {
	if !utf8.Valid(line) {
		return &ingest.Error{Err: ingest.ErrEncoding}
	}
	var j refEvent
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

// agree requires the decoder and the reference to agree on line.
func agree(t *testing.T, line []byte) {
	t.Helper()
	var want, got Event
	wantErr := refDecode(line, &want)
	var r row
	gotErr := decodeEvent(line, &r, &got)
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("%q: encoding/json says %v, the decoder %v", line, wantErr, gotErr)
	}
	if wantErr != nil {
		var syntax *json.SyntaxError
		if errors.As(wantErr, &syntax) {
			// Syntax errors are worded by each decoder; both must say the
			// line is not JSON.
			if !strings.Contains(gotErr.Error(), "not a JSON object") {
				t.Fatalf("%q: encoding/json says %v, the decoder %v", line, wantErr, gotErr)
			}
			return
		}
		if wantErr.Error() != gotErr.Error() {
			t.Fatalf("%q: encoding/json says\n  %v\nthe decoder\n  %v", line, wantErr, gotErr)
		}
		return
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("%q:\nencoding/json %+v\nthe decoder   %+v", line, want, got)
	}
}

var decoderSeeds = []string{
	`{"event_date":"20240510","event_timestamp":"1715335200000000","event_name":"purchase","user_pseudo_id":"u","ecommerce":{"transaction_id":"T","purchase_revenue":1.5}}`,
	`{"event_date":"20240510","event_timestamp":"1715335200000000","event_name":"page_view","user_pseudo_id":"u1","event_params":[{"key":"page_location","value":{"string_value":"https://x.example/?utm_source=tiktok&utm_campaign=1&ttclid=t1"}}]}`,
	`{"event_date":"20240510","event_timestamp":"1","event_name":"x","event_params":[{"value":{"int_value":"12","string_value":null},"key":"ga_session_id"},{"key":"currency","value":{"string_value":"eur"}}]}`,
	`{"Event_Date":"20240510","EVENT_TIMESTAMP":1715335200000000,"event_name":"p\u00e9 \ud83d\ude00 \ud800x","traffic_source":{"name":"(direct)","medium":"(none)","source":"(direct)"},"collected_traffic_source":{"manual_source":"tiktok","manual_term":"t"}}`,
	`{"event_date":"20240510","event_timestamp":"1","event_name":"x","session_traffic_source_last_click":{"manual_campaign":{"campaign_id":"1","source":"tiktok","medium":"paid"},"cross_channel_campaign":{"x":[1,2,{"y":null}]}}}`,
	`{"event_date":"20240510","event_timestamp":"1","event_name":"x","event_params":"oops"}`,
	`{"event_date":"20240510","event_timestamp":"1","event_name":"x","event_params":[{"key":5}],"ecommerce":{"purchase_revenue":true}}`,
	`{"event_date":"20240510","event_timestamp":"1","event_name":"x","ecommerce":{"refund_value":"2.5"},"ecommerce":{"transaction_id":"T"},"event_params":[{"key":"page_location","value":{"string_value":"a"}}],"event_params":[{"value":{"string_value":"b"}}]}`,
	`{"event_date":"20240510","event_timestamp":"1","event_name":"x","traffic_source":null,"ecommerce":null,"event_params":null,"user_id":null}`,
	`{"event_date":"2024-05-10","event_timestamp":"1","event_name":"x"}`,
	`{"event_date":20240230,"event_timestamp":"-5","event_name":"x"}`,
	`[{"event_date":"20240510"}]`, `"x"`, `null`, `12`, `{}`, `{"a":}`, `{"event_date":"2024`, `{"event_name":"x"} trailing`,
	`{"event_date":"20240510","event_timestamp":"1","event_name":"x","traffic_source":"google"}`,
	`{"event_date":"20240510","event_timestamp":"1","event_name":"x","traffic_source":{"source":{"a":1}},"event_params":7}`,
	`{"event_date":"20240510","event_timestamp":"1","event_name":"x","geo":{"country":"India","city":"Noida"},"items":[],"device":{"web_info":{"browser":"Chrome","v":1.5e3}}}`,
	" {\"event_date\" : \"20240510\" ,\n\"event_timestamp\":\"1\",\t\"event_name\":\"x\\\"y\\\\z\\/\\b\\f\\n\\r\\t\"} ",
	`{"event_date":"20240510","event_timestamp":"1","event_name":"x","event_params":[null,{"key":"page_referrer","value":null},{"key":null,"value":{"string_value":"r"}}]}`,
	`{"event_date":"20240510","event_timestamp":"1","event_name":"x","user_pseudo_id":-0.5e-3,"user_id":01}`,
	// Long string bodies, with what ends a plain run at each place of an
	// eight-byte word: the decoder tests words at a time.
	"{\"event_date\":\"20240510\",\"event_timestamp\":\"1\",\"event_name\":\"abcdefghijklmno\\\"pq\",\"user_id\":\"0123456\u00e9\u4e16x\"}",
	"{\"event_date\":\"20240510\",\"event_timestamp\":\"1\",\"event_name\":\"abcdefghijk\tlmnop\"}",
	"{\"event_date\":\"20240510\",\"event_timestamp\":\"1\",\"event_name\":\"abcdefgh\x7f\xc3\xa9ijklmnopqrstu\\\\\",\"user_id\":\"\x1f\"}",
}

// TestPlainRun: the word-at-a-time scan stops where a byte-at-a-time one
// does, for every place of the stopping byte in a word.
func TestPlainRun(t *testing.T) {
	slow := func(b []byte, i int) int {
		for ; i < len(b); i++ {
			if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
				break
			}
		}
		return i
	}
	for _, stop := range []byte{'"', '\\', 0, 0x1f, '\n'} {
		for _, fill := range []byte{'a', 0x20, 0x7f, 0x80, 0xff, '!', '#', '[', ']'} {
			for n := 0; n < 20; n++ {
				for at := 0; at <= n; at++ {
					b := bytes.Repeat([]byte{fill}, n)
					if at < n {
						b[at] = stop
					}
					for from := 0; from <= n; from++ {
						if got, want := plainRun(b, from), slow(b, from); got != want {
							t.Fatalf("plainRun(%q, %d) = %d, want %d", b, from, got, want)
						}
					}
				}
			}
		}
	}
}

// TestDecoderAgreesWithEncodingJSON runs the seeds; the fuzz target
// explores from them.
func TestDecoderAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range decoderSeeds {
		agree(t, []byte(s))
	}
}

// FuzzDecoderAgreesWithEncodingJSON: on any line, the decoder and
// encoding/json accept the same, decode the same event and report the same
// located error (syntax errors are worded by each).
func FuzzDecoderAgreesWithEncodingJSON(f *testing.F) {
	for _, s := range decoderSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) { agree(t, line) })
}

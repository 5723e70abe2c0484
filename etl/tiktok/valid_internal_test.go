package tiktok

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

var validSeeds = []string{
	`{"code":0,"message":"OK","request_id":"1","data":{"list":[{"dimensions":{"ad_id":"1","stat_time_day":"2026-10-01 00:00:00"},"metrics":{"spend":"1.50","clicks":"-"}}],"page_info":{"page":1}}}`,
	` {} `, `[]`, `[ ]`, `{ }`, `[1,2]`, `[1,]`, `[,1]`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":1 "b":2}`, `{"a":}`, `{"a"}`,
	`"x"`, `"\u00e9\ud83d\ude00"`, `"\u00g0"`, `"\x"`, "\"\x01\"", "\"\x7f\xff\xfe\"", `"\"\\\/\b\f\n\r\t"`, `"abc`, `"\`, `"\u12`,
	`0`, `-0`, `01`, `-`, `1.`, `.5`, `1.5e3`, `1E+3`, `1e-3`, `1e`, `1e+`, `-01`, `2.`, `1.5.5`, `+1`, `1 2`,
	`true`, `false`, `null`, `tru`, `nul`, `nulll`, `True`, ``, ` `, "\n\t\r null \n", `[null,true,false,"",{},[]]`,
	"{\"a\":1}\x00", "\xef\xbb\xbf{}", `[[[[[[[[[[]]]]]]]]]]`, `[[[[]]]`, `{"a":{"b":{"c":[1,{"d":null}]}}}`, `}`, `]`,
}

// TestValidJSONAgreesWithEncodingJSON runs the seeds and the nesting limit;
// FuzzValidJSON explores from them.
func TestValidJSONAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range validSeeds {
		if got, want := validJSON([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("validJSON(%q) = %v, json.Valid says %v", s, got, want)
		}
	}
	for _, depth := range []int{maxNesting - 1, maxNesting, maxNesting + 1} {
		for _, open := range []string{"[", `{"a":`} {
			close := "]"
			if open != "[" {
				close = "}"
			}
			s := []byte(strings.Repeat(open, depth) + "1" + strings.Repeat(close, depth))
			if got, want := validJSON(s), json.Valid(s); got != want {
				t.Errorf("%d nested %s: validJSON %v, json.Valid %v", depth, open, got, want)
			}
		}
	}
}

// FuzzValidJSON: validJSON accepts exactly what json.Valid accepts.
func FuzzValidJSON(f *testing.F) {
	for _, s := range validSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}

// reportPage is a report page of 1,000 ad rows as the simulator writes them.
func reportPage() []byte {
	var page strings.Builder
	page.WriteString(`{"code":0,"message":"OK","request_id":"2026","data":{"list":[`)
	for i := range 1000 {
		if i > 0 {
			page.WriteByte(',')
		}
		page.WriteString(`{"dimensions":{"ad_id":"18000000000` + strconv.Itoa(100000+i) + `","stat_time_day":"2026-10-01 00:00:00"},"metrics":{"spend":"12.34","impressions":"1234","clicks":"56","conversion":"-","cpc":"0.22","ctr":"4.54","app_install":"3","complete_payment":"0","total_complete_payment_rate":"0.00","video_play_actions":"800","campaign_name":"Summer \"sale\" \u00e9"}}`)
	}
	page.WriteString(`],"page_info":{"page":1,"page_size":1000,"total_number":1000,"total_page":1}}}`)
	return []byte(page.String())
}

// BenchmarkValidJSON compares validJSON with json.Valid on a report page.
func BenchmarkValidJSON(b *testing.B) {
	body := reportPage()
	b.Run("encoding_json", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if !json.Valid(body) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("validJSON", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if !validJSON(body) {
				b.Fatal("invalid")
			}
		}
	})
}

// BenchmarkDecodeReport decodes a report page of 1,000 ad rows.
func BenchmarkDecodeReport(b *testing.B) {
	body := reportPage()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		p, err := DecodeReport(body, DecodeOptions{Level: LevelAd, Granularity: Daily, AdvertiserID: "1", Location: time.UTC})
		if err != nil || len(p.Rows) != 1000 {
			b.Fatal(err, len(p.Rows))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/row")
}

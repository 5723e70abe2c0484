package tiktok

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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

// tapeSeeds add to validSeeds report pages with nested values, repeated,
// escaped and reordered keys, rows that are not objects and spacing, whose
// decoding FuzzTape compares with and without the tape, and a number that
// encoding/json's tokens cannot hold in a float64.
var tapeSeeds = []string{
	`{"code":0,"data":{"page_info":{"page":1},"list":[{"dimensions":{"ad_id":"1","stat_time_day":"2024-03-01 00:00:00"},"metrics":{"spend":"1.00","x":{"a":[1,{}]}}},` +
		`{"metrics":{"clicks":"2"},"dimensions":{"ad_id":"2","stat_time_day":"2024-03-01 00:00:00"},"metrics":{"clicks":"3"}}]}}`,
	`{"code":0,"data":{"list":[[],{"dimensions":{}}]}}`,
	`[1E700,{"a":[-0.5e-999]}]`,
	`{"code":0,"data":{"list":[{"dimensions":[1],"metrics":{}}]}}`,
	`{"code":0,"data":{"list":{"a":1}}}`,
	`{"code":0,"data":{"list":[ {"dimensions" : {"ad_id" : "1" , "stat_time_day":"2024-03-01 00:00:00" } , "metrics" : { "spend" : 1 } } ] , "list":[]}}`,
	`{"code":0,"d\u0061ta":{"l\u0069st":[{"dim\u0065nsions":{"ad_id":"1","stat_time_day":"2024-03-01 00:00:00"},"metrics":{"spend":"\"}"}}]}}`,
	`{"code":0,"data":{"list":[{"dimensions":{"ad_id":"1","stat_time_day":"2024-03-01 00:00:00"},"metrics":{}}]},"data":{"list":[]},"extra":[{}]}`,
}

// FuzzTape requires the tape of a valid body to hold exactly the extents of
// its objects and arrays that encoding/json finds, to step over each of them
// in any slice of the body as a scan does, and to leave a report's decoding
// (rows, errors) as it is without it.
func FuzzTape(f *testing.F) {
	for _, s := range slices.Concat(validSeeds, tapeSeeds) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkTape(t, body, rand.New(rand.NewPCG(uint64(len(body)), 1)))
	})
}

// TestTapeReportPage is FuzzTape on a page of 1,000 rows.
func TestTapeReportPage(t *testing.T) {
	checkTape(t, reportPage(), rand.New(rand.NewPCG(1, 2)))
}

func checkTape(t *testing.T, body []byte, rnd *rand.Rand) {
	tp, ok := validJSONTape(body)
	require.Equal(t, json.Valid(body), ok, "%q", body)
	if !ok {
		require.Nil(t, tp)
		return
	}
	// The containers as encoding/json sees them, in the order they open.
	var starts, ends, open []int
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // a float64 fails on 1e999
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		switch tok {
		case json.Delim('{'), json.Delim('['):
			open = append(open, len(starts))
			starts = append(starts, int(dec.InputOffset())-1)
			ends = append(ends, -1)
		case json.Delim('}'), json.Delim(']'):
			ends[open[len(open)-1]] = int(dec.InputOffset())
			open = open[:len(open)-1]
		}
	}
	want := []span{}
	for k := range starts {
		want = append(want, span{rest: int32(cap(body) - starts[k]), size: int32(ends[k] - starts[k])})
	}
	require.Equal(t, want, tp.spans, "%q", body)
	for k, start := range starts {
		end := ends[k]
		from := rnd.IntN(start + 1)
		to := end + rnd.IntN(len(body)-end+1)
		b := body[from:to]
		got, known := tp.end(b, start-from)
		require.True(t, known, "%q in %q", body[start:end], b)
		require.Equal(t, end-from, got, "%q in %q", body[start:end], b)
		require.Equal(t, end-from, tp.skip(b, start-from), "%q in %q", body[start:end], b)
		require.Equal(t, end-from, skipValue(b, start-from), "%q in %q", body[start:end], b)
	}
	// A slice that ends inside a container is not stepped over past its end.
	for k, start := range starts {
		b := body[:ends[k]-1]
		require.Equal(t, skipValue(b, start), tp.skip(b, start), "%q", b)
	}

	env, err := decodeEnvelope(body)
	if err != nil {
		return
	}
	for _, opts := range []DecodeOptions{{}, {Level: LevelAd, Granularity: Daily, Location: time.UTC}} {
		wantPage, wantErr := decodeReportData(env.Data, nil, opts)
		page, err := decodeReportData(env.Data, env.tape, opts)
		require.Equal(t, wantPage, page, "%q", body)
		require.Equal(t, wantErr, err, "%q", body)
	}
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
	b.Run("validJSONTape", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, ok := validJSONTape(body); !ok {
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

package tiktok

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// realDataDir returns ../shared/realdata/tiktok relative to the repository
// root. The files are other people's data and are never copied into the
// repository: without them the test skips, except under CI=true, where their
// absence is a failure.
func realDataDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "realdata", "tiktok")
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("real sample data missing at %s (required when CI=true): %v", p, err)
		}
		t.Skipf("real sample data not present at %s; skipping", p)
	}
	return p
}

func readReal(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(realDataDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestDecodeRealAdsHourly(t *testing.T) {
	body := readReal(t, "airbyte_ads_reports_hourly_response.json")
	p, err := DecodeReport(body, DecodeOptions{Level: LevelAd, Granularity: Hourly, Location: mustLoc(t, "Etc/GMT+8")})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rows) != 2 {
		t.Fatalf("rows = %d, want 2", len(p.Rows))
	}
	r := p.Rows[0]
	m := r.Metrics
	checks := []struct {
		name string
		got  string
		want string
	}{
		{"entity", r.EntityID, "11111111"},
		{"advertiser from top-level number", r.AdvertiserID, "872746382648"},
		{"date", r.Date.String(), "2024-01-01"},
		{"utc (Etc/GMT+8 is UTC-8)", r.StartUTC.Format(time.RFC3339), "2024-01-01T17:00:00Z"},
		{"spend string", m.Spend.String(), "20.00"},
		{"impressions string", m.Impressions.String(), "5830"},
		{"likes bare number", m.Likes.String(), "36"},
		{"app_install bare 0", m.AppInstall.String(), "0"},
		{"ctr as reported", m.CTR.String(), "1.18"},
		{"complete payment value", m.TotalCompletePaymentRate.String(), "0.00"},
		{"unknown bare decimal kept exactly", m.Extra["cost_per_purchase"], "12.30"},
		{"unknown null kept as -", m.Extra["cost_per_secondary_goal_result"], "-"},
		{"unknown big id kept exactly", m.Extra["campaign_id"], "1714125042508817"},
		{"unknown string kept", m.Extra["promotion_type"], "Website"},
		{"unknown float-looking kept", m.Extra["average_video_play"], "1.52"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	if r.Hour != 9 || p.Rows[1].Hour != 10 {
		t.Errorf("hours = %d, %d; want 9, 10", r.Hour, p.Rows[1].Hour)
	}
}

func TestDecodeRealReportFiles(t *testing.T) {
	tests := []struct {
		file      string
		opts      DecodeOptions
		wantRows  int
		wantLevel Level
		check     func(t *testing.T, p ReportPage)
	}{
		{file: "airbyte_ad_groups_reports_hourly_response.json", opts: DecodeOptions{Level: LevelAdGroup, Granularity: Hourly}, wantRows: 2, wantLevel: LevelAdGroup,
			check: func(t *testing.T, p ReportPage) {
				if got := p.Rows[0].Metrics.Extra["adgroup_name"]; got != "Ad Group20211020010107" {
					t.Errorf("adgroup_name = %q", got)
				}
				if !p.Rows[0].Metrics.Reach.Valid || p.Rows[0].Metrics.Reach.Uint64 != 4806 {
					t.Errorf("reach = %v", p.Rows[0].Metrics.Reach)
				}
			}},
		{file: "airbyte_campaigns_reports_hourly_response.json", opts: DecodeOptions{}, wantRows: 2, wantLevel: LevelCampaign,
			check: func(t *testing.T, p ReportPage) {
				if p.Rows[1].EntityID != "11111111" || p.Rows[1].Granularity != Hourly {
					t.Errorf("row 1 = %+v", p.Rows[1])
				}
			}},
		{file: "airbyte_advertisers_reports_hourly_response.json", opts: DecodeOptions{}, wantRows: 2,
			check: func(t *testing.T, p ReportPage) {
				// The fixture's two rows use different ID dimensions; the
				// decoder infers each one's level.
				if p.Rows[1].Level != LevelAdvertiser || p.Rows[1].EntityID != "11111111" {
					t.Errorf("row 1 = %+v", p.Rows[1])
				}
				for _, r := range p.Rows {
					if !r.Metrics.CashSpend.Decimal.Equal(dec("20")) || !r.Metrics.VoucherSpend.Valid {
						t.Errorf("cash/voucher spend = %v/%v", r.Metrics.CashSpend, r.Metrics.VoucherSpend)
					}
				}
			}},
		{file: "airbyte_advertisers_audience_reports_lifetime_response.json", opts: DecodeOptions{}, wantRows: 2, wantLevel: LevelAdvertiser,
			check: func(t *testing.T, p ReportPage) {
				r := p.Rows[0]
				if r.Dimensions["age"] != "AGE_35_44" || r.Dimensions["gender"] != "MALE" || r.EntityID != "872746382648" {
					t.Errorf("audience row = %+v", r)
				}
				if !r.Metrics.Spend.Decimal.Equal(dec("31.56")) {
					t.Errorf("spend = %v", r.Metrics.Spend)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			p, err := DecodeReport(readReal(t, tc.file), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Rows) != tc.wantRows {
				t.Fatalf("rows = %d, want %d", len(p.Rows), tc.wantRows)
			}
			if tc.wantLevel != "" && p.Rows[0].Level != tc.wantLevel {
				t.Errorf("level = %s, want %s", p.Rows[0].Level, tc.wantLevel)
			}
			tc.check(t, p)
		})
	}
}

func TestDecodeRealEntities(t *testing.T) {
	var env struct {
		Data struct {
			List []Advertiser `json:"list"`
		} `json:"data"`
	}
	if err := json.Unmarshal(readReal(t, "airbyte_advertisers_response.json"), &env); err != nil {
		t.Fatal(err)
	}
	if len(env.Data.List) != 1 || env.Data.List[0].ID != "872746382648" || env.Data.List[0].Name != "test name" {
		t.Fatalf("advertisers = %+v", env.Data.List)
	}

	sc := bufio.NewScanner(bytes.NewReader(readReal(t, "airbyte_expected_records_truncated.jsonl")))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	counts := map[string]int{}
	for sc.Scan() {
		var rec struct {
			Stream string          `json:"stream"`
			Data   json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		counts[rec.Stream]++
		switch rec.Stream {
		case "advertisers":
			var a Advertiser
			if err := json.Unmarshal(rec.Data, &a); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Location(); err != nil {
				t.Errorf("advertiser %s: %v", a.ID, err)
			}
			if !a.CreateTime.Valid || a.Currency == "" {
				t.Errorf("advertiser %+v", a)
			}
			if a.Timezone == "Etc/GMT+8" {
				// 19-digit IDs arrive as bare numbers; float64 would corrupt them.
				if a.ID != "7002238017842757633" || a.DisplayTimezone != "America/Los_Angeles" {
					t.Errorf("advertiser = %+v", a)
				}
				loc, _ := a.Location()
				if _, off := time.Date(2024, 1, 1, 0, 0, 0, 0, loc).Zone(); off != -8*3600 {
					t.Errorf("Etc/GMT+8 offset = %d, want -8h", off)
				}
			}
		case "ads":
			var ad Ad
			if err := json.Unmarshal(rec.Data, &ad); err != nil {
				t.Fatal(err)
			}
			if ad.ID == "" || ad.AdGroupID == "" || !ad.CreateTime.Valid {
				t.Errorf("ad = %+v", ad)
			}
		case "ad_groups":
			var g AdGroup
			if err := json.Unmarshal(rec.Data, &g); err != nil {
				t.Fatal(err)
			}
			if g.ID == "" || g.CampaignID == "" || g.BudgetMode == "" {
				t.Errorf("ad group = %+v", g)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if counts["advertisers"] != 3 || counts["ads"] == 0 || counts["ad_groups"] == 0 {
		t.Errorf("streams = %v", counts)
	}
}

func TestDecodeValues(t *testing.T) {
	tests := []struct {
		name    string
		metrics string
		check   func(m Metrics) bool
		wantErr bool
	}{
		{name: "dash is NULL", metrics: `{"app_install":"-","spend":"-"}`,
			check: func(m Metrics) bool { return !m.AppInstall.Valid && !m.Spend.Valid }},
		{name: "null is NULL", metrics: `{"app_install":null,"spend":null}`,
			check: func(m Metrics) bool { return !m.AppInstall.Valid && !m.Spend.Valid }},
		{name: "zero is not NULL", metrics: `{"app_install":"0","spend":"0.00"}`,
			check: func(m Metrics) bool { return m.AppInstall.Valid && m.Spend.Valid && m.Spend.Decimal.IsZero() }},
		{name: "bare numbers", metrics: `{"impressions":5830,"spend":20.10}`,
			check: func(m Metrics) bool { return m.Impressions.Uint64 == 5830 && m.Spend.String() == "20.10" }},
		{name: "six decimals exact", metrics: `{"spend":"0.123456"}`,
			check: func(m Metrics) bool {
				return m.Spend.Decimal.Equal(dec("0.123456")) && m.Spend.Decimal.Exponent() == -6
			}},
		{name: "huge spend exact", metrics: `{"spend":"123456789012345678901234.01"}`,
			check: func(m Metrics) bool { return m.Spend.String() == "123456789012345678901234.01" }},
		{name: "count with zero fraction", metrics: `{"clicks":"12.00"}`,
			check: func(m Metrics) bool { return m.Clicks.Uint64 == 12 }},
		{name: "max uint64 count", metrics: `{"impressions":"18446744073709551615"}`,
			check: func(m Metrics) bool { return m.Impressions.Uint64 == 18446744073709551615 }},
		{name: "fractional count rejected", metrics: `{"clicks":"1.5"}`, wantErr: true},
		{name: "negative count rejected", metrics: `{"clicks":"-1"}`, wantErr: true},
		{name: "count overflow rejected", metrics: `{"impressions":"18446744073709551616"}`, wantErr: true},
		{name: "garbage decimal rejected", metrics: `{"spend":"12,50"}`, wantErr: true},
		{name: "NaN rejected", metrics: `{"spend":"NaN"}`, wantErr: true},
		{name: "huge exponent rejected", metrics: `{"spend":"1e999999"}`, wantErr: true},
		{name: "object value rejected for known metric", metrics: `{"spend":{"a":1}}`, wantErr: true},
		{name: "repeated key keeps the last value", metrics: `{"spend":"1.00","clicks":"3","spend":"2.00"}`,
			check: func(m Metrics) bool { return m.Spend.String() == "2.00" && m.Clicks.Uint64 == 3 }},
		{name: "repeated key escaped first", metrics: `{"sp\u0065nd":"1.00","spend":"2.00"}`,
			check: func(m Metrics) bool { return m.Spend.String() == "2.00" }},
		{name: "repeated key escaped last", metrics: `{"spend":"1.00","sp\u0065nd":"2.00"}`,
			check: func(m Metrics) bool { return m.Spend.String() == "2.00" }},
		{name: "repeated unknown key", metrics: `{"x_metric":"1","x_metric":"2"}`,
			check: func(m Metrics) bool { return m.Extra["x_metric"] == "2" && len(m.Extra) == 1 }},
		{name: "unknown metrics kept", metrics: `{"skan_app_install":"7","cost_per_conversion":"-","tt_app_id":0}`,
			check: func(m Metrics) bool {
				return m.Extra["skan_app_install"] == "7" && m.Extra["cost_per_conversion"] == "-" && m.Extra["tt_app_id"] == "0"
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"code":0,"message":"OK","request_id":"r1","data":{"list":[{"dimensions":{"ad_id":"1","stat_time_day":"2024-03-01 00:00:00"},"metrics":` + tc.metrics + `}],"page_info":{"page":1,"page_size":10,"total_number":1,"total_page":1}}}`
			p, err := DecodeReport([]byte(body), DecodeOptions{Level: LevelAd, Granularity: Daily})
			if tc.wantErr {
				var de *DecodeError
				if !errors.As(err, &de) || de.Row != 0 {
					t.Fatalf("err = %v, want a DecodeError for row 0", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(p.Rows[0].Metrics) {
				t.Errorf("unexpected metrics %+v", p.Rows[0].Metrics)
			}
		})
	}
}

// TestDecodeRepeatedDimensionKeepsLast: a repeated key keeps its last
// value, whichever of its occurrences is spelled with escapes.
func TestDecodeRepeatedDimensionKeepsLast(t *testing.T) {
	for _, dims := range []string{
		`{"ad_id":"1","stat_time_day":"2024-03-01 00:00:00","stat_time_day":"2024-03-02 00:00:00"}`,
		`{"ad_id":"1","stat_time_d\u0061y":"2024-03-01 00:00:00","stat_time_day":"2024-03-02 00:00:00"}`,
		`{"ad_id":"1","stat_time_day":"2024-03-01 00:00:00","stat_time_d\u0061y":"2024-03-02 00:00:00"}`,
	} {
		body := `{"code":0,"message":"OK","request_id":"r1","data":{"list":[{"dimensions":` + dims + `,"metrics":{"spend":"1.00"}}],"page_info":{"page":1,"page_size":10,"total_number":1,"total_page":1}}}`
		p, err := DecodeReport([]byte(body), DecodeOptions{Level: LevelAd, Granularity: Daily})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Rows[0].Date.String(); got != "2024-03-02" {
			t.Errorf("%s: date %s, want the last one, 2024-03-02", dims, got)
		}
	}
}

// TestDecodeRowsNamingMembersInAnotherOrder: the rows of a page usually name
// their members in the same order; a row that changes the order, repeats a
// key, spells one with escapes or adds an unknown one is decoded by its own
// keys all the same.
func TestDecodeRowsNamingMembersInAnotherOrder(t *testing.T) {
	rows := []string{
		`{"dimensions":{"ad_id":"1","stat_time_day":"2024-03-01 00:00:00"},"metrics":{"spend":"1.00","clicks":"2","impressions":"3"}}`,
		`{"dimensions":{"stat_time_day":"2024-03-02 00:00:00","ad_id":"2"},"metrics":{"clicks":"5","spend":"4.00","impressions":"6"}}`,
		`{"metrics":{"impressions":"9","cl\u0069cks":"8","spend":"7.00","spend":"7.50"},"dimensions":{"ad_id":"3","stat_time_day":"2024-03-03 00:00:00"}}`,
		`{"dimensions":{"ad_id":"4","stat_time_day":"2024-03-04 00:00:00"},"metrics":{"unknown_metric":"x","spend":"10.00","clicks":"11"}}`,
	}
	body := `{"code":0,"message":"OK","request_id":"r1","data":{"list":[` + strings.Join(rows, ",") +
		`],"page_info":{"page":1,"page_size":10,"total_number":4,"total_page":1}}}`
	p, err := DecodeReport([]byte(body), DecodeOptions{Level: LevelAd, Granularity: Daily})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id, date, spend string
		clicks          uint64
	}{{"1", "2024-03-01", "1", 2}, {"2", "2024-03-02", "4", 5}, {"3", "2024-03-03", "7.5", 8}, {"4", "2024-03-04", "10", 11}}
	for i, w := range want {
		r := p.Rows[i]
		if r.EntityID != w.id || r.Date.String() != w.date || !r.Metrics.Spend.Decimal.Equal(dec(w.spend)) || r.Metrics.Clicks.Uint64 != w.clicks {
			t.Errorf("row %d: %s %s spend %s clicks %d, want %+v", i, r.EntityID, r.Date, r.Metrics.Spend.Decimal, r.Metrics.Clicks.Uint64, w)
		}
	}
	if p.Rows[3].Metrics.Extra["unknown_metric"] != "x" {
		t.Errorf("row 3 lost its unknown metric: %v", p.Rows[3].Metrics.Extra)
	}
}

// TestDecimalSumsExact is the reason money never goes through float64:
// three hours of 0.10 make exactly 0.30.
func TestDecimalSumsExact(t *testing.T) {
	var rows []string
	for h := 0; h < 3; h++ {
		rows = append(rows, `{"dimensions":{"campaign_id":"9","stat_time_hour":"2024-03-01 0`+string(rune('0'+h))+`:00:00"},"metrics":{"spend":"0.10"}}`)
	}
	body := `{"code":0,"message":"OK","data":{"list":[` + strings.Join(rows, ",") + `],"page_info":{"page":1,"page_size":10,"total_number":3,"total_page":1}}}`
	p, err := DecodeReport([]byte(body), DecodeOptions{Level: LevelCampaign, Granularity: Hourly})
	if err != nil {
		t.Fatal(err)
	}
	sum := decimal.Zero
	for _, r := range p.Rows {
		sum = sum.Add(r.Metrics.Spend.Decimal)
	}
	if !sum.Equal(dec("0.30")) || sum.String() != "0.3" {
		t.Fatalf("0.10 × 3 = %s, want exactly 0.30", sum)
	}
}

func TestDecodeDimensions(t *testing.T) {
	tests := []struct {
		name    string
		dims    string
		opts    DecodeOptions
		wantErr bool
		check   func(r ReportRow) bool
	}{
		{name: "hour in Etc/GMT+8", dims: `{"ad_id":"5","stat_time_hour":"2024-03-01 23:00:00"}`,
			opts: DecodeOptions{Level: LevelAd, Granularity: Hourly, Location: mustLoc(t, "Etc/GMT+8")},
			check: func(r ReportRow) bool {
				return r.Date == NewDate(2024, 3, 1) && r.Hour == 23 && r.StartUTC.Equal(time.Date(2024, 3, 2, 7, 0, 0, 0, time.UTC)) && r.Timezone == "Etc/GMT+8"
			}},
		{name: "hour in Asia/Tokyo", dims: `{"ad_id":"5","stat_time_hour":"2024-03-01 05:00:00"}`,
			opts: DecodeOptions{Level: LevelAd, Granularity: Hourly, Location: mustLoc(t, "Asia/Tokyo")},
			check: func(r ReportRow) bool {
				return r.StartUTC.Equal(time.Date(2024, 2, 29, 20, 0, 0, 0, time.UTC))
			}},
		{name: "DST summer hour in Europe/Berlin", dims: `{"ad_id":"5","stat_time_hour":"2024-07-01 12:00:00"}`,
			opts:  DecodeOptions{Level: LevelAd, Granularity: Hourly, Location: mustLoc(t, "Europe/Berlin")},
			check: func(r ReportRow) bool { return r.StartUTC.Equal(time.Date(2024, 7, 1, 10, 0, 0, 0, time.UTC)) }},
		{name: "day is a local label", dims: `{"campaign_id":7,"stat_time_day":"2024-03-01 00:00:00"}`,
			opts: DecodeOptions{Level: LevelCampaign, Granularity: Daily, Location: mustLoc(t, "Asia/Tokyo")},
			check: func(r ReportRow) bool {
				return r.EntityID == "7" && r.Date == NewDate(2024, 3, 1) && r.StartUTC.Equal(time.Date(2024, 2, 29, 15, 0, 0, 0, time.UTC))
			}},
		{name: "missing id dimension", dims: `{"stat_time_day":"2024-03-01 00:00:00"}`, opts: DecodeOptions{Level: LevelAd, Granularity: Daily}, wantErr: true},
		{name: "missing time dimension", dims: `{"ad_id":"1"}`, opts: DecodeOptions{Level: LevelAd, Granularity: Daily}, wantErr: true},
		{name: "bad time", dims: `{"ad_id":"1","stat_time_day":"03/01/2024"}`, opts: DecodeOptions{Level: LevelAd, Granularity: Daily}, wantErr: true},
		{name: "daily with an hour", dims: `{"ad_id":"1","stat_time_day":"2024-03-01 05:00:00"}`, opts: DecodeOptions{Level: LevelAd, Granularity: Daily}, wantErr: true},
		{name: "hour with minutes", dims: `{"ad_id":"1","stat_time_hour":"2024-03-01 05:30:00"}`, opts: DecodeOptions{Level: LevelAd, Granularity: Hourly}, wantErr: true},
		{name: "empty id", dims: `{"ad_id":"","stat_time_day":"2024-03-01 00:00:00"}`, opts: DecodeOptions{Level: LevelAd, Granularity: Daily}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"code":0,"message":"OK","data":{"list":[{"dimensions":` + tc.dims + `,"metrics":{}}]}}`
			p, err := DecodeReport([]byte(body), tc.opts)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("decoded %+v, want an error", p.Rows)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(p.Rows[0]) {
				t.Errorf("row = %+v (utc %s)", p.Rows[0], p.Rows[0].StartUTC)
			}
		})
	}
}

func TestDecodeEnvelopeErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		is   error
	}{
		{"truncated", `{"code":0,"message":"OK","data":{"list":[`, ErrMalformedResponse},
		{"html", `<html>502</html>`, ErrMalformedResponse},
		{"no code", `{"message":"OK"}`, ErrMalformedResponse},
		{"query too large", `{"code":40067,"message":"query too large","request_id":"x"}`, ErrQueryTooLarge},
		{"auth", `{"code":40105,"message":"bad token","request_id":"x"}`, ErrAuth},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeReport([]byte(tc.body), DecodeOptions{})
			if !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
		})
	}
}

func FuzzDecodeReport(f *testing.F) {
	f.Add([]byte(`{"code":0,"message":"OK","request_id":"1","data":{"list":[{"dimensions":{"ad_id":"1","stat_time_hour":"2024-01-01 09:00:00"},"metrics":{"spend":"20.00","impressions":"4696","likes":36,"ctr":"1.09","app_install":"-","x":null}}],"page_info":{"page":1,"page_size":1000,"total_number":1,"total_page":1}}}`))
	f.Add([]byte(`{"code":0,"data":{"list":[{"dimensions":{"advertiser_id":872746382648,"age":"AGE_18_24"},"metrics":{"spend":1e-5,"clicks":"12.00"}}]}}`))
	f.Add([]byte(`{"code":40100,"message":"too many","request_id":"r"}`))
	f.Add([]byte(`{"code":0,"data":null}`))
	f.Add([]byte(`{"code":0,"data":{"list":[{"dimensions":{"campaign_id":"1","stat_time_day":"2024-02-30 00:00:00"},"metrics":{"spend":"1e99999999"}}]}}`))
	f.Add([]byte(`<html>`))
	f.Add([]byte(`{"code":0,"data":{"list":[{"dimensions":{"ad_id":"1","stat_time_day":"2024-03-01 00:00:00"},"metrics":{"spend":"1","clicks":"2"}},` +
		`{"dimensions":{"ad_id":"2","stat_time_day":"2024-03-02 00:00:00"},"metrics":{"clicks":"3","spend":"4"}}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, opts := range []DecodeOptions{
			{},
			{Level: LevelAd, Granularity: Hourly, Location: time.UTC},
			{Level: LevelCampaign, Granularity: Daily},
		} {
			p, err := DecodeReport(body, opts)
			if err != nil {
				continue
			}
			for i := range p.Rows {
				r := &p.Rows[i]
				_ = r.Key()
				for _, name := range KnownMetrics() {
					if s, _ := r.Metrics.Text(name); len(s) > 256 {
						t.Fatalf("metric %s formats to %d bytes", name, len(s))
					}
				}
				if !r.Equal(r) {
					t.Fatal("row not equal to itself")
				}
			}
			// Each row decoded alone is the row the page gave: nothing of
			// the page's other rows changes it.
			env, err := decodeEnvelope(body)
			if err != nil {
				t.Fatalf("the page decoded, its envelope does not: %v", err)
			}
			data, err := walkObject(env.Data, nil, nil)
			if err != nil {
				t.Fatalf("the page decoded, its data does not: %v", err)
			}
			for _, f := range data {
				if f.key != "list" {
					continue
				}
				raws, err := walkList(f.val, nil)
				if err != nil || len(raws) != len(p.Rows) {
					t.Fatalf("the list: %d rows, %v; the page had %d", len(raws), err, len(p.Rows))
				}
				tz := ""
				if opts.Location != nil {
					tz = opts.Location.String()
				}
				for i := range raws {
					alone, err := decodeRow(&raws[i], i, opts, tz)
					if err != nil || !alone.Equal(&p.Rows[i]) {
						t.Fatalf("row %d alone: %+v, %v; in the page: %+v", i, alone, err, p.Rows[i])
					}
				}
			}
		}
	})
}

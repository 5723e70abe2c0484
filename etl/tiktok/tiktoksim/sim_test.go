package tiktoksim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shopspring/decimal"

	"github.com/adhouse/adhouse/etl/tiktok"
)

// additive are the metrics that must add up across hours and levels.
var additive = []string{
	"spend", "impressions", "clicks", "conversion", "real_time_conversion", "app_install", "real_time_app_install",
	"complete_payment", "total_complete_payment_rate", "total_purchase_value", "video_play_actions",
	"video_watched_2s", "video_watched_6s", "video_views_p25", "video_views_p50", "video_views_p75",
	"video_views_p100", "likes", "comments", "shares", "follows", "profile_visits",
}

// value returns a metric as a decimal and whether it is non-NULL.
func value(m *tiktok.Metrics, name string) (decimal.Decimal, bool) {
	if v, ok := m.Decimal(name); ok {
		return v.Decimal, v.Valid
	}
	v, _ := m.Count(name)
	return decimal.NewFromUint64(v.Uint64), v.Valid
}

// sums accumulates additive metrics per key, tracking NULL (a sum is NULL
// only if every part is).
type sums map[string]map[string]*struct {
	v     decimal.Decimal
	valid bool
}

func (s sums) add(key string, m *tiktok.Metrics) {
	if s[key] == nil {
		s[key] = map[string]*struct {
			v     decimal.Decimal
			valid bool
		}{}
	}
	for _, name := range additive {
		e := s[key][name]
		if e == nil {
			e = &struct {
				v     decimal.Decimal
				valid bool
			}{v: decimal.Zero}
			s[key][name] = e
		}
		if v, ok := value(m, name); ok {
			e.v, e.valid = e.v.Add(v), true
		}
	}
}

func (s sums) check(t *testing.T, what string, rows []tiktok.ReportRow, key func(*tiktok.ReportRow) string) {
	t.Helper()
	if len(rows) != len(s) {
		t.Errorf("%s: %d rows, %d aggregated keys", what, len(rows), len(s))
	}
	for i := range rows {
		k := key(&rows[i])
		agg := s[k]
		if agg == nil {
			t.Errorf("%s: row %s has no children", what, k)
			continue
		}
		for _, name := range additive {
			v, ok := value(&rows[i].Metrics, name)
			if ok != agg[name].valid || (ok && !v.Equal(agg[name].v)) {
				t.Errorf("%s %s %s: row %s (valid %v), Σ children %s (valid %v)", what, k, name, v, ok, agg[name].v, agg[name].valid)
			}
		}
	}
}

func parentOf(level tiktok.Level, id string) string {
	switch level {
	case tiktok.LevelAd:
		return "18" + id[2:14] + "000"
	case tiktok.LevelAdGroup:
		return "17" + id[2:11] + "000000"
	}
	return ""
}

// TestLevelsSumExactly checks the simulator's promise that levels and hours
// add up exactly, decimal for decimal, NULL for NULL.
func TestLevelsSumExactly(t *testing.T) {
	s := New(Config{Seed: 99, Advertisers: 4, CampaignsPerAdvertiser: 3, AdGroupsPerCampaign: 3, AdsPerAdGroup: 3})
	from, to := tiktok.NewDate(2024, 2, 1), tiktok.NewDate(2024, 2, 29)
	for _, adv := range s.AdvertiserIDs() {
		t.Run(adv, func(t *testing.T) {
			truth := func(l tiktok.Level, g tiktok.Granularity, a, b tiktok.Date) []tiktok.ReportRow {
				rows, err := s.Truth(adv, l, g, a, b)
				if err != nil {
					t.Fatal(err)
				}
				return rows
			}
			for _, g := range []tiktok.Granularity{tiktok.Daily, tiktok.Hourly} {
				a, b := from, to
				if g == tiktok.Hourly {
					a, b = to, to
				}
				ads := truth(tiktok.LevelAd, g, a, b)
				groups := truth(tiktok.LevelAdGroup, g, a, b)
				camps := truth(tiktok.LevelCampaign, g, a, b)
				advRows := truth(tiktok.LevelAdvertiser, g, a, b)
				timeKey := func(r *tiktok.ReportRow) string { return fmt.Sprintf("%s %02d", r.Date, r.Hour) }
				for _, lv := range []struct {
					child, parent []tiktok.ReportRow
					level         tiktok.Level
				}{{ads, groups, tiktok.LevelAd}, {groups, camps, tiktok.LevelAdGroup}, {camps, advRows, tiktok.LevelCampaign}} {
					agg := sums{}
					for i := range lv.child {
						p := adv
						if lv.level != tiktok.LevelCampaign {
							p = parentOf(lv.level, lv.child[i].EntityID)
						}
						agg.add(p+" "+timeKey(&lv.child[i]), &lv.child[i].Metrics)
					}
					agg.check(t, fmt.Sprintf("%s %s", g.Name(), lv.level.Name()), lv.parent, func(r *tiktok.ReportRow) string { return r.EntityID + " " + timeKey(r) })
				}
			}
			// Daily = Σ hourly, for every level, on a full day.
			day := tiktok.NewDate(2024, 2, 20)
			for _, l := range tiktok.Levels {
				agg := sums{}
				for _, r := range truth(l, tiktok.Hourly, day, day) {
					agg.add(r.EntityID, &r.Metrics)
				}
				agg.check(t, "daily vs hourly "+l.Name(), truth(l, tiktok.Daily, day, day), func(r *tiktok.ReportRow) string { return r.EntityID })
			}
		})
	}
}

func TestRatiosArePreRounded(t *testing.T) {
	s := New(Config{Seed: 1})
	rows, err := s.Truth(s.AdvertiserIDs()[3%len(s.AdvertiserIDs())], tiktok.LevelAd, tiktok.Daily, tiktok.NewDate(2024, 2, 1), tiktok.NewDate(2024, 2, 10))
	if err != nil {
		t.Fatal(err)
	}
	hundred, thousand := decimal.NewFromInt(100), decimal.NewFromInt(1000)
	for _, r := range rows {
		m := r.Metrics
		imp, clk := decimal.NewFromUint64(m.Impressions.Uint64), decimal.NewFromUint64(m.Clicks.Uint64)
		checks := []struct {
			name      string
			got, want decimal.Decimal
		}{
			{"ctr", m.CTR.Decimal, clk.Mul(hundred).DivRound(imp, 2)},
			{"cpm", m.CPM.Decimal, m.Spend.Decimal.Mul(thousand).DivRound(imp, 2)},
		}
		if !clk.IsZero() {
			checks = append(checks, struct {
				name      string
				got, want decimal.Decimal
			}{"cpc", m.CPC.Decimal, m.Spend.Decimal.DivRound(clk, 2)})
		}
		for _, c := range checks {
			if !c.got.Equal(c.want) || c.got.Exponent() != -2 {
				t.Fatalf("%s %s: %s = %s, want %s rounded to 2 decimals", r.EntityID, r.Date, c.name, c.got, c.want)
			}
		}
		if m.Reach.Uint64 > m.Impressions.Uint64 || m.Reach.Uint64 == 0 {
			t.Fatalf("reach %d for %d impressions", m.Reach.Uint64, m.Impressions.Uint64)
		}
	}
}

// apiGet sends a GET to the simulator and decodes the envelope.
func apiGet(t *testing.T, h http.Handler, path string, q url.Values, token string) (code int, msg string, data json.RawMessage, status int) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path+"?"+q.Encode(), nil)
	if token != "" {
		req.Header.Set("Access-Token", token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		return 0, w.Body.String(), nil, w.Code
	}
	var env struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil {
		t.Fatalf("%s: %v: %s", path, err, w.Body.String())
	}
	return env.Code, env.Message, env.Data, w.Code
}

func reportQuery(adv string, level tiktok.Level, g tiktok.Granularity, from, to string) url.Values {
	q := url.Values{}
	q.Set("advertiser_id", adv)
	q.Set("report_type", "BASIC")
	q.Set("service_type", "AUCTION")
	q.Set("data_level", string(level))
	q.Set("dimensions", `["`+level.IDDimension()+`","`+string(g)+`"]`)
	q.Set("metrics", `["spend","impressions"]`)
	q.Set("start_date", from)
	q.Set("end_date", to)
	q.Set("page_size", "1000")
	return q
}

func TestRequestValidation(t *testing.T) {
	s := New(Config{})
	tok := s.AccessToken()
	adv := s.AdvertiserIDs()[0]
	base := BasePath + "report/integrated/get/"
	mod := func(f func(q url.Values)) url.Values {
		q := reportQuery(adv, tiktok.LevelAd, tiktok.Daily, "2024-01-01", "2024-01-30")
		f(q)
		return q
	}
	tests := []struct {
		name       string
		path       string
		q          url.Values
		token      string
		wantCode   int
		wantStatus int
	}{
		{"30 daily days ok", base, mod(func(url.Values) {}), tok, 0, 200},
		{"31 daily days", base, mod(func(q url.Values) { q.Set("end_date", "2024-01-31") }), tok, 40002, 200},
		{"1 hourly day ok", base, mod(func(q url.Values) {
			q.Set("dimensions", `["ad_id","stat_time_hour"]`)
			q.Set("end_date", "2024-01-01")
		}), tok, 0, 200},
		{"2 hourly days", base, mod(func(q url.Values) {
			q.Set("dimensions", `["ad_id","stat_time_hour"]`)
			q.Set("end_date", "2024-01-02")
		}), tok, 40002, 200},
		{"end before start", base, mod(func(q url.Values) { q.Set("end_date", "2023-12-31") }), tok, 40002, 200},
		{"unknown metric", base, mod(func(q url.Values) { q.Set("metrics", `["spend","bogus"]`) }), tok, 40002, 200},
		{"cash_spend below advertiser level", base, mod(func(q url.Values) { q.Set("metrics", `["cash_spend"]`) }), tok, 40002, 200},
		{"page_size over 1000", base, mod(func(q url.Values) { q.Set("page_size", "1001") }), tok, 40002, 200},
		{"wrong status field", base, mod(func(q url.Values) {
			q.Set("filtering", `[{"field_name":"campaign_status","filter_type":"IN","filter_value":"[\"STATUS_ALL\"]"}]`)
		}), tok, 40002, 200},
		{"status filter at advertiser level", base, func() url.Values {
			q := reportQuery(adv, tiktok.LevelAdvertiser, tiktok.Daily, "2024-01-01", "2024-01-02")
			q.Set("filtering", `[{"field_name":"advertiser_status","filter_type":"IN","filter_value":"[\"STATUS_ALL\"]"}]`)
			return q
		}(), tok, 40002, 200},
		{"unknown advertiser", base, mod(func(q url.Values) { q.Set("advertiser_id", "123") }), tok, 40001, 200},
		{"missing token", base, mod(func(url.Values) {}), "", 40104, 200},
		{"wrong token", base, mod(func(url.Values) {}), "nope", 40105, 200},
		{"no trailing slash", strings.TrimSuffix(base, "/"), mod(func(url.Values) {}), tok, 0, 404},
		{"unknown path", BasePath + "report/audience/get/", mod(func(url.Values) {}), tok, 0, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, msg, _, status := apiGet(t, s, tc.path, tc.q, tc.token)
			if code != tc.wantCode || status != tc.wantStatus {
				t.Errorf("code %d status %d (%s), want code %d status %d", code, status, msg, tc.wantCode, tc.wantStatus)
			}
			if tc.wantCode != 0 && msg == "" {
				t.Error("error without a message")
			}
		})
	}
	req := httptest.NewRequest(http.MethodPost, base, nil)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST to a GET endpoint: %d", w.Code)
	}
}

// TestDeletedHiddenUnlessStatusAll: deleted campaigns/ad groups/ads and their
// report rows are left out unless STATUS_ALL is asked for.
func TestDeletedHiddenUnlessStatusAll(t *testing.T) {
	s := New(Config{Seed: 8, Advertisers: 3, CampaignsPerAdvertiser: 6, AdGroupsPerCampaign: 3, AdsPerAdGroup: 3})
	tok := s.AccessToken()
	hiddenEntities, hiddenRows := 0, 0
	for _, adv := range s.AdvertiserIDs() {
		for _, k := range []struct{ path, prefix string }{{"campaign/get/", "CAMPAIGN"}, {"adgroup/get/", "ADGROUP"}, {"ad/get/", "AD"}} {
			count := func(filter string) (int, int) {
				q := url.Values{"advertiser_id": {adv}, "page_size": {"1000"}}
				if filter != "" {
					q.Set("filtering", filter)
				}
				code, msg, data, _ := apiGet(t, s, BasePath+k.path, q, tok)
				if code != 0 {
					t.Fatalf("%s: %d %s", k.path, code, msg)
				}
				var d struct {
					List []struct {
						SecondaryStatus string `json:"secondary_status"`
					} `json:"list"`
					PageInfo struct {
						TotalNumber int `json:"total_number"`
					} `json:"page_info"`
				}
				if err := json.Unmarshal(data, &d); err != nil {
					t.Fatal(err)
				}
				deleted := 0
				for _, e := range d.List {
					if e.SecondaryStatus == k.prefix+"_STATUS_DELETE" {
						deleted++
					}
				}
				if d.PageInfo.TotalNumber != len(d.List) {
					t.Errorf("total_number %d for %d items", d.PageInfo.TotalNumber, len(d.List))
				}
				return len(d.List), deleted
			}
			def, defDeleted := count("")
			all, allDeleted := count(`{"secondary_status":"` + k.prefix + `_STATUS_ALL"}`)
			if defDeleted != 0 || all != def+allDeleted {
				t.Errorf("%s %s: default %d (%d deleted), STATUS_ALL %d (%d deleted)", adv, k.path, def, defDeleted, all, allDeleted)
			}
			hiddenEntities += allDeleted
		}
		q := reportQuery(adv, tiktok.LevelAd, tiktok.Daily, "2024-01-01", "2024-01-30")
		_, _, plain, _ := apiGet(t, s, BasePath+"report/integrated/get/", q, tok)
		q.Set("filtering", `[{"field_name":"ad_status","filter_type":"IN","filter_value":"[\"STATUS_ALL\"]"}]`)
		_, _, all, _ := apiGet(t, s, BasePath+"report/integrated/get/", q, tok)
		total := func(d json.RawMessage) int {
			var x struct {
				PageInfo struct {
					TotalNumber int `json:"total_number"`
				} `json:"page_info"`
			}
			_ = json.Unmarshal(d, &x)
			return x.PageInfo.TotalNumber
		}
		if total(all) < total(plain) {
			t.Errorf("STATUS_ALL report has fewer rows (%d) than the default (%d)", total(all), total(plain))
		}
		hiddenRows += total(all) - total(plain)
	}
	if hiddenEntities == 0 || hiddenRows == 0 {
		t.Errorf("no deleted entity (%d) or hidden report row (%d) in the test account", hiddenEntities, hiddenRows)
	}
}

// TestClockAndRestatement: the future has no data, today is partial, and
// advancing the clock grows attributed metrics of recent days while spend,
// impressions and clicks never change.
func TestClockAndRestatement(t *testing.T) {
	s := New(Config{Seed: 21, RestatementDays: 7})
	adv := s.AdvertiserIDs()[0] // Etc/GMT+8
	now := time.Date(2024, 2, 20, 12, 0, 0, 0, time.UTC)
	s.SetNow(now) // 04:00 on Feb 20 in Etc/GMT+8
	today := tiktok.NewDate(2024, 2, 20)

	future, _ := s.Truth(adv, tiktok.LevelAdvertiser, tiktok.Daily, today.AddDays(1), today.AddDays(5))
	if len(future) != 0 {
		t.Errorf("%d rows after today", len(future))
	}
	hours, _ := s.Truth(adv, tiktok.LevelAdvertiser, tiktok.Hourly, today, today)
	if len(hours) != 4 || hours[len(hours)-1].Hour != 3 {
		t.Errorf("today at 04:00 local has %d hourly rows (last %+v), want hours 0-3", len(hours), hours[len(hours)-1])
	}

	from := today.AddDays(-12)
	before, _ := s.Truth(adv, tiktok.LevelAd, tiktok.Daily, from, today)
	s.Advance(24 * time.Hour)
	after, _ := s.Truth(adv, tiktok.LevelAd, tiktok.Daily, from, today)
	if len(after) < len(before) {
		t.Errorf("rows went from %d to %d; advancing the clock only adds rows", len(before), len(after))
	}
	idx := map[string]*tiktok.ReportRow{}
	for i := range after {
		idx[after[i].Key()] = &after[i]
	}
	grew := 0
	for i := range before {
		b := &before[i]
		a := idx[b.Key()]
		if a == nil {
			t.Fatalf("row %s disappeared", b.Key())
		}
		if b.Date == today {
			continue // today was partial; it legitimately grows in every metric
		}
		if !a.Metrics.Spend.Equal(b.Metrics.Spend) || a.Metrics.Impressions != b.Metrics.Impressions || a.Metrics.Clicks != b.Metrics.Clicks ||
			a.Metrics.RealTimeConversion != b.Metrics.RealTimeConversion || a.Metrics.VideoPlayActions != b.Metrics.VideoPlayActions {
			t.Errorf("%s: non-attributed metric changed", b.Key())
		}
		for _, name := range []string{"conversion", "app_install", "complete_payment", "total_complete_payment_rate", "total_purchase_value"} {
			va, oka := value(&a.Metrics, name)
			vb, okb := value(&b.Metrics, name)
			if oka != okb || va.LessThan(vb) {
				t.Errorf("%s %s went from %s to %s", b.Key(), name, vb, va)
			}
			if va.GreaterThan(vb) {
				grew++
				if b.Date.Before(today.AddDays(-8)) {
					t.Errorf("%s %s restated beyond the 7-day window", b.Key(), name)
				}
			}
		}
	}
	if grew == 0 {
		t.Error("no attributed metric grew after a day")
	}
}

func TestDeterministic(t *testing.T) {
	day := tiktok.NewDate(2024, 2, 3)
	pull := func(seed uint64) string {
		s := New(Config{Seed: seed})
		rows, err := s.Truth(s.AdvertiserIDs()[1], tiktok.LevelAd, tiktok.Hourly, day, day)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, r := range rows {
			fmt.Fprintf(&b, "%s %s %s|", r.Key(), r.Metrics.Spend, r.Metrics.Conversion)
		}
		return b.String()
	}
	if a, b := pull(5), pull(5); a != b || a == "" {
		t.Error("same seed served different data")
	}
	if pull(5) == pull(6) {
		t.Error("different seeds served the same data")
	}
}

func TestFaultsDeterministicAndCounted(t *testing.T) {
	faults := Faults{Seed: 3, RateLimitRate: 0.3, SystemErrorRate: 0.1, TruncateRate: 0.1, MalformedRate: 0.1}
	run := func() (string, FaultStats) {
		s := New(Config{Faults: faults})
		var b strings.Builder
		for i := 0; i < 60; i++ {
			q := url.Values{"advertiser_id": {s.AdvertiserIDs()[i%3]}, "page": {fmt.Sprint(1 + i%4)}}
			req := httptest.NewRequest(http.MethodGet, BasePath+"campaign/get/?"+q.Encode(), nil)
			req.Header.Set("Access-Token", s.AccessToken())
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			body, _ := io.ReadAll(w.Body)
			var env struct{ Code int }
			if json.Unmarshal(body, &env) != nil {
				b.WriteString("M")
			} else {
				fmt.Fprintf(&b, "%d,", env.Code)
			}
		}
		return b.String(), s.Stats().Faults
	}
	a, fa := run()
	b, fb := run()
	if a != b || fa != fb {
		t.Fatalf("fault pattern not reproducible:\n%s\n%s", a, b)
	}
	bad := strings.Count(a, "M") + strings.Count(a, "40100") + strings.Count(a, "50000") + strings.Count(a, "50002")
	if uint64(bad) != fa.Total() || fa.RateLimited == 0 || fa.SystemErrors == 0 || fa.Truncated+fa.Malformed == 0 {
		t.Errorf("observed %d faults, counted %+v", bad, fa)
	}
}

func TestQPSEnforced(t *testing.T) {
	s := New(Config{QPS: 5, QPM: 100})
	limited := 0
	for i := 0; i < 12; i++ {
		code, _, _, _ := apiGet(t, s, BasePath+"campaign/get/", url.Values{"advertiser_id": {s.AdvertiserIDs()[0]}}, s.AccessToken())
		if code == 40100 {
			limited++
		}
	}
	if limited != 7 || s.Stats().Throttled != 7 {
		t.Errorf("12 back-to-back requests at QPS 5: %d limited (counted %d), want 7", limited, s.Stats().Throttled)
	}
}

func TestOAuthPortalAndExchange(t *testing.T) {
	s := New(Config{})
	cfg := s.Config()
	q := url.Values{"app_id": {cfg.AppID}, "state": {"xyz"}, "redirect_uri": {"http://127.0.0.1:9/cb"}}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/portal/auth?"+q.Encode(), nil))
	loc, err := url.Parse(w.Header().Get("Location"))
	if w.Code != http.StatusFound || err != nil || loc.Query().Get("auth_code") != cfg.AuthCode || loc.Query().Get("state") != "xyz" {
		t.Fatalf("portal: %d %s", w.Code, w.Header().Get("Location"))
	}
	body := fmt.Sprintf(`{"app_id":%q,"secret":%q,"auth_code":%q}`, cfg.AppID, cfg.Secret, cfg.AuthCode)
	w = httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, BasePath+"oauth2/access_token/", strings.NewReader(body)))
	var env struct {
		Code int
		Data struct {
			AccessToken   string   `json:"access_token"`
			AdvertiserIDs []string `json:"advertiser_ids"`
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || env.Code != 0 || env.Data.AccessToken != s.AccessToken() || len(env.Data.AdvertiserIDs) != 3 {
		t.Fatalf("exchange: %s", w.Body.String())
	}
}

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:0", true}, {"localhost:8080", true}, {"[::1]:0", true}, {"127.0.0.2:1", true},
		{"0.0.0.0:8080", false}, {":8080", false}, {"10.0.0.1:80", false}, {"example.com:80", false}, {"nonsense", false},
	}
	for _, tc := range tests {
		if err := CheckLoopback(tc.addr); (err == nil) != tc.ok {
			t.Errorf("CheckLoopback(%q) = %v", tc.addr, err)
		}
	}
	s := New(Config{})
	if _, err := s.Start("0.0.0.0:0"); err == nil {
		t.Error("Start accepted a non-loopback address")
	}
}

func TestHourSlots(t *testing.T) {
	tests := []struct {
		tz     string
		day    tiktok.Date
		want   int
		repeat int // the label served twice, or -1
	}{
		{"Europe/Berlin", tiktok.NewDate(2024, 3, 31), 23, -1},
		{"Europe/Berlin", tiktok.NewDate(2024, 10, 27), 25, 2},
		{"America/New_York", tiktok.NewDate(2024, 3, 10), 23, -1},
		{"America/New_York", tiktok.NewDate(2024, 11, 3), 25, 1},
		{"Etc/GMT+8", tiktok.NewDate(2024, 3, 31), 24, -1},
		{"Asia/Kolkata", tiktok.NewDate(2024, 3, 31), 24, -1},
	}
	for _, tc := range tests {
		loc, err := time.LoadLocation(tc.tz)
		if err != nil {
			t.Fatal(err)
		}
		slots := hourSlots(tc.day, loc)
		if len(slots) != tc.want {
			t.Errorf("%s %s: %d hours, want %d", tc.tz, tc.day, len(slots), tc.want)
		}
		for i, sl := range slots {
			if i > 0 && sl.start.Sub(slots[i-1].start) != time.Hour {
				t.Errorf("%s %s: slot %d starts %s after the previous", tc.tz, tc.day, i, sl.start.Sub(slots[i-1].start))
			}
			if sl.fold > 0 && sl.label != tc.repeat {
				t.Errorf("%s %s: label %d repeated, want %d", tc.tz, tc.day, sl.label, tc.repeat)
			}
		}
	}
}

// BenchmarkServeAdDays measures serving ad-level daily rows through HTTP
// (window computation, pagination, JSON). The "large" preset is 1.2 million
// ad-days; rows/s here tells how long serving all of them takes.
func BenchmarkServeAdDays(b *testing.B) {
	cfg, _ := Scale("large")
	s := New(cfg)
	adv := s.AdvertiserIDs()[0]
	rows := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.cache = newWindowCache(defaultCacheRows) // measure computation, not the cache
		for page := 1; ; page++ {
			q := reportQuery(adv, tiktok.LevelAd, tiktok.Daily, "2024-01-01", "2024-01-30")
			q.Set("metrics", `["spend","impressions","clicks","reach","ctr","cpc","cpm","conversion","app_install","complete_payment","total_complete_payment_rate","likes"]`)
			q.Set("page", fmt.Sprint(page))
			req := httptest.NewRequest(http.MethodGet, BasePath+"report/integrated/get/?"+q.Encode(), nil)
			req.Header.Set("Access-Token", s.AccessToken())
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			var env struct {
				Data struct {
					List     []json.RawMessage `json:"list"`
					PageInfo tiktok.PageInfo   `json:"page_info"`
				} `json:"data"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil {
				b.Fatal(err)
			}
			rows += len(env.Data.List)
			if page >= env.Data.PageInfo.TotalPage {
				break
			}
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// TestLimitEpisodes: a per-second episode answers 40100 to every request
// until the next whole second, a per-minute one until the next whole minute
// (or for MinuteLimitFor), both with the same envelope and message as the
// QPS/QPM enforcement, and every answer is counted.
func TestLimitEpisodes(t *testing.T) {
	tests := []struct {
		name   string
		faults Faults
		// offsets from the episode's start (at 0.3 s into a minute) and
		// whether a request then is limited
		probes []time.Duration
		want   []bool
		count  func(FaultStats) uint64
	}{
		{"per second", Faults{SecondLimitRate: 1}, []time.Duration{0, 200 * time.Millisecond, 699 * time.Millisecond, 700 * time.Millisecond},
			[]bool{true, true, true, false}, func(f FaultStats) uint64 { return f.SecondLimited }},
		{"per minute", Faults{MinuteLimitRate: 1}, []time.Duration{0, time.Second, 30 * time.Second, 59*time.Second + 699*time.Millisecond, 59*time.Second + 700*time.Millisecond},
			[]bool{true, true, true, true, false}, func(f FaultStats) uint64 { return f.MinuteLimited }},
		{"per minute, 90 s", Faults{MinuteLimitRate: 1, MinuteLimitFor: 90 * time.Second}, []time.Duration{0, 89 * time.Second, 90 * time.Second},
			[]bool{true, true, false}, func(f FaultStats) uint64 { return f.MinuteLimited }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := New(Config{Faults: tc.faults})
				adv := s.AdvertiserIDs()[0]
				time.Sleep(300 * time.Millisecond)
				start := time.Now()
				limited := uint64(0)
				for i, at := range tc.probes {
					time.Sleep(time.Until(start.Add(at)))
					if i == 1 {
						// Only the first request may start an episode.
						s.SetFaults(Faults{})
					}
					code, msg, _, _ := apiGet(t, s, BasePath+"campaign/get/", url.Values{"advertiser_id": {adv}}, s.AccessToken())
					if got := code == tiktok.CodeRateLimited; got != tc.want[i] {
						t.Errorf("request at +%s: code %d, want limited %v", at, code, tc.want[i])
					}
					if code == tiktok.CodeRateLimited {
						limited++
						if msg != msgAppLimit {
							t.Errorf("40100 message %q", msg)
						}
					}
				}
				st := s.Stats()
				if tc.count(st.Faults) != limited || st.Faults.Total() != limited {
					t.Errorf("%d limited answers, counted %+v", limited, st.Faults)
				}
				if st.Answers[Answer{"campaign/get/", "code 40100"}] != limited {
					t.Errorf("answer log %v", st.Answers)
				}
			})
		})
	}
}

// TestFailingDays: a report whose range covers a failing day answers 50002
// in TikTok's envelope (HTTP 200) every time, for the listed advertisers
// only; other ranges and advertisers answer as usual.
func TestFailingDays(t *testing.T) {
	s := New(Config{Seed: 1, Advertisers: 2, StartDate: tiktok.NewDate(2026, 8, 1), Days: 30})
	a, b := s.AdvertiserIDs()[0], s.AdvertiserIDs()[1]
	s.SetFaults(Faults{FailingDays: []tiktok.Date{tiktok.NewDate(2026, 8, 10)}, FailingAdvertisers: []string{a}})
	for _, tc := range []struct {
		adv, from, to string
		code          int
	}{
		{a, "2026-08-09", "2026-08-11", tiktok.CodeProcessingError},
		{a, "2026-08-10", "2026-08-10", tiktok.CodeProcessingError},
		{a, "2026-08-11", "2026-08-12", 0},
		{b, "2026-08-09", "2026-08-11", 0},
	} {
		for range 2 {
			code, msg, _, status := apiGet(t, s, BasePath+"report/integrated/get/", reportQuery(tc.adv, tiktok.LevelCampaign, tiktok.Daily, tc.from, tc.to), s.AccessToken())
			if code != tc.code || status != http.StatusOK {
				t.Errorf("%s %s..%s: code %d (%s), HTTP %d; want %d", tc.adv, tc.from, tc.to, code, msg, status, tc.code)
			}
		}
	}
}

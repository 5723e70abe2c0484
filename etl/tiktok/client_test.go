package tiktok_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
)

// requireSameRows fails unless got and want hold the same rows in the same
// order, every decimal and NULL included.
func requireSameRows(t *testing.T, got, want []tiktok.ReportRow) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d", len(got), len(want))
	}
	for i := range got {
		if !got[i].Equal(&want[i]) {
			t.Fatalf("row %d differs:\n got  %+v\n want %+v", i, got[i], want[i])
		}
	}
}

// TestReportMatchesSimulatorTruth pulls every level and granularity in
// pages of 37 rows. Each page is read into a recycled buffer, so a row that
// kept a slice of its page instead of a copy would change under the next
// page and differ here (checked with an unsafe.String in plainString).
func TestReportMatchesSimulatorTruth(t *testing.T) {
	srv, c := simClient(t, tiktoksim.Config{Seed: 7})
	ctx := context.Background()
	advs := srv.AdvertiserIDs() // Etc/GMT+8, Asia/Tokyo, Europe/Berlin
	type window struct {
		g          tiktok.Granularity
		start, end tiktok.Date
	}
	windows := []window{
		{tiktok.Daily, date(2024, 2, 1), date(2024, 3, 1)},    // 30 days, the cap
		{tiktok.Hourly, date(2024, 2, 14), date(2024, 2, 14)}, // one day
		{tiktok.Hourly, date(2024, 2, 29), date(2024, 2, 29)}, // leap day
	}
	for _, adv := range advs {
		for _, lvl := range tiktok.Levels {
			for _, w := range windows {
				t.Run(fmt.Sprintf("%s/%s/%s/%s", adv[len(adv)-1:], lvl.Name(), w.g.Name(), w.start), func(t *testing.T) {
					q := tiktok.ReportQuery{AdvertiserID: adv, Level: lvl, Granularity: w.g, Start: w.start, End: w.end, PageSize: 37}
					rows, sum, err := pull(ctx, c, q)
					if err != nil {
						t.Fatal(err)
					}
					want, err := srv.Truth(adv, lvl, w.g, w.start, w.end)
					if err != nil {
						t.Fatal(err)
					}
					if len(want) == 0 {
						t.Fatal("simulator served no rows; the window is wrong")
					}
					requireSameRows(t, rows, want)
					if wantPages := (len(want) + 36) / 37; sum.Pages != wantPages || sum.Rows != len(want) || sum.TotalNumber != len(want) {
						t.Errorf("summary %+v, want %d pages of %d rows", sum, wantPages, len(want))
					}
				})
			}
		}
	}
}

// TestLevelsAndHoursAddUp checks through the client that the simulator's
// levels are consistent and that decimal sums are exact: Σ hourly spend of a
// day equals the daily spend, and Σ campaigns equals the advertiser.
func TestLevelsAndHoursAddUp(t *testing.T) {
	srv, c := simClient(t, tiktoksim.Config{Seed: 3})
	ctx := context.Background()
	adv := srv.AdvertiserIDs()[2] // Europe/Berlin
	day := date(2024, 2, 20)
	pull := func(lvl tiktok.Level, g tiktok.Granularity) []tiktok.ReportRow {
		rows, _, err := pull(ctx, c, tiktok.ReportQuery{AdvertiserID: adv, Level: lvl, Granularity: g, Start: day, End: day})
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	total := func(rows []tiktok.ReportRow, f func(*tiktok.Metrics) tiktok.NullDecimal) decimal.Decimal {
		s := decimal.Zero
		for i := range rows {
			if v := f(&rows[i].Metrics); v.Valid {
				s = s.Add(v.Decimal)
			}
		}
		return s
	}
	spend := func(m *tiktok.Metrics) tiktok.NullDecimal { return m.Spend }
	value := func(m *tiktok.Metrics) tiktok.NullDecimal { return m.TotalCompletePaymentRate }
	advDaily := pull(tiktok.LevelAdvertiser, tiktok.Daily)
	if len(advDaily) != 1 {
		t.Fatalf("advertiser daily rows = %d", len(advDaily))
	}
	for _, lvl := range tiktok.Levels {
		for _, g := range []tiktok.Granularity{tiktok.Daily, tiktok.Hourly} {
			rows := pull(lvl, g)
			for name, f := range map[string]func(*tiktok.Metrics) tiktok.NullDecimal{"spend": spend, "value": value} {
				if got, want := total(rows, f), total(advDaily, f); !got.Equal(want) {
					t.Errorf("%s %s: Σ %s = %s, advertiser daily = %s", lvl.Name(), g.Name(), name, got, want)
				}
			}
		}
	}
}

func TestEntitiesIncludeDeleted(t *testing.T) {
	cfg := tiktoksim.Config{Seed: 11, Advertisers: 2, CampaignsPerAdvertiser: 6, AdGroupsPerCampaign: 3, AdsPerAdGroup: 3}
	srv, c := simClient(t, cfg, func(o *tiktok.Options) { o.PageSize = 7 })
	ctx := context.Background()
	adv := srv.AdvertiserIDs()[1]

	camps, err := c.Campaigns(ctx, adv)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := c.AdGroups(ctx, adv)
	if err != nil {
		t.Fatal(err)
	}
	ads, err := c.Ads(ctx, adv)
	if err != nil {
		t.Fatal(err)
	}
	deleted := 0
	for _, x := range camps {
		if x.AdvertiserID != adv || !x.CreateTime.Valid || x.Name == "" || !x.Budget.Valid {
			t.Errorf("campaign %+v", x)
		}
		if x.Deleted() {
			deleted++
		}
	}
	campIDs := map[string]bool{}
	for _, x := range camps {
		campIDs[x.ID] = true
	}
	for _, g := range groups {
		if !campIDs[g.CampaignID] {
			t.Errorf("ad group %s has unknown campaign %s", g.ID, g.CampaignID)
		}
		if g.Deleted() {
			deleted++
		}
	}
	for _, a := range ads {
		if a.AdGroupID == "" || a.CampaignID == "" || a.LandingPageURL == "" {
			t.Errorf("ad %+v", a)
		}
		if a.Deleted() {
			deleted++
		}
	}
	if deleted == 0 {
		t.Error("no deleted entity returned; STATUS_ALL filtering is not working")
	}
	// Every campaign/ad group/ad the simulator created before now is listed
	// (none in the future of the default clock), across several pages.
	if len(camps) > 6 || len(groups) > 18 || len(ads) > 54 || len(ads) < 28 {
		t.Errorf("got %d campaigns, %d ad groups, %d ads", len(camps), len(groups), len(ads))
	}
	if got := srv.Stats().ByPath["ad/get/"]; got != uint64((len(ads)+6)/7) {
		t.Errorf("ad/get calls = %d for %d ads at page size 7", got, len(ads))
	}
	t.Logf("%d campaigns, %d ad groups, %d ads, %d deleted", len(camps), len(groups), len(ads), deleted)
}

func TestAdvertiserInfoBatches(t *testing.T) {
	srv, c := simClient(t, tiktoksim.Config{Advertisers: 150, CampaignsPerAdvertiser: 1, AdGroupsPerCampaign: 1, AdsPerAdGroup: 1})
	advs, err := c.AdvertiserInfo(context.Background(), srv.AdvertiserIDs())
	if err != nil {
		t.Fatal(err)
	}
	if len(advs) != 150 {
		t.Fatalf("got %d advertisers", len(advs))
	}
	if got := srv.Stats().ByPath["advertiser/info/"]; got != 2 {
		t.Errorf("advertiser/info calls = %d, want 2 batches", got)
	}
	want := map[string]string{"Etc/GMT+8": "USD", "Asia/Tokyo": "JPY", "Europe/Berlin": "EUR"}
	seen := map[string]bool{}
	for _, a := range advs {
		if cur, ok := want[a.Timezone]; ok {
			seen[a.Timezone] = true
			if a.Currency != cur {
				t.Errorf("%s: currency %s, want %s", a.Timezone, a.Currency, cur)
			}
		}
		if _, err := a.Location(); err != nil || !a.CreateTime.Valid || a.DisplayTimezone == "" {
			t.Errorf("advertiser %+v: %v", a, err)
		}
		exp, _ := srv.Advertiser(a.ID)
		if a.Name != exp.Name || a.Timezone != exp.Timezone || !a.CreateTime.Time.Equal(exp.CreateTime.Time) {
			t.Errorf("advertiser %s = %+v, simulator says %+v", a.ID, a, exp)
		}
	}
	if len(seen) != 3 {
		t.Errorf("timezones seen: %v", seen)
	}
}

func TestMissingMetricsAreNull(t *testing.T) {
	srv, c := simClient(t, tiktoksim.Config{Seed: 5})
	adv := srv.AdvertiserIDs()[0]
	rows, _, err := pull(context.Background(), c, tiktok.ReportQuery{AdvertiserID: adv, Level: tiktok.LevelCampaign, Granularity: tiktok.Daily, Start: date(2024, 2, 1), End: date(2024, 2, 10)})
	if err != nil {
		t.Fatal(err)
	}
	var nullInstalls, installs, nullPayments, payments int
	for _, r := range rows {
		if r.Metrics.AppInstall.Valid {
			installs++
		} else {
			nullInstalls++
		}
		if r.Metrics.CompletePayment.Valid != r.Metrics.TotalCompletePaymentRate.Valid {
			t.Errorf("complete_payment and its value disagree on NULL: %+v", r.Metrics)
		}
		if r.Metrics.CompletePayment.Valid {
			payments++
		} else {
			nullPayments++
		}
		if !r.Metrics.Spend.Valid || !r.Metrics.Impressions.Valid {
			t.Errorf("base metric NULL: %+v", r.Metrics)
		}
	}
	if nullInstalls == 0 || installs == 0 || nullPayments == 0 || payments == 0 {
		t.Errorf("app_install NULL/valid = %d/%d, complete_payment NULL/valid = %d/%d; want both kinds of each",
			nullInstalls, installs, nullPayments, payments)
	}
}

func TestUnknownMetricsKept(t *testing.T) {
	srv, c := simClient(t, tiktoksim.Config{Seed: 5})
	adv := srv.AdvertiserIDs()[1]
	q := tiktok.ReportQuery{AdvertiserID: adv, Level: tiktok.LevelAd, Granularity: tiktok.Daily, Start: date(2024, 2, 1), End: date(2024, 2, 3),
		Metrics: []string{"spend", "cost_per_conversion", "average_video_play", "campaign_name", "adgroup_id"}}
	rows, _, err := pull(context.Background(), c, q)
	if err != nil {
		t.Fatal(err)
	}
	want, err := srv.TruthQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	requireSameRows(t, rows, want)
	r := rows[0]
	for _, k := range []string{"cost_per_conversion", "average_video_play", "campaign_name", "adgroup_id"} {
		if r.Metrics.Extra[k] == "" {
			t.Errorf("extra metric %s missing: %v", k, r.Metrics.Extra)
		}
	}
	if r.Metrics.Impressions.Valid {
		t.Error("impressions was not requested but is valid")
	}
}

func TestTimezones(t *testing.T) {
	srv, c := simClient(t, tiktoksim.Config{Seed: 9})
	ctx := context.Background()
	tests := []struct {
		adv       int
		tz        string
		day       tiktok.Date
		wantHours int
		offset    time.Duration // local − UTC
	}{
		{0, "Etc/GMT+8", date(2024, 2, 20), 24, -8 * time.Hour},
		{1, "Asia/Tokyo", date(2024, 2, 20), 24, 9 * time.Hour},
		{2, "Europe/Berlin", date(2024, 2, 20), 24, time.Hour},
		{0, "Etc/GMT+8", date(2024, 2, 29), 24, -8 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.tz+"/"+tc.day.String(), func(t *testing.T) {
			adv := srv.AdvertiserIDs()[tc.adv]
			rows, _, err := pull(ctx, c, tiktok.ReportQuery{AdvertiserID: adv, Level: tiktok.LevelAdvertiser, Granularity: tiktok.Hourly, Start: tc.day, End: tc.day})
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != tc.wantHours {
				t.Fatalf("%d hourly rows, want %d", len(rows), tc.wantHours)
			}
			for _, r := range rows {
				local := time.Date(r.Date.Year, r.Date.Month, r.Date.Day, r.Hour, 0, 0, 0, time.UTC)
				if got := local.Sub(r.StartUTC); got != tc.offset || r.Timezone != tc.tz {
					t.Errorf("hour %d: local−UTC = %s (%s), want %s (%s)", r.Hour, got, r.Timezone, tc.offset, tc.tz)
				}
			}
		})
	}
}

// TestDSTDay pulls the spring-forward day of a DST zone: the skipped local
// hour has no row and the UTC instants stay one hour apart.
func TestDSTDay(t *testing.T) {
	day := date(2024, 3, 31) // Europe/Berlin skips 02:00
	srv, c := simClient(t, tiktoksim.Config{Seed: 9, StartDate: date(2024, 3, 1), Days: 40})
	adv := srv.AdvertiserIDs()[2]
	rows, _, err := pull(context.Background(), c, tiktok.ReportQuery{AdvertiserID: adv, Level: tiktok.LevelAdvertiser, Granularity: tiktok.Hourly, Start: day, End: day})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 23 {
		t.Fatalf("%d hourly rows on the spring-forward day, want 23", len(rows))
	}
	for i, r := range rows {
		if r.Hour == 2 {
			t.Error("row for the skipped hour 02:00")
		}
		if i > 0 && r.StartUTC.Sub(rows[i-1].StartUTC) != time.Hour {
			t.Errorf("hour %d starts %s after the previous one", r.Hour, r.StartUTC.Sub(rows[i-1].StartUTC))
		}
	}
	if rows[2].Hour != 3 || !rows[2].StartUTC.Equal(time.Date(2024, 3, 31, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("03:00 CEST row = %+v", rows[2])
	}
}

func TestReportValidationBeforeAnyCall(t *testing.T) {
	srv, c := simClient(t, tiktoksim.Config{})
	adv := srv.AdvertiserIDs()[0]
	tests := []struct {
		name string
		q    tiktok.ReportQuery
	}{
		{"31 daily days", tiktok.ReportQuery{AdvertiserID: adv, Level: tiktok.LevelAd, Granularity: tiktok.Daily, Start: date(2024, 1, 1), End: date(2024, 1, 31)}},
		{"2 hourly days", tiktok.ReportQuery{AdvertiserID: adv, Level: tiktok.LevelAd, Granularity: tiktok.Hourly, Start: date(2024, 1, 1), End: date(2024, 1, 2)}},
		{"end before start", tiktok.ReportQuery{AdvertiserID: adv, Level: tiktok.LevelAd, Granularity: tiktok.Daily, Start: date(2024, 1, 2), End: date(2024, 1, 1)}},
		{"bad level", tiktok.ReportQuery{AdvertiserID: adv, Level: "AD", Granularity: tiktok.Daily, Start: date(2024, 1, 1), End: date(2024, 1, 1)}},
		{"no advertiser", tiktok.ReportQuery{Level: tiktok.LevelAd, Granularity: tiktok.Daily, Start: date(2024, 1, 1), End: date(2024, 1, 1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := pull(context.Background(), c, tc.q)
			if !errors.Is(err, tiktok.ErrInvalidRequest) {
				t.Fatalf("err = %v, want ErrInvalidRequest", err)
			}
		})
	}
	if n := srv.Stats().Requests; n != 0 {
		t.Errorf("%d requests sent for invalid queries", n)
	}
}

func TestQueryTooLargeSurfacesPromptly(t *testing.T) {
	srv, c := simClient(t, tiktoksim.Config{Faults: tiktoksim.Faults{QueryTooLargeDays: 7}})
	adv := srv.AdvertiserIDs()[0]
	q := tiktok.ReportQuery{AdvertiserID: adv, Level: tiktok.LevelAd, Granularity: tiktok.Daily, Start: date(2024, 2, 1), End: date(2024, 2, 14), Location: time.UTC}
	_, sum, err := pull(context.Background(), c, q)
	if !errors.Is(err, tiktok.ErrQueryTooLarge) {
		t.Fatalf("err = %v, want ErrQueryTooLarge", err)
	}
	var apiErr *tiktok.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 40067 || apiErr.RequestID == "" {
		t.Fatalf("APIError = %+v", apiErr)
	}
	if sum.Stats.Calls != 1 || sum.Stats.Retries != 0 {
		t.Errorf("stats %+v: 40067 must not be retried", sum.Stats)
	}
	// The caller shrinks the window and succeeds.
	total := 0
	for _, w := range tiktok.Windows(q.Start, q.End, tiktok.Daily, 7) {
		q.Start, q.End = w.Start, w.End
		rows, _, err := pull(context.Background(), c, q)
		if err != nil {
			t.Fatal(err)
		}
		total += len(rows)
	}
	want, _ := srv.Truth(adv, tiktok.LevelAd, tiktok.Daily, date(2024, 2, 1), date(2024, 2, 14))
	if total != len(want) {
		t.Errorf("windowed pull got %d rows, want %d", total, len(want))
	}
}

func TestPaginationDriftDetected(t *testing.T) {
	srv, c := simClient(t, tiktoksim.Config{Seed: 2, Faults: tiktoksim.Faults{DriftRate: 1}})
	adv := srv.AdvertiserIDs()[0]
	q := tiktok.ReportQuery{AdvertiserID: adv, Level: tiktok.LevelAd, Granularity: tiktok.Daily, Start: date(2024, 2, 1), End: date(2024, 2, 10), PageSize: 20}
	pages := 0
	_, err := c.StreamReport(context.Background(), q, func(tiktok.ReportPage) error { pages++; return nil })
	var drift *tiktok.PaginationDriftError
	if !errors.Is(err, tiktok.ErrPaginationDrift) || !errors.As(err, &drift) || drift.Page != 2 {
		t.Fatalf("err = %v, want drift on page 2", err)
	}
	if pages != 1 {
		t.Errorf("%d pages delivered before the drift, want 1", pages)
	}
	if srv.Stats().Faults.Drift != 1 {
		t.Errorf("simulator counted %d drifts, want 1", srv.Stats().Faults.Drift)
	}
}

func TestReportParamsFiltering(t *testing.T) {
	q := tiktok.ReportQuery{AdvertiserID: "1", Granularity: tiktok.Daily, Start: date(2024, 1, 1), End: date(2024, 1, 30)}
	for _, lvl := range tiktok.Levels {
		q.Level = lvl
		v := q.Params(2, 1000)
		f := v.Get("filtering")
		switch lvl {
		case tiktok.LevelAdvertiser:
			if f != "" {
				t.Errorf("advertiser level sends filtering %s", f)
			}
		default:
			want := `[{"field_name":"` + lvl.StatusField() + `","filter_type":"IN","filter_value":"[\"STATUS_ALL\"]"}]`
			if f != want {
				t.Errorf("%s filtering = %s, want %s", lvl, f, want)
			}
		}
		if v.Get("dimensions") != `["`+lvl.IDDimension()+`","stat_time_day"]` || v.Get("page") != "2" || v.Get("page_size") != "1000" ||
			v.Get("report_type") != "BASIC" || v.Get("service_type") != "AUCTION" || v.Get("data_level") != string(lvl) {
			t.Errorf("%s params = %v", lvl, v)
		}
	}
	var metrics []string
	if err := jsonUnmarshalString(q.Params(1, 1).Get("metrics"), &metrics); err != nil || !slices.Equal(metrics, tiktok.DefaultMetrics) {
		t.Errorf("metrics = %v (%v)", metrics, err)
	}
	for _, m := range []string{"spend", "impressions", "clicks", "reach", "conversion", "app_install", "real_time_app_install",
		"complete_payment", "total_complete_payment_rate", "total_purchase_value", "video_play_actions", "video_watched_2s",
		"video_watched_6s", "likes", "comments", "shares", "follows", "profile_visits", "ctr", "cpc", "cpm"} {
		if !slices.Contains(tiktok.DefaultMetrics, m) {
			t.Errorf("DefaultMetrics lacks %s", m)
		}
	}
	if !strings.HasSuffix(tiktok.ProductionBaseURL, "/open_api/v1.3/") {
		t.Error("production base URL")
	}
	u, _ := url.Parse(tiktok.AuthURL("123", "st", "https://example.com/cb"))
	if u.Host != "business-api.tiktok.com" || u.Path != "/portal/auth" || u.Query().Get("app_id") != "123" ||
		u.Query().Get("state") != "st" || u.Query().Get("redirect_uri") != "https://example.com/cb" {
		t.Errorf("AuthURL = %s", u)
	}
}

func TestWindows(t *testing.T) {
	tests := []struct {
		start, end tiktok.Date
		g          tiktok.Granularity
		days, want int
	}{
		{date(2024, 1, 1), date(2024, 3, 31), tiktok.Daily, 0, 4},
		{date(2024, 1, 1), date(2024, 1, 30), tiktok.Daily, 30, 1},
		{date(2024, 1, 1), date(2024, 1, 31), tiktok.Daily, 30, 2},
		{date(2024, 1, 1), date(2024, 1, 14), tiktok.Daily, 7, 2},
		{date(2024, 1, 1), date(2024, 1, 3), tiktok.Hourly, 5, 3},
		{date(2024, 1, 2), date(2024, 1, 1), tiktok.Daily, 0, 0},
	}
	for _, tc := range tests {
		ws := tiktok.Windows(tc.start, tc.end, tc.g, tc.days)
		if len(ws) != tc.want {
			t.Errorf("Windows(%s, %s, %s, %d) = %d windows, want %d", tc.start, tc.end, tc.g, tc.days, len(ws), tc.want)
			continue
		}
		for i, w := range ws {
			if w.End.Before(w.Start) || w.Start.DaysUntil(w.End)+1 > tc.g.MaxDays() {
				t.Errorf("window %v too long", w)
			}
			if i > 0 && ws[i-1].End.AddDays(1) != w.Start {
				t.Errorf("gap between %v and %v", ws[i-1], w)
			}
		}
		if len(ws) > 0 && (ws[0].Start != tc.start || ws[len(ws)-1].End != tc.end) {
			t.Errorf("windows %v do not cover %s..%s", ws, tc.start, tc.end)
		}
	}
}

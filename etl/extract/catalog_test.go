package extract

import (
	"maps"
	"slices"
	"testing"

	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/schema"
)

// TestCatalogMetricsAreDecoded: every catalog column names a TikTok metric
// the client decodes into a typed field of the matching kind, requested by
// default, and the catalog fits a row's allocation.
func TestCatalogMetricsAreDecoded(t *testing.T) {
	if len(schema.StatColumns) > maxStatColumns {
		t.Fatalf("%d statistics columns; rowAlloc holds %d", len(schema.StatColumns), maxStatColumns)
	}
	want := map[schema.StatKind]tiktok.MetricKind{
		schema.StatCount: tiktok.KindCount, schema.StatMoney: tiktok.KindMoney,
		schema.StatEstimate: tiktok.KindNonAdditiveCount, schema.StatReported: tiktok.KindRatio,
	}
	for _, c := range schema.StatColumns {
		kind, ok := tiktok.KindOf(c.Metric)
		if !ok {
			t.Errorf("column %s: TikTok metric %s is not decoded into a typed field", c.Name, c.Metric)
			continue
		}
		if kind != want[c.Kind] {
			t.Errorf("column %s: TikTok metric %s is a %s, the catalog says %v", c.Name, c.Metric, kind, c.Kind)
		}
		if !slices.Contains(tiktok.DefaultMetrics, c.Metric) {
			t.Errorf("column %s: TikTok metric %s is not requested by default", c.Name, c.Metric)
		}
	}
}

// TestOneVocabulary: levels and granularities have one set of names outside
// the API's wire format, shared by the TikTok client, the tables, the
// configuration and the logs.
func TestOneVocabulary(t *testing.T) {
	if len(tiktok.Levels) != len(schema.Levels) {
		t.Fatalf("%d TikTok levels, %d table levels", len(tiktok.Levels), len(schema.Levels))
	}
	for i, l := range tiktok.Levels {
		if l.Name() != schema.Levels[i].Name {
			t.Errorf("level %d: client %q, tables %q", i, l.Name(), schema.Levels[i].Name)
		}
		if got, err := tiktok.ParseLevel(l.Name()); err != nil || got != l {
			t.Errorf("ParseLevel(%q) = %v, %v", l.Name(), got, err)
		}
	}
	for i, g := range []tiktok.Granularity{tiktok.Daily, tiktok.Hourly} {
		if g.Name() != schema.Granularities[i] {
			t.Errorf("granularity %d: client %q, tables %q", i, g.Name(), schema.Granularities[i])
		}
		if got, err := tiktok.ParseGranularity(g.Name()); err != nil || got != g {
			t.Errorf("ParseGranularity(%q) = %v, %v", g.Name(), got, err)
		}
	}
}

// TestExtrasKeepWhatHasNoColumn: a statistics row's extra metrics are the
// metrics TikTok sent that have no column, typed or not, as text; a metric
// TikTok sent as "-" is not among them.
func TestExtrasKeepWhatHasNoColumn(t *testing.T) {
	var names []string // decoded into typed fields, without a column
	for _, c := range columnless {
		names = append(names, c.name)
	}
	if len(names) < 2 {
		t.Fatalf("want two metrics without a column to test with, have %v", names)
	}
	body := `{"code":0,"message":"OK","request_id":"r","data":{"list":[{"dimensions":{"ad_id":"a1","stat_time_day":"2026-11-01 00:00:00"},` +
		`"metrics":{"spend":"1.50","` + names[0] + `":"0.25","` + names[1] + `":"-","campaign_id":"c1","adgroup_id":"g1","some_new_metric":"7"}}],` +
		`"page_info":{"page":1,"page_size":10,"total_number":1,"total_page":1}}}`
	p, err := tiktok.DecodeReport([]byte(body), tiktok.DecodeOptions{AdvertiserID: "adv", Level: tiktok.LevelAd, Granularity: tiktok.Daily})
	if err != nil {
		t.Fatal(err)
	}
	tbl, _ := load.NewStatsTable("ad", "daily")
	row := StatRowOf(tbl, &p.Rows[0], "USD")
	want := map[string]string{names[0]: "0.25", "campaign_id": "c1", "adgroup_id": "g1", "some_new_metric": "7"}
	if !maps.Equal(row.Extra, want) {
		t.Errorf("extras %v, want %v", row.Extra, want)
	}
	if row.CampaignID != "c1" || row.AdGroupID != "g1" || row.AdID != "a1" {
		t.Errorf("parents %s/%s/%s", row.CampaignID, row.AdGroupID, row.AdID)
	}
}

package ga4_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/attribution"
	"github.com/adhouse/adhouse/etl/ga4"
)

// realData returns a file of the shared sample corpus: skipped when absent,
// a failure under CI=true.
func realData(t *testing.T, rel string) []byte {
	t.Helper()
	path := filepath.Join("..", "..", "..", "shared", "realdata", rel)
	data, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("real sample %s missing under CI=true: %v", path, err)
		}
		t.Skipf("real sample %s not present: %v", path, err)
	}
	return data
}

// TestRealExportRow parses the published GA4 BigQuery export row (INT64 as
// strings, event_params value variants, no collected_traffic_source).
func TestRealExportRow(t *testing.T) {
	data := realData(t, "ga4/velir_ga4_export_session_start_row.ndjson")
	var ev ga4.Event
	require.NoError(t, ga4.DecodeJSON([]byte(strings.TrimSpace(string(data))), &ev))
	require.Equal(t, "session_start", ev.Name)
	require.Equal(t, "2022-05-27", ev.Date.Format("2006-01-02"))
	require.Equal(t, int64(1653679818347831), ev.Timestamp.UnixMicro())
	require.Equal(t, "745846450.1644156613", ev.UserPseudoID)
	require.Equal(t, int64(1653679817), ev.SessionID)
	require.Equal(t, "https://www.velir.com/ideas/2021/09/22/connecting-sitecore-identity-to-saml-part-1", ev.PageLocation)
	require.Equal(t, "google", ev.TrafficSource.Source)
	require.Equal(t, "organic", ev.TrafficSource.Medium)
	require.Nil(t, ev.PurchaseRevenue)
}

func TestRevenueNeverThroughFloat(t *testing.T) {
	for in, want := range map[string]string{
		"19.990000000000002": "19.99", "0.1": "0.1", "1.2E2": "120", "-3.5": "-3.5", "0.0000005": "0", "0.0000015": "0.000002",
	} {
		d, err := ga4.Revenue(in)
		require.NoError(t, err, in)
		require.Equal(t, want, d.String(), in)
	}
	for _, bad := range []string{"", "abc", "1,5", "NaN", "1e400"} {
		_, err := ga4.Revenue(bad)
		require.Error(t, err, bad)
	}
}

// FuzzDecodeJSON: any line either decodes or fails with an error; never a panic.
func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"event_date":"20240510","event_timestamp":"1715335200000000","event_name":"purchase","user_pseudo_id":"u","ecommerce":{"transaction_id":"T","purchase_revenue":1.5}}`))
	f.Add([]byte(`{"event_params":[{"key":"ga_session_id","value":{"int_value":"12"}}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var ev ga4.Event
		if err := ga4.DecodeJSON(line, &ev); err == nil && ev.Name == "" {
			t.Fatal("decoded an event without a name")
		}
	})
}

// TestColumnsMatchRows: events held column by column give, row by row, the
// values AppendValues gives, in the order of Columns.
func TestColumnsMatchRows(t *testing.T) {
	revenue := decimal.RequireFromString("19.99")
	events := []*ga4.Event{
		{Date: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), Timestamp: time.UnixMicro(1714521600123456).UTC(), Name: "purchase",
			UserPseudoID: "u1", UserID: "id1", SessionID: 42, PageLocation: "https://shop.example/?utm_source=tiktok", PageReferrer: "https://r.example/",
			Page:             attribution.Touch{Source: "ps", Medium: "pm", Campaign: "pc", ID: "pi", Content: "pco", Term: "pt", TTCLID: "pttclid"},
			Collected:        attribution.Touch{Source: "cs", Medium: "cm", Campaign: "cc", ID: "ci", Content: "cco", Term: "ct"},
			SessionLastClick: attribution.Touch{Source: "ss", Medium: "sm", Campaign: "sc", ID: "si"},
			TrafficSource:    attribution.Touch{Source: "ts", Medium: "tm", Campaign: "tc"},
			Class:            attribution.Classified{Channel: attribution.ChannelTikTok, CampaignRef: "cr", AdGroupRef: "gr", AdRef: "ar"},
			Touch:            attribution.Touch{Source: "tos", Medium: "tom", TTCLID: "ttclid"},
			ChannelGroup:     "Paid Social", PurchaseRevenue: &revenue, Currency: "EUR", TransactionID: "T1"},
		{Date: time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC), Name: "page_view", Currency: "USD", RefundValue: &revenue},
	}
	cols := events[0].NewColumns(len(events))
	for _, e := range events {
		cols.Add(e)
	}
	slices := cols.Slices()
	if len(slices) != len(ga4.Columns) || cols.Len() != len(events) {
		t.Fatalf("%d columns of %d rows, want %d of %d", len(slices), cols.Len(), len(ga4.Columns), len(events))
	}
	for i, e := range events {
		want := e.AppendValues(nil)
		for c, s := range slices {
			got := reflect.ValueOf(s).Index(i).Interface()
			if !reflect.DeepEqual(got, want[c]) {
				t.Errorf("row %d column %s: %v from the columns, %v from AppendValues", i, ga4.Columns[c], got, want[c])
			}
		}
	}
}

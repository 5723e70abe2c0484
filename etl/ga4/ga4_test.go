package ga4_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

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

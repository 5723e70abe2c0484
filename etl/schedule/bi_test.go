package schedule_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/schedule"
	"github.com/adhouse/adhouse/queries"
)

// TestMetricsShowBIStaleness: /metrics says, per materialised BI table, how
// many days of committed data and of names it does not reflect yet and how
// old the oldest such commit is, as the warehouse answers at scrape time; a
// warehouse that does not answer shows as adhouse_bi_check_up 0, not as
// fresh tables.
func TestMetricsShowBIStaleness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		var pending []queries.Pending
		var down error
		d, _, _, _ := startDaemon(t, schedule.Options{
			Run: func(context.Context, string) (extract.Result, error) { return extract.Result{}, nil },
			Now: func() time.Time { return now },
			Materialised: func(context.Context) ([]queries.Pending, error) {
				return pending, down
			},
		})
		for _, tc := range []struct {
			name    string
			pending []queries.Pending
			down    error
			want    []string
		}{
			{"fresh", []queries.Pending{{Table: "bi_campaign_daily"}}, nil, []string{
				"adhouse_bi_check_up 1",
				`adhouse_bi_pending_days{reason="data",table="bi_campaign_daily"} 0`,
				`adhouse_bi_pending_days{reason="names",table="bi_campaign_daily"} 0`,
				`adhouse_bi_staleness_seconds{table="bi_campaign_daily"} 0`,
			}},
			{"a run killed after its commits", []queries.Pending{{Table: "bi_ad_daily", Days: 30, Renamed: 4, Oldest: now.Add(-90 * time.Second)}}, nil, []string{
				`adhouse_bi_pending_days{reason="data",table="bi_ad_daily"} 26`,
				`adhouse_bi_pending_days{reason="names",table="bi_ad_daily"} 4`,
				`adhouse_bi_staleness_seconds{table="bi_ad_daily"} 90`,
			}},
			{"renamed only", []queries.Pending{{Table: "bi_ad_daily", Days: 4, Renamed: 4}}, nil, []string{
				`adhouse_bi_pending_days{reason="names",table="bi_ad_daily"} 4`,
				`adhouse_bi_staleness_seconds{table="bi_ad_daily"} 0`,
			}},
			{"warehouse down", nil, errors.New("connection refused"), []string{"adhouse_bi_check_up 0"}},
		} {
			pending, down = tc.pending, tc.down
			code, body := get(d, "/metrics")
			require.Equal(t, http.StatusOK, code, tc.name)
			for _, w := range tc.want {
				require.Contains(t, body, w, tc.name)
			}
			if tc.down != nil {
				require.NotContains(t, body, "adhouse_bi_pending_days", tc.name)
			}
		}
	})
}

package schedule_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
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
// fresh tables. One reading serves the scrapes of a minute, unless a run
// ends: then the next scrape reads again.
func TestMetricsShowBIStaleness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		var pending []queries.Pending
		var down error
		var reads, runs atomic.Int32
		start := time.Now()
		d, _, _, _ := startDaemon(t, schedule.Options{
			Entries: []schedule.Entry{{Name: "hourly", Cron: "@every 1h", Job: "sync"}},
			Run: func(context.Context, string) (extract.Result, error) {
				runs.Add(1)
				return extract.Result{}, nil
			},
			Now: func() time.Time { return now },
			Materialised: func(context.Context) ([]queries.Pending, error) {
				reads.Add(1)
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
			time.Sleep(time.Minute) // the last reading is too old now
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

		scrape := func() string {
			_, body := get(d, "/metrics")
			return body
		}
		fresh := []queries.Pending{{Table: "bi_ad_daily"}}
		stale := []queries.Pending{{Table: "bi_ad_daily", Days: 3, Oldest: now.Add(-time.Minute)}}
		pending, down = fresh, nil
		require.Contains(t, scrape(), `adhouse_bi_pending_days{reason="data",table="bi_ad_daily"} 0`, "a failed reading is not kept")
		n := reads.Load()
		pending = stale
		require.Contains(t, scrape(), `adhouse_bi_pending_days{reason="data",table="bi_ad_daily"} 0`, "within a minute the reading serves")
		require.Equal(t, n, reads.Load())

		time.Sleep(time.Until(start.Add(time.Hour - 30*time.Second)))
		require.Zero(t, runs.Load())
		require.Contains(t, scrape(), `adhouse_bi_pending_days{reason="data",table="bi_ad_daily"} 3`, "a minute later it reads again")
		pending = fresh
		time.Sleep(31 * time.Second) // the hourly run starts and ends
		synctest.Wait()
		require.Equal(t, int32(1), runs.Load())
		require.Contains(t, scrape(), `adhouse_bi_pending_days{reason="data",table="bi_ad_daily"} 0`, "after a run it reads again")
	})
}

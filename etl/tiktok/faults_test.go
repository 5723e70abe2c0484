package tiktok_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim/simtest"
)

// fullPull pulls everything a sync needs for the advertisers: advertiser
// info, all entity lists (deleted included), and daily and hourly reports at
// all four levels. It returns every row and entity as canonical text keyed by
// identity, so that two pulls can be compared exactly.
func fullPull(ctx context.Context, c *tiktok.Client, advIDs []string) (map[string]string, error) {
	out := make(map[string]string)
	var mu sync.Mutex
	put := func(k, v string) error {
		mu.Lock()
		defer mu.Unlock()
		if _, dup := out[k]; dup {
			return fmt.Errorf("duplicate %s", k)
		}
		out[k] = v
		return nil
	}
	advs, err := c.AdvertiserInfo(ctx, advIDs)
	if err != nil {
		return nil, err
	}
	g, ctx := errgroup.WithContext(ctx)
	for _, a := range advs {
		loc, err := a.Location()
		if err != nil {
			return nil, err
		}
		if err := put("advertiser|"+a.ID, string(a.Raw)); err != nil {
			return nil, err
		}
		g.Go(func() error {
			camps, err := c.Campaigns(ctx, a.ID)
			if err != nil {
				return err
			}
			for _, x := range camps {
				if err := put("campaign|"+x.ID, string(x.Raw)); err != nil {
					return err
				}
			}
			groups, err := c.AdGroups(ctx, a.ID)
			if err != nil {
				return err
			}
			for _, x := range groups {
				if err := put("adgroup|"+x.ID, string(x.Raw)); err != nil {
					return err
				}
			}
			ads, err := c.Ads(ctx, a.ID)
			if err != nil {
				return err
			}
			for _, x := range ads {
				if err := put("ad|"+x.ID, string(x.Raw)); err != nil {
					return err
				}
			}
			for _, lvl := range tiktok.Levels {
				for _, q := range []tiktok.ReportQuery{
					{Granularity: tiktok.Daily, Start: date(2024, 2, 1), End: date(2024, 2, 29)},
					{Granularity: tiktok.Hourly, Start: date(2024, 2, 29), End: date(2024, 2, 29)},
				} {
					q.AdvertiserID, q.Level, q.Location = a.ID, lvl, loc
					_, err := c.StreamReport(ctx, q, func(p tiktok.ReportPage) error {
						for _, r := range p.Rows {
							if err := put(fmt.Sprintf("%s|%s|%s|%s", a.ID, lvl.Name(), q.Granularity.Name(), r.Key()), rowText(&r)); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	return out, g.Wait()
}

func rowText(r *tiktok.ReportRow) string {
	var b strings.Builder
	b.WriteString(r.StartUTC.Format(time.RFC3339))
	for _, m := range tiktok.DefaultMetrics {
		v, _ := r.Metrics.Text(m)
		b.WriteString(" " + m + "=" + v)
	}
	return b.String()
}

// TestFaultyPullEqualsCleanPull is the acceptance test of the retry design:
// with 10% of requests rate-limited and 2% failing with system errors (and,
// in the second case, every other retryable fault as well), a full pull of
// several advertisers, all levels and several pages per report returns
// exactly the rows of a fault-free pull. It logs the API calls made against
// the minimum (the calls of the fault-free pull: one per page).
func TestFaultyPullEqualsCleanPull(t *testing.T) {
	cfg := tiktoksim.Config{Seed: 2024, Advertisers: 3, CampaignsPerAdvertiser: 4, AdGroupsPerCampaign: 3, AdsPerAdGroup: 3}
	srv := simtest.Start(t, cfg)
	ctx := context.Background()
	pageSize := func(o *tiktok.Options) { o.PageSize = 100 }

	cleanOpts := testOptions(srv.BaseURL(), srv.AccessToken())
	pageSize(&cleanOpts)
	clean := newClient(t, cleanOpts)
	want, err := fullPull(ctx, clean, srv.AdvertiserIDs())
	if err != nil {
		t.Fatal(err)
	}
	minimum := clean.Stats().Calls
	if clean.Stats().Retries != 0 {
		t.Fatalf("fault-free pull retried: %+v", clean.Stats())
	}
	reports := srv.Stats().ByPath["report/integrated/get/"]
	if reports < 40 {
		t.Fatalf("only %d report pages; the pull is too small to mean anything", reports)
	}

	tests := []struct {
		name   string
		faults tiktoksim.Faults
	}{
		{"10% rate limits, 2% system errors", tiktoksim.Faults{Seed: 1, RateLimitRate: 0.10, SystemErrorRate: 0.02}},
		{"every retryable fault", tiktoksim.Faults{Seed: 2, RateLimitRate: 0.05, TooFrequentRate: 0.02, AdvertiserLimitRate: 0.03,
			SystemErrorRate: 0.03, MaintenanceRate: 0.01, HTTPErrorRate: 0.02, TimeoutRate: 0.01, TruncateRate: 0.02,
			MalformedRate: 0.02, SlowRate: 0.05, SlowDelay: 20 * time.Millisecond}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv.ResetStats()
			srv.SetFaults(tc.faults)
			defer srv.SetFaults(tiktoksim.Faults{})
			opts := testOptions(srv.BaseURL(), srv.AccessToken())
			pageSize(&opts)
			opts.Timeout = 300 * time.Millisecond
			c := newClient(t, opts)
			start := time.Now()
			got, err := fullPull(ctx, c, srv.AdvertiserIDs())
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Errorf("faulty pull has %d items, clean pull %d", len(got), len(want))
			}
			if !maps.Equal(got, want) {
				for k, v := range want {
					if got[k] != v {
						t.Fatalf("%s differs:\n got  %s\n want %s", k, got[k], v)
					}
				}
				t.Fatal("faulty pull has items the clean pull does not")
			}
			st, fs := c.Stats(), srv.Stats().Faults
			t.Logf("%d items; %d API calls vs minimum %d (+%.1f%%), %d retries: %d rate-limited, %d advertiser-limited, %d server errors, %d timeouts, %d malformed; simulator injected %d faults in %s",
				len(got), st.Calls, minimum, float64(st.Calls-minimum)*100/float64(minimum), st.Retries,
				st.RateLimited, st.AdvertiserLimited, st.ServerErrors, st.Timeouts, st.Malformed, fs.Total(), time.Since(start).Round(time.Millisecond))
			if st.Calls != minimum+st.Retries {
				t.Errorf("calls %d ≠ minimum %d + retries %d: some page was fetched twice", st.Calls, minimum, st.Retries)
			}
			if st.Retries != fs.Total() || fs.Total() == 0 {
				t.Errorf("client retried %d times, simulator injected %d faults", st.Retries, fs.Total())
			}
			if st.Failures != 0 {
				t.Errorf("%d failed calls", st.Failures)
			}
		})
	}
}

package tiktok_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim/simtest"
)

// BenchmarkRateLimitCost measures what N random per-second 40100s (the
// simulator's SecondLimitRate, sized for N hits; ADHOUSE_BENCH_LIMITS, default
// 10) cost the API side of a backfill (every ad-level daily window of three
// advertisers over 60 days, 100 rows a page, one window after another),
// against the same backfill without faults, in one run: with the escalation
// (a short pause per hit) and with the old behaviour (every 40100 paused the
// app for the 5-minute AppPause; EscalateAfter 1).
//
// Time is scaled down (20 times for the escalation: 50 ms for a second; 200
// times for the old behaviour: 1.5 s for 5 minutes; the simulator's
// per-second episodes last the scaled second) and the figures are reported
// in production seconds per 40100: from the wall time against the fault-free
// run (less the retried request's own cost, which is not scaled; the
// fastest of three runs), and from the limiter's own account of the time
// requests were held.
func BenchmarkRateLimitCost(b *testing.B) {
	hits := 10
	if s := os.Getenv("ADHOUSE_BENCH_LIMITS"); s != "" {
		hits, _ = strconv.Atoi(s)
	}
	cfg := tiktoksim.Config{Seed: 3, Advertisers: 3, CampaignsPerAdvertiser: 10, AdGroupsPerCampaign: 5, AdsPerAdGroup: 5,
		StartDate: tiktok.NewDate(2026, 1, 1), Days: 60}
	type run struct {
		took, held      time.Duration
		requests, limit uint64
	}
	backfill := func(f tiktoksim.Faults, escalateAfter int, scale time.Duration) run {
		f.SecondLimitFor = time.Second / scale
		cfg.Faults = f
		sim := simtest.Start(b, cfg)
		lim := tiktok.NewLimiter(tiktok.LimiterConfig{QPS: -1, QPM: -1, AppRetryPause: time.Second / scale,
			AppPause: tiktok.DefaultAppPause / scale, EscalateAfter: escalateAfter})
		c, err := tiktok.New(tiktok.Options{BaseURL: sim.BaseURL(), AccessToken: sim.AccessToken(), Limiter: lim, PageSize: 100})
		if err != nil {
			b.Fatal(err)
		}
		last := tiktok.DateOf(sim.Now()).AddDays(-1)
		start := time.Now()
		for _, adv := range sim.AdvertiserIDs() {
			info, _ := sim.Advertiser(adv)
			loc, err := info.Location()
			if err != nil {
				b.Fatal(err)
			}
			for _, w := range tiktok.Windows(last.AddDays(-59), last, tiktok.Daily, 30) {
				q := tiktok.ReportQuery{AdvertiserID: adv, Level: tiktok.LevelAd, Granularity: tiktok.Daily, Start: w.Start, End: w.End, Location: loc}
				if _, err := c.StreamReport(context.Background(), q, func(tiktok.ReportPage) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
		}
		st := sim.Stats()
		return run{took: time.Since(start), held: lim.Stats().TotalWait, requests: st.Requests, limit: st.Faults.SecondLimited}
	}
	for b.Loop() {
		// The short runs are repeated and the fastest kept: the machine is
		// shared, and a busy neighbour only ever adds time.
		fastest := func(f tiktoksim.Faults, escalateAfter int, scale time.Duration) run {
			best := backfill(f, escalateAfter, scale)
			for range 2 {
				if r := backfill(f, escalateAfter, scale); r.took < best.took {
					best = r
				}
			}
			return best
		}
		clean := fastest(tiktoksim.Faults{}, 0, 1)
		faults := tiktoksim.Faults{Seed: 1, SecondLimitRate: float64(hits) / float64(clean.requests)}
		const newScale, oldScale = 20, 200
		now := fastest(faults, 0, newScale)
		old := backfill(faults, 1, oldScale)
		if now.limit == 0 || old.limit == 0 {
			b.Fatalf("no 40100 injected (%d, %d)", now.limit, old.limit)
		}
		perRequest := clean.took / time.Duration(clean.requests)
		// Production seconds per 40100: the added wall time, less the
		// retried request's own cost here, scaled up.
		cost := func(r run, scale time.Duration) float64 {
			added := r.took - clean.took - time.Duration(r.limit)*perRequest
			return (added / time.Duration(r.limit) * scale).Seconds()
		}
		held := func(r run, scale time.Duration) float64 {
			return (r.held / time.Duration(r.limit) * scale).Seconds()
		}
		b.Logf("clean %s, escalation %s (held %s), old %s (held %s)", clean.took, now.took, now.held, old.took, old.held)
		b.ReportMetric(float64(clean.requests), "requests")
		b.ReportMetric(float64(now.limit), "40100s")
		b.ReportMetric(cost(now, newScale), "s/40100")
		b.ReportMetric(held(now, newScale), "held_s/40100")
		b.ReportMetric(float64(old.limit), "old_40100s")
		b.ReportMetric(cost(old, oldScale), "old_s/40100")
		b.ReportMetric(held(old, oldScale), "old_held_s/40100")
		b.ReportMetric(cost(old, oldScale)/cost(now, newScale), "old/new")
	}
}

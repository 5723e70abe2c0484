package tiktok_test

import (
	"context"
	"maps"
	"testing"
	"testing/synctest"

	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim/simtest"
)

// TestCallsMatchSimulatorLog: with every kind of fault injected (single and
// per-second 40100s, 40016, 40133, 5xxxx, HTTP 5xx, timeouts, truncated and
// malformed bodies, 40067), the client's counts of a full pull (advertiser
// info, entity lists, reports) equal the simulator's own log, request for
// request, per endpoint and outcome; a context's counter counts exactly the
// requests made under it, nested counters included.
func TestCallsMatchSimulatorLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := tiktoksim.New(tiktoksim.Config{Seed: 5, Advertisers: 3, CampaignsPerAdvertiser: 3, AdGroupsPerCampaign: 2, AdsPerAdGroup: 2,
			Faults: tiktoksim.Faults{Seed: 9, RateLimitRate: 0.04, TooFrequentRate: 0.02, AdvertiserLimitRate: 0.03,
				SystemErrorRate: 0.03, MaintenanceRate: 0.01, HTTPErrorRate: 0.02, TimeoutRate: 0.02, TruncateRate: 0.02,
				MalformedRate: 0.02, SecondLimitRate: 0.02}})
		opts := inProcessOptions(sim, sim.AccessToken())
		opts.Limiter = tiktok.NewLimiter(tiktok.LimiterFor(tiktok.TierBasic))
		opts.PageSize = 50
		c := newClient(t, opts)

		ctx, run := tiktok.CountCalls(context.Background())
		if _, err := fullPull(ctx, c, sim.AdvertiserIDs()); err != nil {
			t.Fatal(err)
		}
		// One more call under a nested counter.
		inner, one := tiktok.CountCalls(ctx)
		if _, err := c.AdvertiserInfo(inner, sim.AdvertiserIDs()[:1]); err != nil {
			t.Fatal(err)
		}
		// And one outside every counter but the client's.
		before := c.Calls()
		if _, err := c.Campaigns(context.Background(), sim.AdvertiserIDs()[0]); err != nil {
			t.Fatal(err)
		}
		outside := c.Calls().Sub(before)

		want := simtest.Calls(t, sim)
		got := c.Calls()
		if !maps.Equal(got.Counts, want) {
			t.Errorf("client counted\n %v\nthe simulator logged\n %v", got.Counts, want)
		}
		if got.Total() != sim.Stats().Requests {
			t.Errorf("client counted %d requests, the simulator served %d", got.Total(), sim.Stats().Requests)
		}
		if st := c.Stats(); got.Retries != st.Retries || got.Total() != st.Calls {
			t.Errorf("calls %d (%d retries), stats %+v", got.Total(), got.Retries, st)
		}
		byOutcome := got.ByOutcome()
		for _, o := range []string{tiktok.OutcomeOK, tiktok.OutcomeRateLimited, tiktok.OutcomeAdvertiserLimited,
			tiktok.OutcomeServerError, tiktok.OutcomeTimeout, tiktok.OutcomeMalformed} {
			if byOutcome[o] == 0 {
				t.Errorf("no %s request: the faults did not cover every outcome (%v)", o, byOutcome)
			}
		}
		if len(got.ByEndpoint()) != 5 {
			t.Errorf("endpoints %v, want advertiser/info, campaign/get, adgroup/get, ad/get, report/integrated/get", got.ByEndpoint())
		}

		if own := run.Own(); !maps.Equal(own.Counts, run.Calls().Sub(one.Calls()).Counts) {
			t.Errorf("the run's own calls %v, want all of its calls but the nested counter's", own.Counts)
		}
		if own := one.Own(); !maps.Equal(own.Counts, one.Calls().Counts) {
			t.Errorf("the innermost counter's own calls %v differ from its calls %v", own.Counts, one.Calls().Counts)
		}
		innerCalls := one.Calls()
		if innerCalls.ByEndpoint()["advertiser/info"] != innerCalls.Total() || innerCalls.Count("advertiser/info", tiktok.OutcomeOK) != 1 {
			t.Errorf("the nested counter holds %v, want the one advertiser/info call (and its retries)", innerCalls.Counts)
		}
		if r, want := run.Calls(), got.Sub(outside); !maps.Equal(r.Counts, want.Counts) || r.Retries != want.Retries || outside.Total() == 0 {
			t.Errorf("the run's counter holds %v, want the client's calls but the %d outside it: %v", r.Counts, outside.Total(), want.Counts)
		}
		t.Logf("%s", got)
	})
}

// TestCallsSummary: the human summary lists endpoints and outcomes, largest
// first, and the arithmetic of Calls holds.
func TestCallsSummary(t *testing.T) {
	a := tiktok.Calls{Counts: map[tiktok.CallKey]uint64{
		{Endpoint: "report/integrated/get", Outcome: tiktok.OutcomeOK}:          32,
		{Endpoint: "report/integrated/get", Outcome: tiktok.OutcomeRateLimited}: 6,
		{Endpoint: "campaign/get", Outcome: tiktok.OutcomeOK}:                   3,
		{Endpoint: "advertiser/info", Outcome: tiktok.OutcomeOK}:                2,
	}, Retries: 6}
	if got, want := a.String(), "43 API calls: report/integrated/get 38, campaign/get 3, advertiser/info 2; ok 37, rate_limited 6"; got != want {
		t.Errorf("String() = %q\nwant        %q", got, want)
	}
	if got := (tiktok.Calls{}).String(); got != "0 API calls" {
		t.Errorf("empty: %q", got)
	}
	b := tiktok.Calls{Counts: map[tiktok.CallKey]uint64{{Endpoint: "campaign/get", Outcome: tiktok.OutcomeOK}: 3}}
	sum := a.Add(b)
	if sum.Total() != 46 || sum.Count("campaign/get", tiktok.OutcomeOK) != 6 || sum.Retries != 6 {
		t.Errorf("Add: %v", sum)
	}
	if back := sum.Sub(b); !maps.Equal(back.Counts, a.Counts) || back.Retries != a.Retries {
		t.Errorf("Sub: %v, want %v", back, a)
	}
	if a.Counts[tiktok.CallKey{Endpoint: "campaign/get", Outcome: tiktok.OutcomeOK}] != 3 {
		t.Error("Add changed its receiver")
	}
}

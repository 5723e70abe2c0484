package main

import (
	"context"
	"fmt"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
)

// newTikTokSimCmd returns `adhouse tiktok-sim`: the TikTok Marketing API
// simulator served on loopback, for demos, manual testing and benchmarks.
// It prints the base URL and the credentials it accepts, then serves until
// interrupted. It refuses non-loopback addresses because it hands out a
// well-known token.
func newTikTokSimCmd() *cobra.Command {
	var (
		listen, scale, start, now, tier    string
		seed, faultSeed                    uint64
		advertisers, campaigns, adgroups   int
		ads, days, restatement, qps, qpm   int
		tooLargeDays                       int
		rateLimit, advLimit, sysErr, maint float64
		httpErr, timeout, truncate, malf   float64
		slow, drift                        float64
		secondLimit, minuteLimit           float64
		slowDelay, minuteLimitFor          time.Duration
		purge                              bool
	)
	cmd := &cobra.Command{
		Use:   "tiktok-sim",
		Short: "Serve the TikTok Marketing API simulator on loopback",
		Long: `Serves a deterministic simulation of the TikTok Marketing API v1.3 endpoints
adhouse uses (OAuth, advertiser info, campaigns, ad groups, ads, the BASIC
integrated report) with seeded data at any scale, TikTok's envelopes, limits
and quirks, and optional fault injection. Point tiktok.base_url at the printed
URL and use the printed token.`,
		Args: cobra.NoArgs,
		// The simulator needs no configuration file.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := tiktoksim.CheckLoopback(listen); err != nil {
				return err
			}
			cfg, err := tiktoksim.Scale(scale)
			if err != nil {
				return err
			}
			cfg.Seed = seed
			for _, o := range []struct {
				v   int
				dst *int
			}{{advertisers, &cfg.Advertisers}, {campaigns, &cfg.CampaignsPerAdvertiser}, {adgroups, &cfg.AdGroupsPerCampaign}, {ads, &cfg.AdsPerAdGroup}} {
				if o.v > 0 {
					*o.dst = o.v
				}
			}
			if start != "" {
				if cfg.StartDate, err = tiktok.ParseDate(start); err != nil {
					return fmt.Errorf("--start: %w", err)
				}
			}
			cfg.Days = days
			if now != "" {
				if cfg.Now, err = time.Parse(time.RFC3339, now); err != nil {
					return fmt.Errorf("--now: %w", err)
				}
			}
			if start == "" && now == "" {
				// By default the data runs up to the wall clock, so `adhouse
				// sync` against the simulator finds today's data where it looks.
				history := days
				if history <= 0 {
					history = 60
				}
				cfg.Now = time.Now().UTC()
				cfg.StartDate = tiktok.DateOf(cfg.Now).AddDays(-history)
				cfg.Days = history
			}
			cfg.RestatementDays = restatement
			cfg.PurgeDeletedAds = purge
			if tier != "" && tier != "none" {
				t, err := tiktok.ParseTier(tier)
				if err != nil {
					return fmt.Errorf("--tier: %w", err)
				}
				cfg.QPS, cfg.QPM = t.QPS, t.QPM
			}
			if qps > 0 {
				cfg.QPS = qps
			}
			if qpm > 0 {
				cfg.QPM = qpm
			}
			for name, r := range map[string]float64{"rate-limit-rate": rateLimit, "advertiser-limit-rate": advLimit,
				"system-error-rate": sysErr, "maintenance-rate": maint, "http-error-rate": httpErr, "timeout-rate": timeout,
				"truncate-rate": truncate, "malformed-rate": malf, "slow-rate": slow, "drift-rate": drift,
				"second-limit-rate": secondLimit, "minute-limit-rate": minuteLimit} {
				if r < 0 || r > 1 {
					return fmt.Errorf("--%s: %v is not a probability between 0 and 1", name, r)
				}
			}
			cfg.Faults = tiktoksim.Faults{
				Seed: faultSeed, RateLimitRate: rateLimit, AdvertiserLimitRate: advLimit, SystemErrorRate: sysErr,
				MaintenanceRate: maint, HTTPErrorRate: httpErr, TimeoutRate: timeout, TruncateRate: truncate,
				MalformedRate: malf, SlowRate: slow, SlowDelay: slowDelay, DriftRate: drift, QueryTooLargeDays: tooLargeDays,
				SecondLimitRate: secondLimit, MinuteLimitRate: minuteLimit, MinuteLimitFor: minuteLimitFor,
			}

			srv := tiktoksim.New(cfg)
			base, err := srv.Start(listen)
			if err != nil {
				return err
			}
			c := srv.Config()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "TikTok API simulator serving %d advertisers × %d campaigns × %d ad groups × %d ads (seed %d)\n",
				c.Advertisers, c.CampaignsPerAdvertiser, c.AdGroupsPerCampaign, c.AdsPerAdGroup, c.Seed)
			fmt.Fprintf(out, "clock %s, data from %s, restatement %d days, limits %s\n",
				srv.Now().Format(time.RFC3339), c.StartDate, c.RestatementDays, limitText(c.QPS, c.QPM))
			fmt.Fprintf(out, "base URL:     %s\n", base)
			fmt.Fprintf(out, "access token: %s\n", c.AccessToken)
			fmt.Fprintf(out, "app id:       %s\nsecret:       %s\nauth code:    %s\n", c.AppID, c.Secret, c.AuthCode)
			fmt.Fprintf(out, "advertisers:  %s\n", strings.Join(truncateList(srv.AdvertiserIDs(), 10), ", "))
			fmt.Fprintf(out, "\nexport TIKTOK_BASE_URL=%s\nexport TIKTOK_ACCESS_TOKEN=%s\n", base, c.AccessToken)

			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			<-ctx.Done()
			shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err = srv.Close(shutdown)
			st := srv.Stats()
			fmt.Fprintf(out, "served %d requests (%d throttled, %d faults injected)\n", st.Requests, st.Throttled, st.Faults.Total())
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:0", "loopback address to listen on (port 0 picks a free port)")
	f.Uint64Var(&seed, "seed", 1, "data seed; the same seed serves the same numbers")
	f.StringVar(&scale, "scale", "small", "account size preset: tiny, small, medium or large (1.2M ad-days)")
	f.IntVar(&advertisers, "advertisers", 0, "advertisers (overrides --scale)")
	f.IntVar(&campaigns, "campaigns", 0, "campaigns per advertiser (overrides --scale)")
	f.IntVar(&adgroups, "adgroups", 0, "ad groups per campaign (overrides --scale)")
	f.IntVar(&ads, "ads", 0, "ads per ad group (overrides --scale)")
	f.StringVar(&start, "start", "", "first local day with data, YYYY-MM-DD (default: --days before today)")
	f.IntVar(&days, "days", 0, "days of history before the clock (default 60)")
	f.StringVar(&now, "now", "", "the simulator's clock, RFC 3339 (default: the wall clock, or start + days at 12:00 UTC when --start is given)")
	f.IntVar(&restatement, "restatement-days", 0, "days over which attributed metrics keep growing (default 7, negative: never)")
	f.BoolVar(&purge, "purge-deleted-ads", false, "leave deleted ads out of ad-level reports while the totals keep them (reconciliation differences)")
	f.StringVar(&tier, "tier", "basic", "enforced rate-limit tier: basic, advanced, premium, ultimate or none")
	f.IntVar(&qps, "qps", 0, "enforced queries per second (overrides --tier)")
	f.IntVar(&qpm, "qpm", 0, "enforced queries per minute (overrides --tier)")
	f.Uint64Var(&faultSeed, "fault-seed", 1, "seed of the fault draws")
	f.Float64Var(&rateLimit, "rate-limit-rate", 0, "share of requests answered 40100 (that request only)")
	f.Float64Var(&secondLimit, "second-limit-rate", 0, "share of requests that start a per-second limit: 40100 to every request until the next whole second")
	f.Float64Var(&minuteLimit, "minute-limit-rate", 0, "share of requests that start a per-minute limit: 40100 to every request until the next whole minute (or --minute-limit-for)")
	f.DurationVar(&minuteLimitFor, "minute-limit-for", 0, "how long a per-minute limit lasts (default: until the next whole minute)")
	f.Float64Var(&advLimit, "advertiser-limit-rate", 0, "share of requests answered 40133")
	f.Float64Var(&sysErr, "system-error-rate", 0, "share of requests answered 50000/50002")
	f.Float64Var(&maint, "maintenance-rate", 0, "share of requests answered 60001")
	f.Float64Var(&httpErr, "http-error-rate", 0, "share of requests answered HTTP 502/503/504")
	f.Float64Var(&timeout, "timeout-rate", 0, "share of requests that hang until the client gives up")
	f.Float64Var(&truncate, "truncate-rate", 0, "share of responses cut in half")
	f.Float64Var(&malf, "malformed-rate", 0, "share of responses that are not JSON")
	f.Float64Var(&slow, "slow-rate", 0, "share of responses delayed by --slow-delay")
	f.DurationVar(&slowDelay, "slow-delay", 200*time.Millisecond, "delay of slow responses")
	f.Float64Var(&drift, "drift-rate", 0, "share of pages (2 onwards) that drift as if a row was inserted")
	f.IntVar(&tooLargeDays, "query-too-large-days", 0, "answer 40067 to report windows longer than this (0: never)")
	return cmd
}

func limitText(qps, qpm int) string {
	if qps <= 0 && qpm <= 0 {
		return "not enforced"
	}
	return fmt.Sprintf("%d QPS / %d QPM", qps, qpm)
}

func truncateList(ids []string, n int) []string {
	if len(ids) <= n {
		return ids
	}
	return append(ids[:n:n], fmt.Sprintf("… (%d in all)", len(ids)))
}

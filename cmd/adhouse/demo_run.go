package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/spf13/cobra"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
	"github.com/adhouse/adhouse/etl/warehouse"
	"github.com/adhouse/adhouse/metrics"
	"github.com/adhouse/adhouse/queries"
)

// demoAccount is the simulated agency account the demo syncs: four
// advertisers in four timezones and three currencies.
func demoAccount(now time.Time) tiktoksim.Config {
	return tiktoksim.Config{
		Seed: 2026, Advertisers: 4, CampaignsPerAdvertiser: 3, AdGroupsPerCampaign: 3, AdsPerAdGroup: 4,
		StartDate: tiktok.DateOf(now).AddDays(-90), Days: 90, Now: now,
		RestatementDays: 7, QPS: 10, QPM: 600,
	}
}

// runDemo starts the embedded warehouse and the TikTok simulator on loopback,
// migrates, syncs the last 30 days of a multi-advertiser account, and prints a
// per-campaign table with metrics computed by the metrics package.
func runDemo(cmd *cobra.Command, a *app) error {
	ctx := cmd.Context()
	st, err := warehouse.Start(ctx, a.engineOptions())
	if err != nil {
		return err
	}
	a.log.Info().Str("http", st.HTTPAddr()).Msg("embedded warehouse running")

	now := time.Now().UTC()
	sim := tiktoksim.New(demoAccount(now))
	if _, err := sim.Start("127.0.0.1:0"); err != nil {
		return err
	}
	defer sim.Close(context.WithoutCancel(ctx))
	a.log.Info().Str("base_url", sim.BaseURL()).Msg("TikTok API simulator running")

	// The demo talks to its own simulator only: nothing of the configured
	// tiktok section (nor its unset ${VAR}s) applies.
	a.cfg.TikTok = config.Default().TikTok
	a.cfg.TikTok.BaseURL = sim.BaseURL()
	a.cfg.TikTok.AccessToken = config.Secret(sim.AccessToken())
	a.cfg.TikTok.AppID = sim.Config().AppID
	a.cfg.TikTok.Secret = config.Secret(sim.Config().Secret)
	a.cfg.Sync.Advertisers = sim.AdvertiserIDs()
	a.cfg.Sync.InitialDays = 30

	conn, _, err := warehouse.Connect(ctx, a.cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := queries.Migrate(ctx, conn, a.target()); err != nil {
		return err
	}

	progress := &extract.Progress{}
	p, err := a.newPipeline(ctx, sim.Now, progress)
	if err != nil {
		return err
	}
	defer p.Close()
	stop := a.showProgress(progress, p.api.Limiter())
	started := time.Now()
	job := extract.Job{Name: "sync", Entities: true, Stats: true}
	res, err := p.syncer.Run(ctx, a.cfg.Sync.Advertisers, job)
	stop()
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "Synced %d advertisers: %d windows, %d rows, %d API calls in %s.\n",
		res.Advertisers, res.Windows, res.Rows, res.APICalls, time.Since(started).Round(time.Millisecond))
	printRunReconciliation(out, job, res, a.cfg.Sync.ReconcileTolerance)
	fmt.Fprintln(out)
	if err := printCampaignTable(ctx, out, conn, a.cfg.ClickHouse.Database); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nCPI is spend per install, IPM installs per 1,000 impressions, CPM spend per 1,000 impressions, CPC spend per click,\n"+
		"CTR clicks/impressions, click-to-install installs/clicks; installs are TikTok's attributed app installs, and ROAS\n"+
		"uses TikTok-reported purchase value. Each is a ratio of the 30-day sums, exact; \"undefined\" when a sum is unknown\n"+
		"(TikTok sent \"-\") or it divides by zero.\n"+
		"The warehouse keeps running on HTTP %s (user %s, password in %s/admin.password; BI tools: user %s, %s/bi.password).\n"+
		"Stop it with `adhouse warehouse stop`.\n", st.HTTPAddr(), warehouse.AdminUser, st.Dir, warehouse.BIUser, st.Dir)
	return nil
}

// printCampaignTable sums each campaign's last 30 days in SQL and computes the
// ratios from those sums in Go: ratio of sums, undefined on zero.
func printCampaignTable(ctx context.Context, out io.Writer, conn driver.Conn, db string) error {
	q := fmt.Sprintf(`SELECT a.name, s.campaign_id, any(c.campaign_name), s.currency,
    ifNull(toString(sum(s.spend)), '-'), ifNull(toString(sum(s.impressions)), '-'), ifNull(toString(sum(s.clicks)), '-'),
    ifNull(toString(sum(s.app_install)), '-'), ifNull(toString(sum(s.complete_payment_value)), '-')
FROM %[1]s.campaign_stats_daily AS s
LEFT JOIN (SELECT campaign_id, campaign_name FROM %[1]s.campaigns FINAL) AS c ON c.campaign_id = s.campaign_id
LEFT JOIN (SELECT advertiser_id, name FROM %[1]s.advertisers FINAL) AS a ON a.advertiser_id = s.advertiser_id
WHERE s.stat_date >= today() - 29
GROUP BY a.name, s.campaign_id, s.currency
ORDER BY a.name, s.campaign_id`, db)
	rows, err := conn.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("campaign table: %w", err)
	}
	defer rows.Close()
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "advertiser\tcampaign\tcur\tspend\timpressions\tclicks\tinstalls\tCPI\tIPM\tCPM\tCPC\tCTR\tclick-to-install\tROAS\t")
	for rows.Next() {
		var adv, id, name, cur, spend, imp, clk, inst, rev string
		if err := rows.Scan(&adv, &id, &name, &cur, &spend, &imp, &clk, &inst, &rev); err != nil {
			return err
		}
		c, err := metrics.ParseCurrency(cur)
		if err != nil {
			return fmt.Errorf("campaign %s: %w", id, err)
		}
		r := metrics.Row{Currency: c}
		for _, f := range []struct {
			field metrics.Field
			text  string
		}{{metrics.FieldSpend, spend}, {metrics.FieldImpressions, imp}, {metrics.FieldClicks, clk},
			{metrics.FieldAppInstall, inst}, {metrics.FieldTikTokRevenue, rev}} {
			if err := r.Set(f.field, f.text); err != nil {
				return fmt.Errorf("campaign %s %s=%q: %w", id, f.field.Name(), f.text, err)
			}
		}
		var agg metrics.Aggregate
		if err := agg.Add(&r); err != nil {
			return err
		}
		label := name
		if label == "" {
			label = id
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", adv, label, cur,
			show(agg.Spend().WithScale(2)), show(agg.Impressions()), show(agg.Clicks()), show(agg.Installs(metrics.AppInstall)),
			show(agg.CPI(metrics.AppInstall).WithScale(2)), show(agg.IPM(metrics.AppInstall).WithScale(2)),
			show(agg.CPM().WithScale(2)), show(agg.CPC().WithScale(2)), percent(agg.CTR()),
			percent(agg.ClickToInstall(metrics.AppInstall)), show(agg.ROAS(metrics.TikTokRevenue).WithScale(2)))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return tw.Flush()
}

func show(v metrics.Value) string {
	if !v.Defined() {
		return "undefined"
	}
	return v.String()
}

// percent renders a fraction as a percentage with two decimals: rounded once,
// at four decimals of the fraction, then shifted exactly.
func percent(v metrics.Value) string {
	if !v.Defined() {
		return "undefined"
	}
	d, _ := v.WithScale(4).Decimal()
	return d.Shift(2).StringFixed(2) + "%"
}

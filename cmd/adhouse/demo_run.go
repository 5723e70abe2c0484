package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/warehouse"
	"github.com/adhouse/adhouse/schema"
)

// runDemo starts the embedded warehouse, migrates, loads a small sample of
// campaign-days through the loader and prints it back from the analyst view.
func runDemo(cmd *cobra.Command, a *app) error {
	ctx := cmd.Context()
	st, err := warehouse.Start(ctx, a.engineOptions())
	if err != nil {
		return err
	}
	a.log.Info().Str("native", st.NativeAddr()).Str("http", st.HTTPAddr()).Msg("embedded warehouse running")
	conn, _, err := warehouse.Connect(ctx, a.cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := schema.Migrate(ctx, conn, a.target()); err != nil {
		return err
	}
	tbl, _ := load.NewStatsTable("campaign", "daily")
	l := load.New(conn, load.Options{Database: a.cfg.ClickHouse.Database, BatchSize: a.cfg.Load.BatchSize, MaxRetries: a.cfg.Load.MaxRetries, Logger: &a.log})
	to := time.Now().UTC().Truncate(24 * time.Hour)
	from := to.AddDate(0, 0, -6)
	w, err := l.Begin(load.WindowSpec{Table: tbl.Table, AdvertiserID: "demo", From: from, To: to, RunID: "demo"})
	if err != nil {
		return err
	}
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		for c := 1; c <= 3; c++ {
			spend := decimal.New(int64(c*1234+d.Day()*10), -2)
			imp, clk := uint64(c*10000+d.Day()*100), uint64(c*120+d.Day())
			r := tbl.Bind(&load.StatRow{AdvertiserID: "demo", CampaignID: fmt.Sprintf("campaign-%d", c), Date: d,
				Timezone: "UTC", Currency: "USD", Spend: &spend, Impressions: &imp, Clicks: &clk})
			if err := w.Append(ctx, r); err != nil {
				return err
			}
		}
	}
	if err := w.Commit(ctx); err != nil {
		return err
	}
	rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT campaign_id, currency, sum(spend), sum(impressions), sum(clicks)
FROM %s.%s GROUP BY campaign_id, currency ORDER BY campaign_id`, a.cfg.ClickHouse.Database, schema.StatsView("campaign", "daily")))
	if err != nil {
		return err
	}
	defer rows.Close()
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "campaign\tcurrency\tspend\timpressions\tclicks\t")
	for rows.Next() {
		var id, cur string
		var spend decimal.Decimal
		var imp, clk uint64
		if err := rows.Scan(&id, &cur, &spend, &imp, &clk); err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t\n", id, cur, spend.StringFixed(2), imp, clk)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "\nThe warehouse keeps running on native %s and HTTP %s (user %s, password in %s/admin.password).\nStop it with `adhouse warehouse stop`.\n",
		st.NativeAddr(), st.HTTPAddr(), warehouse.AdminUser, st.Dir)
	return nil
}

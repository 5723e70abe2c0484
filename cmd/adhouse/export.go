package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/adhouse/adhouse/etl/export"
	"github.com/adhouse/adhouse/etl/warehouse"
	"github.com/adhouse/adhouse/metrics"
)

func init() { commands = append(commands, newExportCmd) }

func newExportCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "export", Short: "Export reports for finance"}
	var from, to, by, format, out, currency string
	roas := &cobra.Command{
		Use:   "roas --from DAY --to DAY [--by day|month] [--currency CODE|none] [--format csv|parquet] [--out FILE]",
		Short: "Margin-adjusted ROAS per period and campaign, with revenue by source",
		Long: `Per period and campaign: spend, currency, revenue by source (TikTok-reported,
GA4 last-click and assisted, CRM, shop), cost of goods, refunds, fees, gross
margin, ROAS and margin-adjusted ROAS. Money is exact; ratios are rounded
half-even to 6 decimals; an empty cell means undefined. The file is the same
byte for byte for the same data.

--currency reports every amount in one currency: each day's amounts convert at
that day's rate from "adhouse import fx" (or the latest of the 7 days before),
rounded half-even to 6 decimals, and a campaign's currencies merge into one row.
An amount with no rate is unknown: its cell, and every ratio built on it, is
left empty and a warning names the missing rates. Without --currency, the
reporting currency of the settings (imports.reporting_currency) applies, as in
the bi_attribution_*_daily_reporting views; --currency none keeps each
currency on its own rows.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			f, err := time.Parse(time.DateOnly, from)
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			t, err := time.Parse(time.DateOnly, to)
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			if format != "csv" && format != "parquet" {
				return fmt.Errorf("--format %q: want csv or parquet", format)
			}
			conn, _, err := warehouse.Connect(ctx, a.cfg)
			if err != nil {
				return err
			}
			defer conn.Close()
			// The export reads the attribution settings that migrate and
			// import stored; it never writes them, so an export run with
			// another configuration cannot move every BI reader's rules.
			switch {
			case currency == "none":
				currency = ""
			case !cmd.Flags().Changed("currency"):
				// The currency the BI reporting views use, so both agree.
				if currency, err = export.ReportingCurrency(ctx, conn, a.target()); err != nil {
					return err
				}
			}
			rows, err := export.Load(ctx, conn, a.target(), export.Query{From: f, To: t, By: export.By(by), Currency: currency})
			if err != nil {
				return err
			}
			for _, r := range rows {
				if len(r.NoRate) > 0 {
					a.log.Warn().Str("period", r.Period).Str("campaign_id", r.CampaignID).Strs("missing_rates", r.NoRate).
						Msgf("no exchange rate within %d days before: those amounts are unknown and left empty; import the rates with adhouse import fx", metrics.RateMaxAge)
				}
			}
			write := func(w io.Writer) error {
				if format == "parquet" {
					return export.WriteParquet(w, rows)
				}
				return export.WriteCSV(w, rows)
			}
			if out == "" || out == "-" {
				bw := bufio.NewWriter(cmd.OutOrStdout())
				if err := write(bw); err != nil {
					return err
				}
				return bw.Flush()
			}
			// Write beside the target and rename, so a reader never sees half a file.
			tmp, err := os.CreateTemp(filepath.Dir(out), ".export-*")
			if err != nil {
				return err
			}
			defer os.Remove(tmp.Name())
			bw := bufio.NewWriter(tmp)
			if err := write(bw); err != nil {
				tmp.Close()
				return err
			}
			if err := bw.Flush(); err != nil {
				tmp.Close()
				return err
			}
			if err := tmp.Close(); err != nil {
				return err
			}
			if err := os.Rename(tmp.Name(), out); err != nil {
				return err
			}
			a.log.Info().Str("file", out).Int("rows", len(rows)).Str("format", format).Msg("exported")
			return nil
		},
	}
	roas.Flags().StringVar(&from, "from", "", "first day (YYYY-MM-DD, advertiser-local)")
	roas.Flags().StringVar(&to, "to", "", "last day, inclusive")
	roas.Flags().StringVar(&by, "by", "day", "period: day or month")
	roas.Flags().StringVar(&format, "format", "csv", "csv or parquet")
	roas.Flags().StringVar(&currency, "currency", "", "report every amount in this currency (ISO 4217), converted with imported exchange rates; none: each in its own (default: imports.reporting_currency)")
	roas.Flags().StringVarP(&out, "out", "o", "", "output file (default: standard output)")
	_ = roas.MarkFlagRequired("from")
	_ = roas.MarkFlagRequired("to")
	cmd.AddCommand(roas)
	return cmd
}

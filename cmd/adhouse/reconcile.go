package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/warehouse"
)

// reconcileTolerance is sync.reconcile_tolerance as a decimal.
func reconcileTolerance(cfg config.Config) (decimal.NullDecimal, error) {
	d, err := decimal.NewFromString(cfg.Sync.ReconcileTolerance)
	if err != nil {
		return decimal.NullDecimal{}, fmt.Errorf("sync.reconcile_tolerance: %w", err)
	}
	return decimal.NewNullDecimal(d), nil
}

// printRunReconciliation ends a statistics run's summary with the levels that
// do not add up to the advertiser totals, one line each, or says they all do.
func printRunReconciliation(out io.Writer, job extract.Job, res extract.Result, tolerance string) {
	if !job.Stats || job.TodayOnly || res.Advertisers == 0 {
		return // today is never judged: its figures change between the levels' pulls
	}
	if len(res.Reconciliation) == 0 {
		fmt.Fprintf(out, "reconciliation: every level adds up to the advertiser totals (tolerance %s a day)\n", tolerance)
		return
	}
	for _, im := range res.Reconciliation {
		fmt.Fprintf(out, "reconciliation: %s (see `adhouse reconcile`)\n", im)
	}
}

// outOfBalance is the error of a reconcile that found differences: exit
// status 2, so scripts tell "differences" (2) from "could not check" (1).
type outOfBalance int

func (n outOfBalance) Error() string {
	if n == 1 {
		return "1 level is out of balance"
	}
	return fmt.Sprintf("%d levels are out of balance", int(n))
}

// ExitCode is the process exit status main uses.
func (outOfBalance) ExitCode() int { return 2 }

func newReconcileCmd(a *app) *cobra.Command {
	var from, to string
	var only []string
	cmd := &cobra.Command{
		Use:   "reconcile [--from DATE] [--to DATE] [--advertiser ID]...",
		Short: "List the levels whose sums differ from the advertiser totals (exit status 2 when any does); reads only the warehouse",
		Long: `reconcile reads the reconciliation table that every sync fills and prints,
per advertiser, level and granularity, the finished days on which the level's
spend differs from the advertiser total by more than sync.reconcile_tolerance,
or its impressions or clicks differ at all, with the summed differences
(level minus advertiser) and the likely cause. docs/operating.md
("Reconciliation") says what each cause means and what to do.

It exits 0 when every level adds up, 2 when some do not, 1 on errors. It
needs no TikTok token.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			q := extract.ReconcileQuery{Target: a.target(), Advertisers: only, Now: time.Now()}
			var err error
			if from != "" {
				if q.From, err = tiktok.ParseDate(from); err != nil {
					return fmt.Errorf("--from: %w", err)
				}
			}
			if to != "" {
				if q.To, err = tiktok.ParseDate(to); err != nil {
					return fmt.Errorf("--to: %w", err)
				}
			}
			if !q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From) {
				return fmt.Errorf("--to %s is before --from %s", q.To, q.From)
			}
			tol, err := reconcileTolerance(a.cfg)
			if err != nil {
				return err
			}
			q.Tolerance = tol.Decimal
			if now, err := clockFromEnv(); err != nil {
				return err
			} else if now != nil {
				q.Now = now()
			}
			conn, _, err := warehouse.Connect(ctx, a.cfg)
			if err != nil {
				return err
			}
			defer conn.Close()
			if err := requireSchema(ctx, conn, a.target()); err != nil {
				return err
			}
			found, err := extract.Imbalances(ctx, conn, q)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(found) == 0 {
				fmt.Fprintf(out, "Every level adds up to the advertiser totals (tolerance %s a day; today is not judged).\n", tol.Decimal)
				return nil
			}
			if err := printImbalances(out, found); err != nil {
				return err
			}
			fmt.Fprintf(out, "\nDifferences are level minus advertiser, summed over the days out of balance (tolerance %s a day\n"+
				"in the account currency; today is not judged). What each cause means: docs/operating.md, \"Reconciliation\".\n", tol.Decimal)
			return outOfBalance(len(found))
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "first local day (YYYY-MM-DD; default: the first recorded)")
	cmd.Flags().StringVar(&to, "to", "", "last local day (YYYY-MM-DD; default: yesterday)")
	cmd.Flags().StringSliceVar(&only, "advertiser", nil, "advertiser id (repeatable; default: all)")
	return cmd
}

// printImbalances writes the aligned table of `adhouse reconcile`.
func printImbalances(out io.Writer, found []extract.Imbalance) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "advertiser\tlevel\tgranularity\tfrom\tto\tdays\tspend\tcurrency\timpressions\tclicks\tlikely cause")
	for _, im := range found {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%+d\t%+d\t%s\n", im.AdvertiserID, im.Level, im.Granularity,
			im.From, im.To, im.Days, im.SpendText(), im.Currency, im.Impressions, im.Clicks, im.Cause)
	}
	return tw.Flush()
}

func init() { commands = append(commands, newReconcileCmd) }

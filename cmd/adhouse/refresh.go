package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/adhouse/adhouse/etl/warehouse"
	"github.com/adhouse/adhouse/queries"
)

func newRefreshCmd(a *app) *cobra.Command {
	var status bool
	cmd := &cobra.Command{
		Use:   "refresh",
		Short: "Rebuild what differs between the materialised BI tables and the committed data (every sync does it too)",
		Long: `Every sync and backfill ends by rebuilding, in the materialised BI tables
(bi_<level>_daily and bi_<level>_hourly), the days its windows committed and
the months whose names changed. refresh does the same on its own: after a run
that was killed, or to check. --status only lists what is pending.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			conn, _, err := warehouse.Connect(ctx, a.cfg)
			if err != nil {
				return err
			}
			defer conn.Close()
			if err := requireSchema(ctx, conn, a.target()); err != nil {
				return err
			}
			r := queries.NewRefresher(conn, a.target(), queries.RefreshOptions{Logger: &a.log})
			out := cmd.OutOrStdout()
			if !status {
				res, err := r.Refresh(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "rebuilt %d days in %d months in %s\n", res.Days, res.Partitions, res.Took.Round(time.Millisecond))
			}
			pending, err := r.Pending(ctx)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "TABLE\tPENDING DAYS\tRENAMED\tOLDEST PENDING COMMIT")
			for _, p := range pending {
				oldest := "-"
				if !p.Oldest.IsZero() {
					oldest = p.Oldest.UTC().Format(time.RFC3339) + " (" + time.Since(p.Oldest).Round(time.Second).String() + " ago)"
				}
				fmt.Fprintf(w, "%s\t%d\t%d\t%s\n", p.Table, p.Days, p.Renamed, oldest)
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&status, "status", false, "only list what the materialised BI tables do not reflect yet")
	return cmd
}

func init() { commands = append(commands, newRefreshCmd) }

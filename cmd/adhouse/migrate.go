package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/adhouse/adhouse/etl/attribution"
	"github.com/adhouse/adhouse/etl/warehouse"
	"github.com/adhouse/adhouse/queries"
	"github.com/adhouse/adhouse/schema"
)

func (a *app) target() schema.Target {
	return schema.Target{Database: a.cfg.ClickHouse.Database, Cluster: a.cfg.ClickHouse.Cluster}
}

func newMigrateCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending schema migrations, then create or replace the BI views",
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, ep, err := warehouse.Connect(cmd.Context(), a.cfg)
			if err != nil {
				return err
			}
			defer conn.Close()
			// The views are not versioned migrations: they hold no data, so
			// every migrate re-creates them from the current definitions.
			applied, err := queries.Migrate(cmd.Context(), conn, a.target())
			for _, m := range applied {
				a.log.Info().Uint32("version", m.Version).Str("name", m.Name).Msg("migration applied")
			}
			if err != nil {
				return err
			}
			if err := attribution.Save(cmd.Context(), conn, a.target(), attributionSettings(a.cfg.Imports)); err != nil {
				return err
			}
			a.log.Info().Int("applied", len(applied)).Str("clickhouse", ep.String()).Str("database", ep.Database).Msg("schema up to date")
			return nil
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "List migrations and whether each is applied",
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, _, err := warehouse.Connect(cmd.Context(), a.cfg)
			if err != nil {
				return err
			}
			defer conn.Close()
			statuses, err := schema.Status(cmd.Context(), conn, a.target())
			if err != nil {
				return fmt.Errorf("%w (has `adhouse migrate` run yet?)", err)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "VERSION\tNAME\tSTATE\tAPPLIED AT")
			for _, st := range statuses {
				state, at := "pending", ""
				if st.Applied != nil {
					state, at = "applied", st.Applied.AppliedAt.Format("2006-01-02 15:04:05 MST")
					if st.Modified {
						state = "applied, file changed since"
					}
				}
				fmt.Fprintf(w, "%04d\t%s\t%s\t%s\n", st.Version, st.Name, state, at)
			}
			return w.Flush()
		},
	})
	return cmd
}

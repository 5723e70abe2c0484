package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/spf13/cobra"

	"github.com/adhouse/adhouse/etl/attribution"
	"github.com/adhouse/adhouse/etl/warehouse"
	"github.com/adhouse/adhouse/queries"
	"github.com/adhouse/adhouse/schema"
)

func (a *app) target() schema.Target {
	ch := a.cfg.ClickHouse
	return schema.Target{Database: ch.Database, Cluster: ch.Cluster, Sharded: ch.Sharded()}
}

// shards opens a connection to every node of a sharded cluster, which
// deletes must reach one by one; nil on any other warehouse. close ends them.
func (a *app) shards(ctx context.Context) (nodes []driver.Conn, close func(), err error) {
	if !a.cfg.ClickHouse.Sharded() {
		return nil, func() {}, nil
	}
	nodes, err = warehouse.ConnectNodes(ctx, a.cfg)
	if err != nil {
		return nil, nil, err
	}
	return nodes, func() {
		for _, n := range nodes {
			n.Close()
		}
	}, nil
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
			nodes, closeNodes, err := a.shards(cmd.Context())
			if err != nil {
				return err
			}
			defer closeNodes()
			if nodes == nil {
				nodes = []driver.Conn{conn}
			}
			// The views are not versioned migrations: they hold no data, so
			// every migrate re-creates them from the current definitions.
			applied, err := queries.MigrateNodes(cmd.Context(), nodes, a.target())
			for _, m := range applied {
				a.log.Info().Uint32("version", m.Version).Str("name", m.Name).Msg("migration applied")
			}
			if err != nil {
				return err
			}
			if err := attribution.Save(cmd.Context(), conn, a.target(), attributionSettings(a.cfg.Imports)); err != nil {
				return err
			}
			a.log.Info().Int("applied", len(applied)).Int("nodes", len(nodes)).Str("clickhouse", ep.String()).Str("database", ep.Database).Msg("schema up to date")
			return nil
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "List migrations and whether each is applied",
		RunE: func(cmd *cobra.Command, _ []string) error {
			nodes, err := warehouse.ConnectNodes(cmd.Context(), a.cfg)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			head := "VERSION\tNAME\tSTATE\tAPPLIED AT"
			if len(nodes) > 1 {
				head = "NODE\t" + head
			}
			fmt.Fprintln(w, head)
			for i, conn := range nodes {
				defer conn.Close()
				statuses, err := schema.Status(cmd.Context(), conn, a.target())
				if err != nil {
					return fmt.Errorf("%w (has `adhouse migrate` run yet?)", err)
				}
				for _, st := range statuses {
					state, at := "pending", ""
					if st.Applied != nil {
						state, at = "applied", st.Applied.AppliedAt.Format("2006-01-02 15:04:05 MST")
						if st.Modified {
							state = "applied, file changed since"
						}
					}
					if len(nodes) > 1 {
						fmt.Fprintf(w, "%s\t", a.cfg.ClickHouse.Addr[i])
					}
					fmt.Fprintf(w, "%04d\t%s\t%s\t%s\n", st.Version, st.Name, state, at)
				}
			}
			return w.Flush()
		},
	})
	return cmd
}

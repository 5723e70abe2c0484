package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/warehouse"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
)

// TestExportLeavesAttributionSettings: migrate stores the attribution
// settings every BI reader uses; an export run with another configuration
// reads them and changes nothing.
func TestExportLeavesAttributionSettings(t *testing.T) {
	cfg := warehousetest.Config(t, config.ProtocolHTTP)
	cfg.Imports.LookbackDays = 7
	run := func(cfg config.Config, newCmd func(*app) *cobra.Command, args ...string) string {
		t.Helper()
		a := &app{cfg: cfg, log: zerolog.Nop()}
		cmd := newCmd(a)
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetArgs(args)
		if err := cmd.ExecuteContext(context.Background()); err != nil {
			t.Fatalf("%s %v: %v", cmd.Name(), args, err)
		}
		return out.String()
	}
	run(cfg, newMigrateCmd)
	settings := func() (rows uint64, lookback uint16) {
		conn, _, err := warehouse.Connect(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := conn.QueryRow(context.Background(), "SELECT count(), argMax(lookback_days, version) FROM "+cfg.ClickHouse.Database+".attribution_settings").Scan(&rows, &lookback); err != nil {
			t.Fatal(err)
		}
		return rows, lookback
	}
	rows, lookback := settings()
	if lookback != 7 {
		t.Fatalf("after migrate: lookback %d, want the configured 7", lookback)
	}
	other := cfg
	other.Imports.LookbackDays = 30
	run(other, newExportCmd, "roas", "--from", "2026-05-01", "--to", "2026-05-31", "--by", "month")
	if r, l := settings(); r != rows || l != lookback {
		t.Fatalf("an export changed the settings: %d rows, lookback %d", r, l)
	}
}

package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/rs/zerolog"

	"github.com/adhouse/adhouse/etl/config"
)

// TestServeRefusesUnknownJob: job names come from one registry
// (extract.NamedJob); a schedule naming another fails before anything
// starts, naming its key.
func TestServeRefusesUnknownJob(t *testing.T) {
	cfg := config.Default()
	cfg.Serve.Schedules = []config.Schedule{{Name: "nightly", Cron: "0 3 * * *", Job: "backup"}}
	cmd := newServeCmd(&app{cfg: cfg, log: zerolog.Nop()})
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetArgs(nil)
	err := cmd.ExecuteContext(context.Background())
	want := `serve.schedules[0] (nightly): job "backup" is not sync, today or entities`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

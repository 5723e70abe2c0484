package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/schedule"
)

func newServeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the sync schedules as a daemon, with /healthz and Prometheus /metrics on loopback",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			p, err := a.newPipeline(ctx, nil, nil)
			if err != nil {
				return err
			}
			defer p.Close()
			loc, err := time.LoadLocation(a.cfg.Serve.Timezone)
			if err != nil {
				return fmt.Errorf("serve.timezone: %w", err)
			}
			var entries []schedule.Entry
			for _, s := range a.cfg.Serve.Schedules {
				entries = append(entries, schedule.Entry{Name: s.Name, Cron: s.Cron, Job: s.Job})
			}
			d, err := schedule.New(schedule.Options{
				Entries: entries, Location: loc, Listen: a.cfg.Serve.Listen,
				ShutdownTimeout: a.cfg.Serve.ShutdownTimeout, Logger: a.log,
				Run:    p.runNamedJob(a.cfg.Sync.Entities),
				Health: func(ctx context.Context) error { return p.conn.Ping(ctx) },
			})
			if err != nil {
				return err
			}
			return d.Run(ctx)
		},
	}
}

// runNamedJob maps a schedule's job name to a sync job over the configured
// (or discovered) advertisers.
func (p *pipeline) runNamedJob(entities bool) schedule.Runner {
	return func(ctx context.Context, name string) (extract.Result, error) {
		var job extract.Job
		switch name {
		case "sync":
			job = extract.Job{Name: "sync", Entities: entities, Stats: true}
		case "today":
			job = extract.Job{Name: "today", Stats: true, TodayOnly: true}
		case "entities":
			job = extract.Job{Name: "entities", Entities: true}
		default:
			return extract.Result{}, fmt.Errorf("unknown job %q", name)
		}
		ids, err := p.advertisers(ctx, nil)
		if err != nil {
			return extract.Result{}, err
		}
		return p.syncer.Run(ctx, ids, job)
	}
}

func init() { commands = append(commands, newServeCmd) }

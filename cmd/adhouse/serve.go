package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/schedule"
	"github.com/adhouse/adhouse/queries"
)

func newServeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the sync schedules as a daemon, with /healthz and Prometheus /metrics on loopback",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			loc, err := time.LoadLocation(a.cfg.Serve.Timezone)
			if err != nil {
				return fmt.Errorf("serve.timezone: %w", err)
			}
			var entries []schedule.Entry
			jobs := map[string]extract.Job{}
			for i, s := range a.cfg.Serve.Schedules {
				job, err := extract.NamedJob(s.Job, a.cfg.Sync.Entities)
				if err != nil {
					return fmt.Errorf("serve.schedules[%d] (%s): %w", i, s.Name, err)
				}
				jobs[s.Job] = job
				entries = append(entries, schedule.Entry{Name: s.Name, Cron: s.Cron, Job: s.Job})
			}
			p, err := a.newPipeline(ctx, nil, nil)
			if err != nil {
				return err
			}
			defer p.Close()
			recon, err := a.reconciliation(p)
			if err != nil {
				return err
			}
			d, err := schedule.New(schedule.Options{
				Entries: entries, Location: loc, Listen: a.cfg.Serve.Listen,
				ShutdownTimeout: a.cfg.Serve.ShutdownTimeout, Logger: a.log,
				Run:            p.runJobs(jobs),
				Health:         func(ctx context.Context) error { return p.conn.Ping(ctx) },
				Limiter:        p.api.Limiter(),
				Reconciliation: recon,
				// Its own refresher: a scrape never waits for a run's refresh.
				Materialised: queries.NewRefresher(p.conn, a.target(), queries.RefreshOptions{}).Pending,
				LastSuccess: func(ctx context.Context) (map[string]time.Time, error) {
					return extract.LastSuccesses(ctx, p.conn, a.target())
				},
			})
			if err != nil {
				return err
			}
			return d.Run(ctx)
		},
	}
}

// runJobs runs a schedule's job, resolved from its name at start-up, over
// the configured (or discovered) advertisers.
func (p *pipeline) runJobs(jobs map[string]extract.Job) schedule.Runner {
	return func(ctx context.Context, name string) (extract.Result, error) {
		// Discovering the advertisers is part of the run's API calls.
		ctx = extract.CountRun(ctx)
		ids, err := p.advertisers(ctx, nil)
		if err != nil {
			return extract.Result{}, err
		}
		return p.syncer.Run(ctx, ids, jobs[name])
	}
}

// reconciliation reads what the daemon's gauges and /healthz show: every
// advertiser's levels out of balance, over all recorded days.
func (a *app) reconciliation(p *pipeline) (schedule.Reconciliation, error) {
	tol, err := reconcileTolerance(a.cfg)
	if err != nil {
		return nil, err
	}
	now, err := clockFromEnv()
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return func(ctx context.Context) ([]extract.Imbalance, error) {
		return extract.Imbalances(ctx, p.conn, extract.ReconcileQuery{Target: a.target(), Tolerance: tol.Decimal, Now: now()})
	}, nil
}

func init() { commands = append(commands, newServeCmd) }

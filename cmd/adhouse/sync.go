package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/spf13/cobra"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/warehouse"
	"github.com/adhouse/adhouse/queries"
	"github.com/adhouse/adhouse/schema"
)

// pipeline is what sync, backfill, serve and demo share: the API client, the
// warehouse connection, the loader and the syncer over them.
type pipeline struct {
	api         *tiktok.Client
	conn        driver.Conn
	closeShards func()
	syncer      *extract.Syncer
	cfg         config.Config
}

func (p *pipeline) Close() {
	p.conn.Close()
	p.closeShards()
}

// newPipeline connects to the warehouse and builds the TikTok client from the
// configuration. now overrides the clock (the demo's simulator sets it).
func (a *app) newPipeline(ctx context.Context, now func() time.Time, progress *extract.Progress) (*pipeline, error) {
	cfg := a.cfg
	if now == nil {
		var err error
		if now, err = clockFromEnv(); err != nil {
			return nil, err
		}
	}
	api, err := newTikTokClient(cfg, a)
	if err != nil {
		return nil, err
	}
	conn, _, err := warehouse.Connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := requireSchema(ctx, conn, a.target()); err != nil {
		conn.Close()
		return nil, err
	}
	shards, closeShards, err := a.shards(ctx)
	if err != nil {
		conn.Close()
		return nil, err
	}
	loader := load.New(conn, load.Options{
		Target: a.target(), Shards: shards, BatchSize: cfg.Load.BatchSize,
		MaxRetries: cfg.Load.MaxRetries, RetryBackoff: cfg.Load.RetryBackoff, Logger: &a.log,
	})
	opts := extract.Options{
		Target:            a.target(),
		LookbackDays:      cfg.Sync.LookbackDays,
		LookbackOverrides: cfg.Sync.LookbackOverrides,
		InitialDays:       cfg.Sync.InitialDays,
		WindowDays:        cfg.Sync.WindowDays,
		Concurrency:       cfg.Sync.Concurrency,
		Metrics:           cfg.Sync.Metrics,
		WorkerIndex:       cfg.Worker.Index,
		WorkerCount:       cfg.Worker.Count,
		Now:               now,
		Logger:            a.log,
		Progress:          progress,
		Refresh:           queries.NewRefresher(conn, a.target(), queries.RefreshOptions{Logger: &a.log}).AfterRun,
	}
	if opts.ReconcileTolerance, err = reconcileTolerance(cfg); err != nil {
		conn.Close()
		return nil, err
	}
	// Report tasks have their own budget, shared by every stream of the
	// process as the app limiter is.
	opts.AsyncReportThreshold = cfg.Sync.AsyncReportThreshold
	opts.ReportTasks = api.ReportTasks(tiktok.ReportTaskOptions{PollInterval: cfg.Sync.AsyncReportPoll, MaxWait: cfg.Sync.AsyncReportMaxWait})
	for _, l := range cfg.Sync.Levels {
		lv, err := tiktok.ParseLevel(l)
		if err != nil {
			conn.Close()
			closeShards()
			return nil, err
		}
		opts.Levels = append(opts.Levels, lv)
	}
	for _, g := range cfg.Sync.Granularities {
		gr, err := tiktok.ParseGranularity(g)
		if err != nil {
			conn.Close()
			closeShards()
			return nil, err
		}
		opts.Granularities = append(opts.Granularities, gr)
	}
	return &pipeline{api: api, conn: conn, closeShards: closeShards, syncer: extract.New(api, loader, conn, opts), cfg: cfg}, nil
}

func newTikTokClient(cfg config.Config, a *app) (*tiktok.Client, error) {
	t := cfg.TikTok
	if err := t.Ready(); err != nil {
		return nil, err
	}
	token := t.AccessToken.Reveal()
	if t.AccessTokenFile != "" {
		b, err := os.ReadFile(t.AccessTokenFile)
		if err != nil {
			return nil, fmt.Errorf("tiktok.access_token_file: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token == "" {
		return nil, errors.New("tiktok.access_token: no access token configured (set ${TIKTOK_ACCESS_TOKEN}, or run `adhouse auth`)")
	}
	tier, err := tiktok.ParseTier(t.Tier)
	if err != nil {
		return nil, fmt.Errorf("tiktok.tier: %w", err)
	}
	lc := tiktok.LimiterFor(tier)
	if t.QPS > 0 {
		lc.QPS = t.QPS
	}
	if t.QPM > 0 {
		lc.QPM = t.QPM
	}
	lc.AppPause = t.MinutePause
	lc.Logger = &a.log
	return tiktok.New(tiktok.Options{
		BaseURL: t.BaseURL, AppID: t.AppID, Secret: t.Secret.Reveal(), AccessToken: token,
		Limiter: tiktok.NewLimiter(lc), MaxRetries: t.MaxRetries, Timeout: t.Timeout, PageSize: t.PageSize,
		Logger: &a.log, UserAgent: "adhouse/" + warehouse.Version,
	})
}

// advertisers returns the configured advertisers, or discovers the ones the
// token is authorised for.
func (p *pipeline) advertisers(ctx context.Context, only []string) ([]string, error) {
	if len(only) > 0 {
		return only, nil
	}
	if len(p.cfg.Sync.Advertisers) > 0 {
		return p.cfg.Sync.Advertisers, nil
	}
	found, err := p.api.AuthorizedAdvertisers(ctx, p.cfg.TikTok.AppID, p.cfg.TikTok.Secret.Reveal())
	if err != nil {
		return nil, discoveryError(err)
	}
	ids := make([]string, len(found))
	for i, f := range found {
		ids[i] = f.ID
	}
	return ids, nil
}

// discoveryError says what to do when listing the token's advertisers
// failed: skipping discovery (sync.advertisers) helps only when the listing
// itself is the problem, not when TikTok cannot be reached or refuses the
// token, which every later call would meet too.
func discoveryError(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	if tiktok.AdvertiserRefused(err) {
		// The listing is the app's, not an advertiser's: 40001 here is its id or secret.
		return fmt.Errorf("discovering advertisers: %w\n  → TikTok refused the app: check tiktok.app_id and tiktok.secret (or list the advertisers in sync.advertisers)", err)
	}
	if tiktok.Unreachable(err) || errors.Is(err, tiktok.ErrAuth) {
		return fmt.Errorf("discovering advertisers: %w\n  → %s", err, extract.Hint(err))
	}
	return fmt.Errorf("discovering advertisers (set sync.advertisers to skip this): %w", err)
}

func newSyncCmd(a *app) *cobra.Command {
	var only []string
	var today, entitiesOnly bool
	var lookback int
	var from string
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Pull advertisers, entities and statistics from the last checkpoint minus the lookback to today",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("lookback") {
				if lookback < 0 || lookback > 365 {
					return fmt.Errorf("--lookback: %d is not between 0 and 365", lookback)
				}
				// For this run, every advertiser: the flag overrides the
				// configured lookback and its per-advertiser overrides.
				a.cfg.Sync.LookbackDays, a.cfg.Sync.LookbackOverrides = lookback, nil
			}
			if from != "" {
				f, err := tiktok.ParseDate(from)
				if err != nil {
					return fmt.Errorf("--from: %w", err)
				}
				return a.runJob(cmd, only, extract.SyncFrom(f, a.cfg.Sync.Entities))
			}
			name := "sync"
			switch {
			case today:
				name = "today"
			case entitiesOnly:
				name = "entities"
			}
			job, err := extract.NamedJob(name, a.cfg.Sync.Entities)
			if err != nil {
				return err
			}
			if today && entitiesOnly {
				// Both asked for, both done: the entities first, then
				// today's statistics (not one silently dropped).
				job.Name, job.Entities = "today+entities", true
			}
			return a.runJob(cmd, only, job)
		},
	}
	cmd.Flags().StringSliceVar(&only, "advertiser", nil, "advertiser id to sync (repeatable; default: configured or discovered)")
	cmd.Flags().BoolVar(&today, "today", false, "pull only today's statistics (with --entities: the entities, then today's statistics)")
	cmd.Flags().BoolVar(&entitiesOnly, "entities", false, "pull only advertisers, campaigns, ad groups and ads (with --today: and today's statistics)")
	cmd.Flags().IntVar(&lookback, "lookback", 0, "re-pull N days before each checkpoint in this run (default: sync.lookback_days)")
	cmd.Flags().StringVar(&from, "from", "", "re-pull every stream from this local day (YYYY-MM-DD) through today, whatever the checkpoints say")
	cmd.MarkFlagsMutuallyExclusive("today", "from")
	cmd.MarkFlagsMutuallyExclusive("entities", "from")
	cmd.MarkFlagsMutuallyExclusive("lookback", "from")
	cmd.MarkFlagsMutuallyExclusive("lookback", "today")
	return cmd
}

func newBackfillCmd(a *app) *cobra.Command {
	var only []string
	var from, to string
	var force bool
	cmd := &cobra.Command{
		Use:   "backfill --from DATE --to DATE [--force]",
		Short: "Pull statistics for a date range; re-running the same range resumes it, --force pulls it again whole",
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := tiktok.ParseDate(from)
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			t, err := tiktok.ParseDate(to)
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			if t.Before(f) {
				return fmt.Errorf("--to %s is before --from %s", t, f)
			}
			job := extract.Backfill(f, t)
			job.Entities = a.cfg.Sync.Entities
			job.Force = force
			return a.runJob(cmd, only, job)
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "first local day (YYYY-MM-DD)")
	cmd.Flags().StringVar(&to, "to", "", "last local day (YYYY-MM-DD)")
	cmd.Flags().StringSliceVar(&only, "advertiser", nil, "advertiser id (repeatable; default: configured or discovered)")
	cmd.Flags().BoolVar(&force, "force", false, "pull the whole range again, even the windows an earlier run of it completed")
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

// runJob runs one job with a progress bar on a terminal, or progress log lines.
func (a *app) runJob(cmd *cobra.Command, only []string, job extract.Job) error {
	// Every API request from here on is the run's, discovery included.
	ctx := extract.CountRun(cmd.Context())
	progress := &extract.Progress{}
	p, err := a.newPipeline(ctx, nil, progress)
	if err != nil {
		return err
	}
	defer p.Close()
	ids, err := p.advertisers(ctx, only)
	if err != nil {
		return err
	}
	stop := a.showProgress(progress, p.api.Limiter())
	res, err := p.syncer.Run(ctx, ids, job)
	stop()
	return reportRun(cmd.OutOrStdout(), job, res, err, a.cfg.Sync.ReconcileTolerance)
}

// clockFromEnv pins "now" to ADHOUSE_NOW (RFC 3339) when it is set: tests use
// it to run the binary against the simulator's clock, and an operator can use
// it to re-run a past day's job exactly.
func clockFromEnv() (func() time.Time, error) {
	v := os.Getenv("ADHOUSE_NOW")
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, fmt.Errorf("ADHOUSE_NOW: %w", err)
	}
	return func() time.Time { return t }, nil
}

// requireSchema turns a missing or outdated schema into an instruction
// instead of an UNKNOWN_DATABASE halfway through a sync.
func requireSchema(ctx context.Context, conn driver.Conn, t schema.Target) error {
	statuses, err := schema.Status(ctx, conn, t)
	if err != nil {
		if code, ok := warehouse.ExceptionCode(err); ok && (code == 81 || code == 60) {
			return fmt.Errorf("the warehouse has no %s schema yet: run `adhouse migrate` first", t.Database)
		}
		return err
	}
	pending := 0
	for _, st := range statuses {
		if st.Applied == nil {
			pending++
		}
	}
	if pending > 0 {
		return fmt.Errorf("%d schema migration(s) pending in %s: run `adhouse migrate` first", pending, t.Database)
	}
	return nil
}

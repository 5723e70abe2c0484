// Package extract keeps the warehouse current: for each advertiser it pulls
// advertiser info, entities and statistics at every configured level and
// granularity from the TikTok API, streams them page by page into load
// windows, and advances checkpoints only after a window is committed.
//
// A run killed at any point and run again produces the warehouse of an
// uninterrupted run: a window either committed (and its checkpoint may or may
// not have advanced, so it is at worst pulled again and replaced whole) or did
// not (and shows nothing). Incremental syncs start lookback days before the
// checkpoint, because TikTok credits conversions to the day of the ad
// interaction and keeps restating recent days.
package extract

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"
	"github.com/shopspring/decimal"
	"golang.org/x/sync/errgroup"

	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/schema"
)

// Syncer defaults, which config.Default uses too.
const (
	DefaultLookbackDays = 7
	DefaultInitialDays  = 30
	DefaultWindowDays   = 30
	DefaultConcurrency  = 4
)

// Options says what a [Syncer] pulls and how; zero fields take the defaults
// above.
type Options struct {
	// Target is the warehouse's database (and cluster).
	Target schema.Target
	// Levels and Granularities select the statistics streams.
	Levels        []tiktok.Level
	Granularities []tiktok.Granularity
	// LookbackDays is re-pulled before the checkpoint; LookbackOverrides per advertiser.
	LookbackDays      int
	LookbackOverrides map[string]int
	// InitialDays is how far back a stream without checkpoint starts.
	InitialDays int
	// WindowDays is the size of a daily report window (at most 30).
	WindowDays int
	// Concurrency bounds the advertisers and streams pulled at once.
	Concurrency int
	// Metrics requested; nil means tiktok.DefaultMetrics.
	Metrics []string
	// WorkerIndex of WorkerCount shards advertisers by a stable hash.
	WorkerIndex, WorkerCount int
	// AsyncReportThreshold sends the windows of an advertiser with at least
	// this many ads (deleted included, as its entities know them) through
	// asynchronous report tasks, since TikTok truncates the synchronous
	// report of large accounts; 0 decides only by TikTok's answers (40067,
	// X-Tt-Ads-Throttle), which switch a window to a task too.
	// config.Default sets DefaultAsyncReportThreshold.
	AsyncReportThreshold int
	// ReportTasks runs the asynchronous report tasks; nil makes them from the
	// client with tiktok's defaults.
	ReportTasks *tiktok.ReportTasks
	// Now is the clock (tests and the simulator set it); nil means time.Now.
	Now func() time.Time
	// Logger receives one line per window and per problem.
	Logger zerolog.Logger
	// Progress, when set, is updated as windows load.
	Progress *Progress
	// ReconcileTolerance is the spend difference per day that reconciliation
	// treats as rounding; invalid (unset) means DefaultReconcileTolerance.
	ReconcileTolerance decimal.NullDecimal
	// Refresh, when set, runs at the end of every run, once its windows are
	// committed and its entities loaded: it rebuilds what they changed in
	// derived tables (the materialised BI tables, queries.Refresher). A
	// failure is one of the run's failed parts; the next run's refresh
	// finds what is still to rebuild.
	Refresh func(ctx context.Context) error
}

// Syncer runs syncs and backfills. Runs may overlap (the daemon's today and
// sync jobs): each keeps its own state, and the newest-begun window wins.
type Syncer struct {
	api    *tiktok.Client
	tasks  *tiktok.ReportTasks
	loader *load.Loader
	conn   driver.Conn
	opts   Options
	log    zerolog.Logger

	// asyncAdvertisers maps advertisers whose synchronous report came back
	// truncated to that reason: their later windows start with a task.
	asyncAdvertisers sync.Map
	// noReportTasks is set once TikTok refuses report tasks to the app.
	noReportTasks atomic.Bool
}

// touchedDays records, per table, the days a run re-pulled, for pruning.
type touchedDays struct {
	mu   sync.Mutex
	days map[string][2]tiktok.Date
}

func (t *touchedDays) add(table string, from, to tiktok.Date) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.days == nil {
		t.days = map[string][2]tiktok.Date{}
	}
	span, ok := t.days[table]
	if !ok || from.Before(span[0]) {
		span[0] = from
	}
	if !ok || to.After(span[1]) {
		span[1] = to
	}
	t.days[table] = span
}

// New returns a Syncer pulling with api and writing through loader over conn.
func New(api *tiktok.Client, loader *load.Loader, conn driver.Conn, opts Options) *Syncer {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.WindowDays < 1 || opts.WindowDays > tiktok.Daily.MaxDays() {
		opts.WindowDays = DefaultWindowDays
	}
	if opts.Concurrency < 1 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.InitialDays < 1 {
		opts.InitialDays = DefaultInitialDays
	}
	if opts.WorkerCount < 1 {
		opts.WorkerCount = 1
	}
	if opts.Progress == nil {
		opts.Progress = &Progress{}
	}
	if !opts.ReconcileTolerance.Valid {
		opts.ReconcileTolerance = decimal.NewNullDecimal(decimal.RequireFromString(DefaultReconcileTolerance))
	}
	tasks := opts.ReportTasks
	if tasks == nil {
		tasks = api.ReportTasks(tiktok.ReportTaskOptions{})
	}
	return &Syncer{api: api, tasks: tasks, loader: loader, conn: conn, opts: opts, log: opts.Logger}
}

// Job says which days a run pulls.
type Job struct {
	// Name tags run log lines: sync, today, entities, or backfill FROM..TO.
	Name string
	// Entities pulls advertisers' campaigns, ad groups and ads first.
	Entities bool
	// Stats pulls statistics.
	Stats bool
	// TodayOnly pulls only today (in each advertiser's timezone).
	TodayOnly bool
	// From and To, when set, make a backfill of exactly that range; it resumes
	// where an earlier run of the same backfill stopped. From with a zero To
	// runs through today.
	From, To tiktok.Date
	// Force pulls a From..To range again whole, even the windows an earlier
	// run of the same job completed.
	Force bool
}

// JobNames lists the named jobs that `adhouse serve` schedules and `adhouse
// sync` runs, in the order help texts show them.
var JobNames = []string{"sync", "today", "entities"}

// NamedJob returns the job called name: sync (statistics from each
// checkpoint minus the lookback, and the entities when syncEntities is
// set), today (only today's statistics) or entities (only advertisers,
// campaigns, ad groups and ads). It is the one registry of jobs.
func NamedJob(name string, syncEntities bool) (Job, error) {
	switch name {
	case "sync":
		return Job{Name: name, Entities: syncEntities, Stats: true}, nil
	case "today":
		return Job{Name: name, Stats: true, TodayOnly: true}, nil
	case "entities":
		return Job{Name: name, Entities: true}, nil
	}
	return Job{}, fmt.Errorf("job %q is not %s or %s", name, strings.Join(JobNames[:len(JobNames)-1], ", "), JobNames[len(JobNames)-1])
}

// Backfill returns the job that pulls [from, to] for every stream.
func Backfill(from, to tiktok.Date) Job {
	return Job{Name: fmt.Sprintf("backfill %s..%s", from, to), Stats: true, From: from, To: to}
}

// SyncFrom returns the job that pulls every stream again from the local day
// from through today, whatever the checkpoints say (`adhouse sync --from`),
// with the entities first when entities is set.
func SyncFrom(from tiktok.Date, entities bool) Job {
	return Job{Name: "sync from " + from.String(), Entities: entities, Stats: true, From: from, Force: true}
}

// Progress counts a run's work for progress bars and logs; read it with Snapshot.
type Progress struct {
	Windows, WindowsDone, Rows, Failures atomic.Int64
	calls                                atomic.Pointer[tiktok.CallCounter] // the run's API requests, as they happen
	phase                                atomic.Pointer[Phase]              // see plan.go
}

// ProgressSnapshot is a consistent-enough copy of [Progress]. APICalls
// counts every request of the run so far, retries included.
type ProgressSnapshot struct{ Windows, WindowsDone, Rows, APICalls, Failures int64 }

// Snapshot reads the counters.
func (p *Progress) Snapshot() ProgressSnapshot {
	return ProgressSnapshot{p.Windows.Load(), p.WindowsDone.Load(), p.Rows.Load(), int64(p.calls.Load().Total()), p.Failures.Load()}
}

type runCallsKey struct{}

// CountRun returns a context for one run whose API requests, from now on,
// are the run's: [Syncer.Run] under it counts the calls the caller made
// before it (discovering the advertisers, say) with its own, in its Result
// and in sync_runs. Use a fresh one per run.
func CountRun(ctx context.Context) context.Context {
	ctx, c := tiktok.CountCalls(ctx)
	return context.WithValue(ctx, runCallsKey{}, c)
}

// Result sums up a run.
type Result struct {
	RunID       string
	Advertisers int
	Windows     int
	Rows        int
	// APICalls is every request the run sent to TikTok (reports, entity
	// lists, advertiser info, discovery under CountRun), retries included;
	// Calls breaks it down by endpoint and outcome.
	APICalls uint64
	Retries  uint64
	Calls    tiktok.Calls
	// Failed lists what did not complete; the run's error says the same.
	Failed []string
	// Errors are the errors behind Failed, for callers that classify them
	// (TikTok code, ClickHouse exception code).
	Errors []error
	// Succeeded lists the advertisers whose every part completed.
	Succeeded []string
	// Reconciliation lists the levels that do not add up to the advertiser
	// totals on some finished day the run covered.
	Reconciliation []Imbalance
	// AlreadyDone counts the windows of a backfill that an earlier run of
	// the same range completed, skipped by this one (see Job.Force).
	AlreadyDone int
}

// Outcome sums up a finished run in a word: ok (nothing failed), partial
// (some advertisers completed, some parts failed) or failed (no advertiser
// completed, or the run stopped).
func (r Result) Outcome(err error) string {
	switch {
	case err == nil && len(r.Failed) == 0:
		return "ok"
	case len(r.Succeeded) > 0 && !stopped(err):
		return "partial"
	}
	return "failed"
}

// stopped tells a run that ended early (fatal) from one whose parts failed.
func stopped(err error) bool {
	var pf *PartsFailedError
	return err != nil && !errors.As(err, &pf)
}

// stream is one advertiser's statistics at one level and granularity.
type stream struct {
	advertiser  string
	level       tiktok.Level
	granularity tiktok.Granularity
}

func (st stream) String() string {
	return fmt.Sprintf("advertiser %s %s %s", st.advertiser, st.level.Name(), st.granularity.Name())
}

// advertiser is what the statistics need from advertiser info.
type advertiser struct {
	id, currency string
	loc          *time.Location
	parents      *parents
}

// Mine tells whether this worker owns the advertiser: a stable FNV hash of the
// id modulo the worker count, so daemons split an agency without talking.
func Mine(advertiserID string, index, count int) bool {
	if count <= 1 {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(advertiserID))
	return int(h.Sum32()%uint32(count)) == index
}

// Run executes a job for the given advertisers (already discovered); the
// advertisers this worker does not own are skipped.
//
// Every API request of the run is counted: each window's in its sync_runs
// row, each advertiser's entity lists in an "entities" row, and the rest
// (advertiser info, and discovery if ctx comes from CountRun) in the run's
// own "run" row, written when the run ends.
func (s *Syncer) Run(ctx context.Context, advertiserIDs []string, job Job) (res Result, err error) {
	res = Result{RunID: fmt.Sprintf("%x", load.NewVersion())}
	started := time.Now().UTC()
	calls, _ := ctx.Value(runCallsKey{}).(*tiktok.CallCounter)
	if calls == nil {
		ctx, calls = tiktok.CountCalls(ctx)
	}
	s.opts.Progress.calls.Store(calls)
	s.opts.Progress.SetPhase(PhaseStart)
	defer s.opts.Progress.SetPhase(PhaseDone)
	var runErr error // a failure of the run's own calls
	defer func() {
		res.Calls = calls.Calls()
		res.APICalls, res.Retries = res.Calls.Total(), res.Calls.Retries
		var down *WarehouseDownError
		if errors.As(err, &down) {
			return // the warehouse that would keep the line does not answer
		}
		s.logRunCalls(ctx, res.RunID, job, started, calls.Own(), runErr)
	}()
	var mine []string
	for _, id := range advertiserIDs {
		if Mine(id, s.opts.WorkerIndex, s.opts.WorkerCount) {
			mine = append(mine, id)
		}
	}
	sort.Strings(mine)
	res.Advertisers = len(mine)
	log := s.log.With().Str("run", res.RunID).Str("job", job.Name).Logger()
	log.Info().Int("advertisers", len(mine)).Msg("run starting")
	if len(mine) == 0 {
		return res, nil
	}

	var mu sync.Mutex
	failedAdv := map[string]bool{}
	fail := func(adv, what string, err error) {
		mu.Lock()
		defer mu.Unlock()
		res.Failed = append(res.Failed, fmt.Sprintf("%s: %v", what, err))
		res.Errors = append(res.Errors, err)
		failedAdv[adv] = true
	}
	// stop ends the run on a failure no advertiser can get past.
	stop := func(err error) (Result, error) {
		if warehouseDown(err) {
			err = &WarehouseDownError{Err: err}
		}
		res.Errors = append(res.Errors, err)
		return res, err
	}

	infos, refused, err := s.advertisers(ctx, mine, job, res.RunID)
	if err != nil {
		runErr = err
		return stop(err)
	}
	// An advertiser TikTok refuses to this token (40001) fails alone: the
	// others are pulled as if it had not been asked for.
	if len(refused) > 0 {
		kept := mine[:0:0]
		for _, id := range mine {
			if err, ok := refused[id]; ok {
				fail(id, "advertiser "+id, err)
				src, code := Classify(err)
				log.Error().Err(err).Str("advertiser", id).Str("source", src).Str("code", code).Str("hint", Hint(err)).Msg("advertiser refused")
				continue
			}
			kept = append(kept, id)
		}
		mine = kept
		if len(mine) == 0 {
			return res, joinFailures(res.Failed)
		}
	}
	if err := s.futureRange(infos, mine, job); err != nil {
		runErr = err
		return res, err
	}
	add := func(windows, rows int) {
		mu.Lock()
		defer mu.Unlock()
		res.Windows += windows
		res.Rows += rows
	}

	// Phase 1: entities, so statistics rows can carry their parents.
	s.opts.Progress.SetPhase(PhaseEntities)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Concurrency)
	for _, id := range mine {
		a := infos[id]
		g.Go(recovered(id, func() error {
			var err error
			if job.Entities {
				a.parents, err = s.entities(gctx, a, job, res.RunID)
			} else if job.Stats {
				a.parents, err = s.parentsFromWarehouse(gctx, id)
			}
			if err != nil {
				if fatal(err) {
					return err
				}
				fail(id, "advertiser "+id+" entities", err)
				src, code := Classify(err)
				log.Error().Err(err).Str("advertiser", id).Str("source", src).Str("code", code).Str("hint", Hint(err)).Msg("entities failed")
			}
			return nil
		}))
	}
	if err := g.Wait(); err != nil {
		return stop(err)
	}
	succeeded := func() {
		for _, id := range mine {
			if !failedAdv[id] {
				res.Succeeded = append(res.Succeeded, id)
			}
		}
	}
	if !job.Stats {
		s.refresh(ctx, log, &res)
		succeeded()
		return res, joinFailures(res.Failed)
	}

	// Phase 2: every stream; windows of one stream in order, streams in parallel.
	touched := &touchedDays{}
	var streams []stream
	for _, id := range mine {
		if infos[id].parents == nil {
			continue // its entities failed; its statistics would lack parents
		}
		for _, gr := range s.opts.Granularities {
			for _, l := range s.opts.Levels {
				streams = append(streams, stream{id, l, gr})
			}
		}
	}
	// Every window is planned before the first is pulled (plan.go).
	plans, already := s.planAll(ctx, streams, infos, job)
	res.AlreadyDone = already
	s.opts.Progress.SetPhase(PhasePull)
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Concurrency)
	for _, st := range streams {
		g.Go(recovered(st.String(), func() error {
			windows, rows, err := s.runStream(gctx, st, infos[st.advertiser], job, res.RunID, touched, plans[st],
				func(err error) { fail(st.advertiser, st.String(), err) })
			add(windows, rows)
			if err != nil {
				if fatal(err) {
					return err
				}
				fail(st.advertiser, st.String(), err)
			}
			return nil
		}))
	}
	if err := g.Wait(); err != nil {
		return stop(err)
	}

	// Superseded versions of the days this run re-pulled are garbage: reclaim
	// them, at most one delete per table, none when nothing was superseded
	// (answers never depended on it).
	s.opts.Progress.SetPhase(PhasePrune)
	for table, span := range touched.days {
		if err := s.loader.PruneDays(ctx, table, span[0].Time(), span[1].Time()); err != nil {
			log.Warn().Err(err).Str("table", table).Msg("pruning superseded versions failed; the next run retries")
		}
	}

	s.refresh(ctx, log, &res)

	// Reconciliation over what this run loaded, and a report of the levels
	// that do not add up on the days it covered.
	s.opts.Progress.SetPhase(PhaseReconcile)
	var spanFrom, spanTo tiktok.Date
	for _, id := range mine {
		from, to := s.span(infos[id], job)
		if spanFrom.IsZero() || from.Before(spanFrom) {
			spanFrom = from
		}
		if to.After(spanTo) {
			spanTo = to
		}
		for _, gr := range s.opts.Granularities {
			if err := s.reconcile(ctx, id, gr, from, to, s.opts.Levels); err != nil {
				log.Warn().Err(err).Msg("reconciliation failed")
			}
		}
	}
	res.Reconciliation, err = Imbalances(ctx, s.conn, ReconcileQuery{
		Target: s.opts.Target, Advertisers: mine, From: spanFrom, To: spanTo,
		Tolerance: s.opts.ReconcileTolerance.Decimal, Now: s.opts.Now(),
	})
	if err != nil {
		log.Warn().Err(err).Msg("reading the reconciliation failed")
	}
	for _, im := range res.Reconciliation {
		log.Warn().Str("advertiser", im.AdvertiserID).Str("report_level", im.Level).Str("granularity", im.Granularity).
			Int("days", im.Days).Str("from", im.From.String()).Str("to", im.To.String()).
			Str("spend_difference", im.Spend.String()).Str("currency", im.Currency).
			Int64("impressions_difference", im.Impressions).Int64("clicks_difference", im.Clicks).
			Str("likely_cause", string(im.Cause)).Msg("levels out of balance (see adhouse reconcile)")
	}
	succeeded()
	c := calls.Calls()
	log.Info().Int("windows", res.Windows).Int("rows", res.Rows).Uint64("api_calls", c.Total()).
		Uint64("retries", c.Retries).Str("calls", c.String()).Int("failed", len(res.Failed)).Msg("run finished")
	return res, joinFailures(res.Failed)
}

// refresh runs Options.Refresh, recording its failure as a part of the run.
func (s *Syncer) refresh(ctx context.Context, log zerolog.Logger, res *Result) {
	if s.opts.Refresh == nil || ctx.Err() != nil {
		return
	}
	s.opts.Progress.SetPhase(PhaseRefresh)
	start := time.Now()
	if err := s.opts.Refresh(ctx); err != nil {
		res.Failed = append(res.Failed, fmt.Sprintf("materialised BI tables: %v", err))
		res.Errors = append(res.Errors, err)
		log.Error().Err(err).Msg("refreshing the materialised BI tables failed; the next run rebuilds what is left")
		return
	}
	log.Debug().Str("took", time.Since(start).Round(time.Millisecond).String()).Msg("materialised BI tables refreshed")
}

// recovered turns a panic in a worker into an error of the run: the daemon's
// panic recovery only covers its own goroutine, not the syncer's workers.
func recovered(what string, fn func() error) func() error {
	return func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("%s: panic: %v\n%s", what, p, debug.Stack())
			}
		}()
		return fn()
	}
}

// warehouseDown tells a failure of the warehouse to answer at all from
// TikTok's network failures (both can be net errors).
func warehouseDown(err error) bool {
	return err != nil && !tiktok.FromTikTok(err) && load.Unreachable(err)
}

// PartsFailedError is a run that went to its end with some parts failed:
// the others were loaded and their checkpoints advanced.
type PartsFailedError struct {
	// Parts says what failed and why, one line each, sorted.
	Parts []string
}

// Error lists the failed parts.
func (e *PartsFailedError) Error() string {
	return fmt.Sprintf("%d of the run's parts failed (checkpoints stay where they were; the next run retries them):\n  %s",
		len(e.Parts), strings.Join(e.Parts, "\n  "))
}

func joinFailures(failed []string) error {
	if len(failed) == 0 {
		return nil
	}
	sort.Strings(failed)
	return &PartsFailedError{Parts: failed}
}

// advertisers reads advertiser info in batches of 100, loads it, and returns
// each advertiser's currency and timezone, and the advertisers TikTok
// refuses to show the token (40001…), each with its error.
func (s *Syncer) advertisers(ctx context.Context, ids []string, job Job, runID string) (map[string]*advertiser, map[string]error, error) {
	out := make(map[string]*advertiser, len(ids))
	refused := map[string]error{}
	var rows []load.Row
	for start := 0; start < len(ids); start += 100 {
		batch := ids[start:min(start+100, len(ids))]
		infos, err := s.api.AdvertiserInfo(ctx, batch)
		if tiktok.AdvertiserRefused(err) && len(batch) > 1 {
			// TikTok refuses the whole batch for one id it will not show
			// this token: ask for each alone to find which.
			infos = nil
			for _, id := range batch {
				one, err := s.api.AdvertiserInfo(ctx, []string{id})
				if tiktok.AdvertiserRefused(err) {
					refused[id] = fmt.Errorf("advertiser info: %w", err)
					continue
				}
				if err != nil {
					return nil, nil, fmt.Errorf("advertiser info: %w", err)
				}
				infos = append(infos, one...)
			}
		} else if tiktok.AdvertiserRefused(err) {
			refused[batch[0]] = fmt.Errorf("advertiser info: %w", err)
		} else if err != nil {
			return nil, nil, fmt.Errorf("advertiser info: %w", err)
		}
		for i := range infos {
			a := &infos[i]
			loc, err := a.Location()
			if err != nil {
				return nil, nil, fmt.Errorf("advertiser %s: timezone %q: %w", a.ID, a.Timezone, err)
			}
			if a.Currency == "" {
				return nil, nil, fmt.Errorf("advertiser %s: advertiser/info returned no currency", a.ID)
			}
			out[a.ID] = &advertiser{id: a.ID, currency: a.Currency, loc: loc}
			rows = append(rows, advertiserRow{a})
		}
	}
	for _, id := range ids {
		if out[id] == nil && refused[id] == nil {
			refused[id] = errNotReturned
		}
	}
	if len(rows) > 0 {
		if err := s.loader.Insert(ctx, advertisersTable, rows); err != nil {
			return nil, nil, err
		}
	}
	return out, refused, nil
}

// span is the range of days a job covers for an advertiser (for reconciliation).
func (s *Syncer) span(a *advertiser, job Job) (tiktok.Date, tiktok.Date) {
	today := tiktok.DateOf(s.opts.Now().In(a.loc))
	if !job.From.IsZero() {
		if job.To.IsZero() || job.To.After(today) {
			return job.From, today
		}
		return job.From, job.To
	}
	if job.TodayOnly {
		return today, today
	}
	return today.AddDays(-s.opts.InitialDays - s.lookback(a.id)), today
}

func (s *Syncer) lookback(advertiserID string) int {
	if d, ok := s.opts.LookbackOverrides[advertiserID]; ok {
		return d
	}
	return s.opts.LookbackDays
}

// plan returns the windows of a stream: from the checkpoint minus lookback
// (or InitialDays back) through today in the advertiser's timezone.
func (s *Syncer) plan(ctx context.Context, st stream, a *advertiser, job Job) ([]tiktok.DateRange, tiktok.Date, error) {
	today := tiktok.DateOf(s.opts.Now().In(a.loc))
	cp, err := s.checkpoint(ctx, st)
	if err != nil {
		return nil, cp, err
	}
	var from, to tiktok.Date
	switch {
	case !job.From.IsZero():
		from, to = job.From, job.To
		if to.IsZero() || to.After(today) {
			to = today
		}
	case job.TodayOnly:
		from, to = today, today
	case cp.IsZero():
		from, to = today.AddDays(1-s.opts.InitialDays), today
	default:
		from, to = cp.AddDays(1-s.lookback(st.advertiser)), today
		if from.After(today) {
			from = today
		}
	}
	if from.After(to) {
		return nil, cp, nil
	}
	days := s.opts.WindowDays
	if st.granularity == tiktok.Hourly {
		days = 1
	}
	return tiktok.Windows(from, to, st.granularity, days), cp, nil
}

// runStream loads the windows of one stream in order and advances its
// checkpoint after each committed window that extends it without a gap. A
// failed window is reported to failed and the later ones still load, but
// the checkpoint stays before the gap, so the next run pulls it again. It
// returns an error only for what stops the stream: a failure no later
// window can get past (fatal, a refused advertiser), or its plan.
func (s *Syncer) runStream(ctx context.Context, st stream, a *advertiser, job Job, runID string, touched *touchedDays, planned *streamPlan, failed func(error)) (windows, rows int, err error) {
	if planned.err != nil {
		return 0, 0, planned.err
	}
	plan, cp, done := planned.windows, planned.cp, planned.done
	table, ok := load.NewStatsTable(st.level.Name(), st.granularity.Name())
	if !ok {
		return 0, 0, errors.New("no warehouse table")
	}
	if len(plan) > 0 {
		touched.add(table.Name, plan[0].Start, plan[len(plan)-1].End)
	}
	gap := false
	for _, w := range plan {
		if done[w] {
			s.opts.Progress.WindowsDone.Add(1)
			continue
		}
		n, err := s.loadWindow(ctx, st, a, table, w, job, runID)
		windows++
		rows += n
		s.opts.Progress.WindowsDone.Add(1)
		if err != nil {
			s.opts.Progress.Failures.Add(1)
			if fatal(err) || tiktok.AdvertiserRefused(err) {
				return windows, rows, err // the windows left would fail the same way
			}
			failed(err)
			gap = true
			continue
		}
		if gap {
			continue // never claim days past a window that failed
		}
		// The checkpoint claims only finished days: today is still changing
		// and is pulled again by every run. It advances only without a gap,
		// and a first run that pulls only today claims nothing, or the
		// history before it would never be pulled.
		through := w.End
		if yesterday := tiktok.DateOf(s.opts.Now().In(a.loc)).AddDays(-1); through.After(yesterday) {
			through = yesterday
		}
		contiguous := (cp.IsZero() && !job.TodayOnly && !through.Before(w.Start)) ||
			(!cp.IsZero() && !w.Start.After(cp.AddDays(1)))
		if contiguous && (cp.IsZero() || through.After(cp)) {
			if err := s.advance(ctx, st, through, runID); err != nil {
				return windows, rows, err
			}
			cp = through
		}
	}
	return windows, rows, nil
}

// loadWindow pulls one window into one load window and commits it, through
// the synchronous report or a report task (pullWindowChoosingPath). A window
// TikTok calls too large (40067) when no task can be used is split in halves,
// each committed on its own; a window whose pages drifted is pulled again.
// Its sync_runs row counts the API requests made for it.
func (s *Syncer) loadWindow(ctx context.Context, st stream, a *advertiser, table load.StatsTable, w tiktok.DateRange, job Job, runID string) (int, error) {
	started := time.Now().UTC()
	// report_level, not level: zerolog's own level key must stay the only one.
	log := s.log.With().Str("advertiser", st.advertiser).Str("report_level", st.level.Name()).
		Str("granularity", st.granularity.Name()).Str("window", w.Start.String()+".."+w.End.String()).Logger()
	outer := ctx
	ctx, calls := tiktok.CountCalls(ctx)
	rec := RunRecord{
		RunID: runID, Job: job.Name, Started: started, AdvertiserID: st.advertiser,
		Level: st.level.Name(), Granularity: st.granularity.Name(), From: w.Start, To: w.End, Outcome: "ok",
	}
	n, how, err := s.pullWindowChoosingPath(ctx, st, a, table, w, runID, log)
	if errors.Is(err, tiktok.ErrQueryTooLarge) && w.Start.Before(w.End) {
		half := w.Start.DaysUntil(w.End) / 2
		log.Warn().Msg("TikTok says the query is too large (40067); splitting the window")
		// This window's row keeps the calls that got 40067; each half has its own.
		rec.Ended, rec.Outcome, rec.Error = time.Now().UTC(), "split", err.Error()
		rec.setCalls(calls.Calls())
		s.logRun(ctx, rec)
		n = 0
		for _, part := range []tiktok.DateRange{{Start: w.Start, End: w.Start.AddDays(half)}, {Start: w.Start.AddDays(half + 1), End: w.End}} {
			pn, perr := s.loadWindow(outer, st, a, table, part, job, runID)
			n += pn
			if perr != nil {
				return n, perr
			}
		}
		return n, nil
	}
	rec.Ended, rec.Rows = time.Now().UTC(), n
	rec.setCalls(calls.Calls())
	if err != nil {
		rec.Outcome, rec.Error = "failed", err.Error()
		if ctx.Err() != nil {
			rec.Outcome = "abandoned"
		}
		// The run log must record the failure even when ctx is cancelled,
		// unless the failure is the warehouse that keeps the log not answering.
		if !warehouseDown(err) && !warehouseDown(context.Cause(ctx)) {
			logCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			s.logRun(logCtx, rec)
			cancel()
		}
		if ctx.Err() != nil {
			// A shutdown, or the run stopped for another part's failure: the
			// run's own line says which; this window is pulled next time.
			log.Debug().Err(err).Msg("window abandoned")
		} else {
			src, code := Classify(err)
			log.Error().Err(err).Str("source", src).Str("code", code).Str("hint", Hint(err)).
				Str("path", how.path).Str("reason", how.reason).Msg("window failed")
		}
		return n, fmt.Errorf("window %s..%s: %w", w.Start, w.End, err)
	}
	s.opts.Progress.Rows.Add(int64(n))
	s.logRun(ctx, rec)
	log.Debug().Int("rows", n).Uint64("api_calls", rec.APICalls).Str("path", how.path).Str("reason", how.reason).Msg("window loaded")
	return n, nil
}

// appendRows is the page callback of both report paths (synchronous pages
// and task files): every row of the page into the load window.
func appendRows(ctx context.Context, lw *load.Window, table load.StatsTable, a *advertiser) func(tiktok.ReportPage) error {
	return func(page tiktok.ReportPage) error {
		for i := range page.Rows {
			if err := lw.Append(ctx, statRow(table, &page.Rows[i], a.currency, a.parents)); err != nil {
				return err
			}
		}
		return nil
	}
}

// pullWindow streams the report pages into a load window and commits it.
func (s *Syncer) pullWindow(ctx context.Context, st stream, a *advertiser, table load.StatsTable, w tiktok.DateRange, runID string) (int, error) {
	lw, err := s.loader.Begin(load.WindowSpec{Table: table.Table, AdvertiserID: st.advertiser, From: w.Start.Time(), To: w.End.Time(), RunID: runID})
	if err != nil {
		return 0, err
	}
	q := tiktok.ReportQuery{
		AdvertiserID: st.advertiser, Level: st.level, Granularity: st.granularity,
		Start: w.Start, End: w.End, Metrics: s.opts.Metrics, Location: a.loc,
	}
	_, err = s.api.StreamReport(ctx, q, appendRows(ctx, lw, table, a))
	if err != nil {
		lw.Abort()
		return lw.Rows(), err
	}
	if err := lw.Commit(ctx); err != nil {
		return lw.Rows(), err
	}
	return lw.Rows(), nil
}

func withParams(ctx context.Context, params map[string]string) context.Context {
	return clickhouse.Context(ctx, clickhouse.WithParameters(params))
}

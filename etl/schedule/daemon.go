// Package schedule runs adhouse as a daemon: sync jobs on cron schedules, a
// health endpoint and Prometheus metrics on a loopback address.
//
// A job never overlaps itself (a run still going when its next tick comes is
// skipped), a panicking job is recovered and counted, and on shutdown the
// daemon stops scheduling, lets the running job finish for a grace period and
// then cancels it: the syncer abandons its current window, which stays
// invisible, and the next run pulls it again.
package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/queries"
)

// Entry is one scheduled job.
type Entry struct {
	Name string
	// Cron is a standard 5-field expression or a descriptor such as @every 10m.
	Cron string
	// Job is the job name the Runner understands: sync, today or entities.
	Job string
}

// Runner runs one job to its end and reports what it did.
type Runner func(ctx context.Context, job string) (extract.Result, error)

// Health checks a dependency for /healthz; nil means healthy.
type Health func(ctx context.Context) error

// Reconciliation reads the levels that do not add up to the advertiser
// totals (extract.Imbalances over the warehouse).
type Reconciliation func(ctx context.Context) ([]extract.Imbalance, error)

// Options configures a [Daemon].
type Options struct {
	Entries  []Entry
	Location *time.Location
	// Listen is the loopback address of /healthz and /metrics; empty serves
	// no HTTP (tests read Handler directly).
	Listen string
	Run    Runner
	// Health, when set, is checked by /healthz (e.g. a ClickHouse ping).
	Health Health
	// Reconciliation, when set, is read at start and after every run; its
	// findings are gauges of /metrics and a list in /healthz.
	Reconciliation Reconciliation
	// ShutdownTimeout bounds the wait for a running job after the daemon is asked to stop.
	ShutdownTimeout time.Duration
	Logger          zerolog.Logger
	// Now is the clock for lag; nil means time.Now.
	Now func() time.Time
	// Limiter, when set, is the TikTok app's rate limiter, whose long
	// pauses /metrics reports (adhouse_api_paused).
	Limiter *tiktok.Limiter
	// Materialised, when set, says at every scrape of /metrics what the
	// materialised BI tables do not reflect yet (queries.Refresher.Pending).
	Materialised func(ctx context.Context) ([]queries.Pending, error)
	// LastSuccess, when set, reads when each advertiser's last fully
	// successful run ended (extract.LastSuccesses over the run log): the
	// lag gauges start from it, so a daemon that restarts and keeps failing
	// still shows the lag growing. Read at start, and before each run until
	// a read succeeds.
	LastSuccess func(ctx context.Context) (map[string]time.Time, error)
}

// Outcomes are the values of adhouse_runs_total's outcome label: ok,
// partial (some advertisers completed, some parts failed), failed,
// interrupted (a shutdown cancelled the run), panic and skipped.
var Outcomes = []string{"ok", "partial", "failed", "interrupted", "panic", "skipped"}

// Daemon runs the schedules and serves health and metrics.
type Daemon struct {
	opts     Options
	reg      *prometheus.Registry
	runs     *prometheus.CounterVec
	rows     *prometheus.CounterVec
	calls    *prometheus.CounterVec
	errs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
	running  *prometheus.GaugeVec
	// Reconciliation gauges, per advertiser, level and granularity.
	unbalancedDays  *prometheus.GaugeVec
	unbalancedSpend *prometheus.GaugeVec

	mu          sync.Mutex
	seeded      bool                 // lastSuccess holds the run log's figures
	lastSuccess map[string]time.Time // advertiser → end of its last fully successful run
	lastRun     map[string]jobStatus // job → last outcome
	imbalances  []imbalanceStatus    // as last read
	reconErr    string               // why the last read failed, if it did
	addr        string
	// The last reading of Materialised, which scrapes reuse for
	// biReadEvery: the comparison reads every commit and every built day.
	biRead    time.Time
	biPending []queries.Pending
	runsEnded uint64 // so a reading begun before a run ended is not kept
}

// biReadEvery is how long one comparison of the materialised BI tables with
// the committed data serves scrapes, unless a run ends first. At 10 million
// ad-days it costs ClickHouse about a second; Prometheus scrapes every 15
// seconds or so. Staleness seconds still count up at every scrape.
const biReadEvery = time.Minute

// imbalanceStatus is one level out of balance as /healthz shows it; amounts
// are exact decimal strings.
type imbalanceStatus struct {
	Advertiser  string `json:"advertiser"`
	Level       string `json:"level"`
	Granularity string `json:"granularity"`
	Days        int    `json:"days"`
	From        string `json:"from"`
	To          string `json:"to"`
	Spend       string `json:"spend_difference"`
	Currency    string `json:"currency"`
	Impressions int64  `json:"impressions_difference"`
	Clicks      int64  `json:"clicks_difference"`
	Cause       string `json:"likely_cause"`
}

type jobStatus struct {
	Outcome  string    `json:"outcome"`
	Finished time.Time `json:"finished"`
	Error    string    `json:"error,omitempty"`
}

// New validates the schedules and prepares the metrics.
func New(opts Options) (*Daemon, error) {
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = config.Default().Serve.ShutdownTimeout
	}
	if opts.Run == nil {
		return nil, errors.New("schedule: no runner")
	}
	opts.Entries = slices.Clone(opts.Entries)
	for i, e := range opts.Entries {
		std, err := config.StandardCron(e.Cron)
		if err != nil {
			return nil, fmt.Errorf("schedule %s: cron %q: %w", e.Name, e.Cron, err)
		}
		opts.Entries[i].Cron = std // Sunday as 7 reads as 0
	}
	d := &Daemon{opts: opts, reg: prometheus.NewRegistry(), lastSuccess: map[string]time.Time{}, lastRun: map[string]jobStatus{},
		imbalances: []imbalanceStatus{}}
	d.runs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "adhouse_runs_total", Help: "Job runs by outcome (ok, partial, failed, interrupted, panic, skipped)."}, []string{"job", "outcome"})
	d.rows = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "adhouse_rows_loaded_total", Help: "Statistics rows loaded."}, []string{"job"})
	d.calls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "adhouse_api_calls_total", Help: "TikTok API requests, retries included, by endpoint and outcome (ok, rate_limited, advertiser_limited, server_error, timeout, transport_error, malformed, api_error, cancelled)."}, []string{"job", "endpoint", "outcome"})
	d.errs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "adhouse_errors_total", Help: "Failed run parts by source (tiktok, clickhouse, other) and code (TikTok's code, the ClickHouse exception code, unreachable…)."}, []string{"job", "source", "code"})
	d.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "adhouse_run_duration_seconds", Help: "Job run durations.", Buckets: prometheus.ExponentialBuckets(1, 2, 14)}, []string{"job"})
	d.running = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "adhouse_job_running", Help: "1 while a job runs."}, []string{"job"})
	d.unbalancedDays = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "adhouse_reconciliation_days_out_of_balance",
		Help: "Finished days on which the level's sums differ from the advertiser totals beyond sync.reconcile_tolerance."}, []string{"advertiser", "level", "granularity"})
	d.unbalancedSpend = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "adhouse_reconciliation_spend_difference",
		Help: "Level minus advertiser spend over those days, in the account currency (approximate: exact figures in `adhouse reconcile`)."}, []string{"advertiser", "level", "granularity", "currency"})
	d.reg.MustRegister(d.runs, d.rows, d.calls, d.errs, d.duration, d.running, d.unbalancedDays, d.unbalancedSpend, lagCollector{d})
	// Every schedule's series exist from start-up, at 0: an alert on an
	// increase or a rate sees the first failure, not a series appearing.
	for _, e := range opts.Entries {
		for _, o := range Outcomes {
			d.runs.WithLabelValues(e.Name, o)
		}
		d.rows.WithLabelValues(e.Name)
		d.running.WithLabelValues(e.Name).Set(0)
	}
	if opts.Limiter != nil {
		d.reg.MustRegister(pauseCollector{opts.Limiter})
	}
	if opts.Materialised != nil {
		d.reg.MustRegister(biCollector{d})
	}
	return d, nil
}

// Addr is the address the HTTP server listens on once Run has started it.
func (d *Daemon) Addr() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.addr
}

// Run schedules the jobs and serves HTTP until ctx ends, then shuts down
// gracefully.
func (d *Daemon) Run(ctx context.Context) error {
	srv := &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 10 * time.Second}
	httpErr := make(chan error, 1)
	if d.opts.Listen != "" {
		ln, err := net.Listen("tcp", d.opts.Listen)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		d.mu.Lock()
		d.addr = ln.Addr().String()
		d.mu.Unlock()
		go func() { httpErr <- srv.Serve(ln) }()
	}

	// Jobs get their own context: shutdown first waits for them, then cancels.
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	logger := cronLogger{d.opts.Logger}
	c := cron.New(cron.WithLocation(d.opts.Location), cron.WithLogger(logger),
		cron.WithChain(cron.Recover(logger)))
	// One token per job, not per schedule: two schedules of the same job
	// (say, hourly and nightly sync) never run it twice at once either.
	tokens := map[string]chan struct{}{}
	for _, e := range d.opts.Entries {
		if tokens[e.Job] == nil {
			tokens[e.Job] = make(chan struct{}, 1)
			tokens[e.Job] <- struct{}{}
		}
	}
	for _, e := range d.opts.Entries {
		job := cron.NewChain(d.skipIfRunning(e, tokens[e.Job]), cron.Recover(panicCounter{d, e, logger})).Then(cron.FuncJob(func() { d.runOnce(jobCtx, e) }))
		if _, err := c.AddJob(e.Cron, job); err != nil {
			return fmt.Errorf("schedule %s: %w", e.Name, err)
		}
	}
	d.seedLastSuccess(ctx)
	d.refreshReconciliation(ctx)
	c.Start()
	d.opts.Logger.Info().Str("listen", d.Addr()).Int("schedules", len(d.opts.Entries)).Msg("daemon running")

	select {
	case <-ctx.Done():
	case err := <-httpErr:
		c.Stop()
		cancelJobs()
		return fmt.Errorf("serve: %w", err)
	}
	d.opts.Logger.Info().Str("grace", d.opts.ShutdownTimeout.String()).Msg("shutting down: no new runs; waiting for the running job")
	stopped := c.Stop()
	select {
	case <-stopped.Done():
	case <-time.After(d.opts.ShutdownTimeout):
		d.opts.Logger.Warn().Msg("grace period over: abandoning the running job's current window")
		cancelJobs()
		<-stopped.Done()
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutCtx)
	return nil
}

// skipIfRunning is cron.SkipIfStillRunning over a token shared by every
// schedule of the same job, and counts the skips.
func (d *Daemon) skipIfRunning(e Entry, ch chan struct{}) cron.JobWrapper {
	return func(j cron.Job) cron.Job {
		return cron.FuncJob(func() {
			select {
			case v := <-ch:
				defer func() { ch <- v }()
				j.Run()
			default:
				d.runs.WithLabelValues(e.Name, "skipped").Inc()
				d.opts.Logger.Info().Str("schedule", e.Name).Msg("previous run still going; skipped")
			}
		})
	}
}

func (d *Daemon) runOnce(ctx context.Context, e Entry) {
	log := d.opts.Logger.With().Str("schedule", e.Name).Str("job", e.Job).Logger()
	d.running.WithLabelValues(e.Name).Set(1)
	defer d.running.WithLabelValues(e.Name).Set(0)
	d.seedLastSuccess(ctx)
	start := time.Now()
	res, err := d.opts.Run(ctx, e.Job)
	d.duration.WithLabelValues(e.Name).Observe(time.Since(start).Seconds())
	d.rows.WithLabelValues(e.Name).Add(float64(res.Rows))
	for k, n := range res.Calls.Counts {
		d.calls.WithLabelValues(e.Name, k.Endpoint, k.Outcome).Add(float64(n))
	}
	now := d.opts.Now()
	d.mu.Lock()
	for _, adv := range res.Succeeded {
		d.lastSuccess[adv] = now
	}
	outcome := res.Outcome(err)
	// A shutdown cancels the running job on purpose: not a failure.
	interrupted := err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled)
	if interrupted {
		outcome = "interrupted"
	}
	st := jobStatus{Outcome: outcome, Finished: now}
	if err != nil {
		st.Error = err.Error()
	}
	d.lastRun[e.Name] = st
	d.biRead = time.Time{} // the run may have committed and refreshed: read afresh
	d.runsEnded++
	d.mu.Unlock()
	d.runs.WithLabelValues(e.Name, outcome).Inc()
	if interrupted {
		log.Warn().Int("rows", res.Rows).Msg("run interrupted by shutdown; the next run pulls what it did not finish")
		return
	}
	d.refreshReconciliation(ctx)
	errs := res.Errors
	if err != nil && len(errs) == 0 {
		errs = []error{err}
	}
	for _, e2 := range errs {
		source, code := extract.Classify(e2)
		d.errs.WithLabelValues(e.Name, source, code).Inc()
	}
	if err != nil {
		ev := log.Error().Err(err).Str("outcome", outcome).Int("failed_parts", len(res.Failed)).
			Int("advertisers_complete", len(res.Succeeded)).Int("advertisers", res.Advertisers)
		if len(errs) > 0 {
			source, code := extract.Classify(errs[0])
			ev = ev.Str("source", source).Str("code", code).Str("hint", extract.Hint(errs[0]))
		}
		if outcome == "partial" {
			ev.Msg("run partly failed")
		} else {
			ev.Msg("run failed")
		}
		return
	}
	log.Info().Int("rows", res.Rows).Uint64("api_calls", res.APICalls).Str("calls", res.Calls.String()).
		Str("took", time.Since(start).Round(time.Millisecond).String()).Msg("run ok")
}

// refreshReconciliation reads the levels out of balance into the gauges and
// /healthz. A failed read keeps the last figures and says why in /healthz.
func (d *Daemon) refreshReconciliation(ctx context.Context) {
	if d.opts.Reconciliation == nil {
		return
	}
	found, err := d.opts.Reconciliation(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		d.reconErr = err.Error()
		d.opts.Logger.Warn().Err(err).Msg("reading the reconciliation failed")
		return
	}
	d.reconErr = ""
	d.unbalancedDays.Reset()
	d.unbalancedSpend.Reset()
	d.imbalances = make([]imbalanceStatus, 0, len(found))
	for _, im := range found {
		d.unbalancedDays.WithLabelValues(im.AdvertiserID, im.Level, im.Granularity).Set(float64(im.Days))
		// A gauge is a float: fine for alerting; the exact amount is in
		// /healthz and `adhouse reconcile`.
		d.unbalancedSpend.WithLabelValues(im.AdvertiserID, im.Level, im.Granularity, im.Currency).Set(im.Spend.InexactFloat64())
		d.imbalances = append(d.imbalances, imbalanceStatus{
			Advertiser: im.AdvertiserID, Level: im.Level, Granularity: im.Granularity, Days: im.Days,
			From: im.From.String(), To: im.To.String(), Spend: im.Spend.String(), Currency: im.Currency,
			Impressions: im.Impressions, Clicks: im.Clicks, Cause: string(im.Cause),
		})
	}
}

// seedLastSuccess fills the lag gauges from the run log, once: a run that
// ended in this process since is newer and wins.
func (d *Daemon) seedLastSuccess(ctx context.Context) {
	if d.opts.LastSuccess == nil {
		return
	}
	d.mu.Lock()
	seeded := d.seeded
	d.mu.Unlock()
	if seeded {
		return
	}
	last, err := d.opts.LastSuccess(ctx)
	if err != nil {
		d.opts.Logger.Warn().Err(err).Msg("reading the last successful runs failed; the lag gauges start at the next run's end (retried before it)")
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for adv, t := range last {
		if t.After(d.lastSuccess[adv]) {
			d.lastSuccess[adv] = t
		}
	}
	d.seeded = true
}

// Handler serves /healthz and /metrics.
func (d *Daemon) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(d.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		body := map[string]any{"status": "ok"}
		code := http.StatusOK
		if d.opts.Health != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			if err := d.opts.Health(ctx); err != nil {
				body["status"], body["error"] = "unhealthy", err.Error()
				code = http.StatusServiceUnavailable
			}
		}
		d.mu.Lock()
		jobs := make(map[string]jobStatus, len(d.lastRun))
		for k, v := range d.lastRun {
			jobs[k] = v
		}
		body["jobs"] = jobs
		if d.opts.Reconciliation != nil {
			// Levels out of balance are findings about TikTok's data, not
			// ill health: they are listed, and the status stays ok.
			body["reconciliation"] = d.imbalances
			if d.reconErr != "" {
				body["reconciliation_error"] = d.reconErr
			}
		}
		d.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body)
	})
	return mux
}

// lagCollector reports, per advertiser, when its last fully successful run
// ended and how long ago that was, computed at scrape time.
type lagCollector struct{ d *Daemon }

var (
	lastSuccessDesc = prometheus.NewDesc("adhouse_last_success_timestamp_seconds", "End of the advertiser's last fully successful run.", []string{"advertiser"}, nil)
	lagDesc         = prometheus.NewDesc("adhouse_lag_seconds", "Seconds since the advertiser's last fully successful run.", []string{"advertiser"}, nil)
)

func (c lagCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- lastSuccessDesc
	ch <- lagDesc
}

func (c lagCollector) Collect(ch chan<- prometheus.Metric) {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	now := c.d.opts.Now()
	for adv, t := range c.d.lastSuccess {
		ch <- prometheus.MustNewConstMetric(lastSuccessDesc, prometheus.GaugeValue, float64(t.UnixMilli())/1000, adv)
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, now.Sub(t).Seconds(), adv)
	}
}

// pauseCollector reports the rate limiter's long pause at scrape time.
type pauseCollector struct{ l *tiktok.Limiter }

var (
	pausedDesc      = prometheus.NewDesc("adhouse_api_paused", "1 while every TikTok request of the app is held by a long rate-limit pause (the limit persisted), else 0.", nil, nil)
	pauseUntilDesc  = prometheus.NewDesc("adhouse_api_pause_until_seconds", "When the current long rate-limit pause ends (Unix seconds); 0 when there is none.", nil, nil)
	pausesTotalDesc = prometheus.NewDesc("adhouse_api_pauses_total", "App-wide rate-limit pauses by kind: short (about a second, after a 40100/40016) and long (the limit persisted).", []string{"kind"}, nil)
)

func (c pauseCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pausedDesc
	ch <- pauseUntilDesc
	ch <- pausesTotalDesc
}

func (c pauseCollector) Collect(ch chan<- prometheus.Metric) {
	p, st := c.l.Pause(), c.l.Stats()
	paused, until := 0.0, 0.0
	if p.Active() {
		paused, until = 1, float64(p.Until.UnixMilli())/1000
	}
	ch <- prometheus.MustNewConstMetric(pausedDesc, prometheus.GaugeValue, paused)
	ch <- prometheus.MustNewConstMetric(pauseUntilDesc, prometheus.GaugeValue, until)
	ch <- prometheus.MustNewConstMetric(pausesTotalDesc, prometheus.CounterValue, float64(st.AppRetryPauses), "short")
	ch <- prometheus.MustNewConstMetric(pausesTotalDesc, prometheus.CounterValue, float64(st.AppPauses), "long")
}

// biCollector reports, per materialised BI table, what it does not reflect
// yet, computed at scrape time from the warehouse: 0 pending days and 0
// seconds once the run that committed the data has refreshed it.
type biCollector struct{ d *Daemon }

var (
	biUpDesc      = prometheus.NewDesc("adhouse_bi_check_up", "1 when the scrape could compare the materialised BI tables with the committed data, 0 when the warehouse did not answer.", nil, nil)
	biPendingDesc = prometheus.NewDesc("adhouse_bi_pending_days", "Days (per advertiser) of committed data or entity names the materialised BI table does not reflect yet.", []string{"table", "reason"}, nil)
	biStaleDesc   = prometheus.NewDesc("adhouse_bi_staleness_seconds", "Seconds since the oldest commit the materialised BI table does not reflect; 0 when it reflects every commit.", []string{"table"}, nil)
)

func (c biCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- biUpDesc
	ch <- biPendingDesc
	ch <- biStaleDesc
}

func (c biCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pending, err := c.d.materialised(ctx)
	if err != nil {
		c.d.opts.Logger.Warn().Err(err).Msg("metrics: comparing the materialised BI tables with the committed data failed")
		ch <- prometheus.MustNewConstMetric(biUpDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(biUpDesc, prometheus.GaugeValue, 1)
	now := c.d.opts.Now()
	for _, p := range pending {
		ch <- prometheus.MustNewConstMetric(biPendingDesc, prometheus.GaugeValue, float64(p.Days-p.Renamed), p.Table, "data")
		ch <- prometheus.MustNewConstMetric(biPendingDesc, prometheus.GaugeValue, float64(p.Renamed), p.Table, "names")
		stale := 0.0
		if !p.Oldest.IsZero() {
			stale = max(now.Sub(p.Oldest).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(biStaleDesc, prometheus.GaugeValue, stale, p.Table)
	}
}

// materialised returns what the materialised BI tables lack, read at most
// once per biReadEvery (wall clock) and after every run. Failures are not
// kept: the next scrape asks again.
func (d *Daemon) materialised(ctx context.Context) ([]queries.Pending, error) {
	d.mu.Lock()
	if !d.biRead.IsZero() && time.Since(d.biRead) < biReadEvery {
		defer d.mu.Unlock()
		return d.biPending, nil
	}
	ended := d.runsEnded
	d.mu.Unlock()
	at := time.Now()
	pending, err := d.opts.Materialised(ctx)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	if d.runsEnded == ended {
		d.biRead, d.biPending = at, pending
	}
	d.mu.Unlock()
	return pending, nil
}

// cronLogger adapts zerolog to cron's logger.
type cronLogger struct{ l zerolog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug().Fields(kv).Msg("cron: " + msg) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error().Err(err).Fields(kv).Msg("cron: " + msg)
}

// panicCounter logs like cron's logger and counts recovered panics.
type panicCounter struct {
	d *Daemon
	e Entry
	cronLogger
}

func (p panicCounter) Error(err error, msg string, kv ...any) {
	p.d.runs.WithLabelValues(p.e.Name, "panic").Inc()
	p.d.running.WithLabelValues(p.e.Name).Set(0)
	p.cronLogger.Error(err, msg, kv...)
}

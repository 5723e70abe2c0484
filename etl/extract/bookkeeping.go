package extract

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/schema"
)

// checkpoint returns the last local day durably loaded for a stream, or a
// zero Date when the stream has never loaded.
func (s *Syncer) checkpoint(ctx context.Context, st stream) (tiktok.Date, error) {
	q := fmt.Sprintf(`SELECT argMax(through_date, version), count() FROM %s.sync_checkpoints
WHERE advertiser_id = ? AND level = ? AND granularity = ?`, s.opts.Target.Database)
	var through time.Time
	var n uint64
	if err := s.conn.QueryRow(ctx, q, st.advertiser, st.level.Name(), st.granularity.Name()).Scan(&through, &n); err != nil {
		return tiktok.Date{}, fmt.Errorf("reading the checkpoint: %w", err)
	}
	if n == 0 {
		return tiktok.Date{}, nil
	}
	return tiktok.DateOf(through), nil
}

var checkpointsTable = load.Table{Name: "sync_checkpoints", Columns: []string{
	"advertiser_id", "level", "granularity", "through_date", "run_id", "version", "updated_at"}}

type checkpointRow struct {
	st      stream
	through tiktok.Date
	runID   string
}

func (c checkpointRow) AppendValues(dst []any) []any {
	return append(dst, c.st.advertiser, c.st.level.Name(), c.st.granularity.Name(), c.through.Time(),
		c.runID, load.NewVersion(), time.Now().UTC())
}

// advance records that every day through `through` is durably loaded. It is
// called only after the window's commit, so a crash before it re-pulls the
// window, and a crash after it loses nothing.
func (s *Syncer) advance(ctx context.Context, st stream, through tiktok.Date, runID string) error {
	if err := s.loader.Insert(ctx, checkpointsTable, []load.Row{checkpointRow{st, through, runID}}); err != nil {
		return fmt.Errorf("advancing the checkpoint to %s: %w", through, err)
	}
	return nil
}

var runsTable = load.Table{Name: "sync_runs", Columns: []string{
	"run_id", "job", "started_at", "ended_at", "advertiser_id", "level", "granularity", "window_from", "window_to",
	"rows", "api_calls", "retries", "api_calls_by_endpoint", "api_calls_by_outcome", "outcome", "error"}}

// RunRecord is one line of the run log: one window of one stream, one
// advertiser's entity lists (Level "entities"), or the run's other API
// requests (Level "run").
type RunRecord struct {
	RunID, Job         string
	Started, Ended     time.Time
	AdvertiserID       string
	Level, Granularity string
	From, To           tiktok.Date
	Rows               int
	APICalls, Retries  uint64
	// CallsByEndpoint and CallsByOutcome break APICalls down.
	CallsByEndpoint, CallsByOutcome map[string]uint64
	Outcome, Error                  string
}

// setCalls records the API requests of the line.
func (r *RunRecord) setCalls(c tiktok.Calls) {
	r.APICalls, r.Retries = c.Total(), c.Retries
	r.CallsByEndpoint, r.CallsByOutcome = c.ByEndpoint(), c.ByOutcome()
}

// AppendValues implements load.Row.
func (r RunRecord) AppendValues(dst []any) []any {
	byEndpoint, byOutcome := r.CallsByEndpoint, r.CallsByOutcome
	if byEndpoint == nil {
		byEndpoint = map[string]uint64{}
	}
	if byOutcome == nil {
		byOutcome = map[string]uint64{}
	}
	return append(dst, r.RunID, r.Job, r.Started, r.Ended, r.AdvertiserID, r.Level, r.Granularity,
		r.From.Time(), r.To.Time(), uint64(r.Rows), r.APICalls, r.Retries, byEndpoint, byOutcome, r.Outcome, r.Error)
}

// logRun writes the run log line; a failure to log is reported, never fatal
// on its own, because the data it describes is already safe.
func (s *Syncer) logRun(ctx context.Context, r RunRecord) {
	if err := s.loader.Insert(ctx, runsTable, []load.Row{r}); err != nil {
		s.log.Warn().Err(err).Str("advertiser", r.AdvertiserID).Msg("could not write the run log")
	}
}

// logRunCalls writes the run's own line (Level "run"): the API requests no
// window or entities line counts, such as advertiser info and discovery,
// with the failure of those calls if they failed. A run without such
// requests writes none.
func (s *Syncer) logRunCalls(ctx context.Context, runID string, job Job, started time.Time, own tiktok.Calls, err error) {
	if own.Total() == 0 {
		return
	}
	day := tiktok.DateOf(started)
	r := RunRecord{RunID: runID, Job: job.Name, Started: started, Ended: time.Now().UTC(), Level: "run",
		From: day, To: day, Outcome: "ok"}
	r.setCalls(own)
	if err != nil {
		r.Outcome, r.Error = "failed", err.Error()
	}
	if ctx.Err() != nil {
		r.Outcome = "abandoned"
	}
	logCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	s.logRun(logCtx, r)
}

// completedWindows returns the windows of a stream that an earlier run of the
// same job finished, so a resumed backfill skips them.
func (s *Syncer) completedWindows(ctx context.Context, st stream, job string) (map[tiktok.DateRange]bool, error) {
	q := fmt.Sprintf(`SELECT DISTINCT window_from, window_to FROM %s.sync_runs
WHERE job = ? AND advertiser_id = ? AND level = ? AND granularity = ? AND outcome = 'ok'`, s.opts.Target.Database)
	rows, err := s.conn.Query(ctx, q, job, st.advertiser, st.level.Name(), st.granularity.Name())
	if err != nil {
		return nil, fmt.Errorf("reading the run log: %w", err)
	}
	defer rows.Close()
	done := map[tiktok.DateRange]bool{}
	for rows.Next() {
		var from, to time.Time
		if err := rows.Scan(&from, &to); err != nil {
			return nil, err
		}
		done[tiktok.DateRange{Start: tiktok.DateOf(from), End: tiktok.DateOf(to)}] = true
	}
	return done, rows.Err()
}

//go:embed sql/last_success.sql
var lastSuccessSQL string

// LastSuccesses reads from the run log (sync_runs) when each advertiser's
// last fully successful run ended: the daemon seeds its lag gauges with it
// at start-up, so a daemon that restarts and keeps failing still shows the
// lag growing.
func LastSuccesses(ctx context.Context, conn driver.Conn, target schema.Target) (map[string]time.Time, error) {
	rows, err := conn.Query(ctx, fmt.Sprintf(lastSuccessSQL, target.Database))
	if err != nil {
		return nil, fmt.Errorf("reading the last successful runs from sync_runs: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var adv string
		var t time.Time
		if err := rows.Scan(&adv, &t); err != nil {
			return nil, fmt.Errorf("reading the last successful runs from sync_runs: %w", err)
		}
		out[adv] = t
	}
	return out, rows.Err()
}

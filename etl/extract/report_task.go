package extract

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/tiktok"
)

// DefaultAsyncReportThreshold is the number of ads from which an advertiser's
// windows go through asynchronous report tasks: TikTok truncates the
// synchronous report of an account with 20,000 ads or more.
const DefaultAsyncReportThreshold = tiktok.SyncReportMaxAds

// Report paths, as the log names them.
const (
	pathSync  = "sync"
	pathAsync = "async"
)

// maxFileAttempts bounds the downloads of one task's file.
const maxFileAttempts = 3

// pathChoice says how a window was pulled and why.
type pathChoice struct {
	path, reason string
}

// asyncReason returns why the advertiser's windows should start with a
// report task, or "" to start with the synchronous report (fewer calls).
func (s *Syncer) asyncReason(a *advertiser) string {
	if why, ok := s.asyncAdvertisers.Load(a.id); ok {
		return why.(string)
	}
	if th := s.opts.AsyncReportThreshold; th > 0 && a.parents != nil && len(a.parents.adCampaign) >= th {
		return fmt.Sprintf("the advertiser has %d ads, at least sync.async_report_threshold (%d); TikTok truncates the synchronous report of such accounts",
			len(a.parents.adCampaign), th)
	}
	return ""
}

// pullWindowChoosingPath pulls a window through the synchronous report, or
// through an asynchronous report task when the advertiser is known to be too
// large for it, when TikTok answers 40067, or when the report comes back
// truncated (X-Tt-Ads-Throttle). Both paths load the same rows into the same
// kind of load window. If TikTok refuses report tasks (an app not on the
// allowlist), later windows stay synchronous; a 40067 is then returned for
// the caller to split the window, and a truncation is an error.
func (s *Syncer) pullWindowChoosingPath(ctx context.Context, st stream, a *advertiser, table load.StatsTable, w tiktok.DateRange, runID string, log zerolog.Logger) (int, pathChoice, error) {
	if why := s.asyncReason(a); why != "" && !s.noReportTasks.Load() {
		n, err := s.pullWindowAsync(ctx, st, a, table, w, runID, why, log)
		if !errors.Is(err, tiktok.ErrReportTasksUnavailable) {
			return n, pathChoice{pathAsync, why}, err
		}
		s.noReportTasks.Store(true)
		log.Warn().Err(err).Msg("asynchronous report tasks are not available to this app; trying the synchronous report, which fails if truncated")
	}
	var n int
	var err error
	for attempt := 0; ; attempt++ {
		n, err = s.pullWindow(ctx, st, a, table, w, runID)
		var drift *tiktok.PaginationDriftError
		if errors.As(err, &drift) && attempt < 3 {
			log.Warn().Err(err).Msg("the report changed while paging; pulling the window again")
			continue
		}
		break
	}
	why := ""
	switch {
	case errors.Is(err, tiktok.ErrReportTruncated):
		why = "the synchronous report came back truncated (" + tiktok.AdsThrottleHeader + ")"
		// Every later window of the advertiser would be truncated too.
		s.asyncAdvertisers.Store(a.id, why)
	case errors.Is(err, tiktok.ErrQueryTooLarge):
		why = "TikTok answered 40067 (query too large) to the synchronous report"
	}
	if why == "" {
		return n, pathChoice{pathSync, ""}, err
	}
	if s.noReportTasks.Load() {
		if errors.Is(err, tiktok.ErrReportTruncated) {
			err = fmt.Errorf("%w; asynchronous report tasks, which are not truncated, are not available to this app (TikTok's allowlist)", err)
		}
		return n, pathChoice{pathSync, ""}, err
	}
	log.Info().Str("reason", why).Msg("pulling the window through an asynchronous report task instead")
	an, aerr := s.pullWindowAsync(ctx, st, a, table, w, runID, why, log)
	if errors.Is(aerr, tiktok.ErrReportTasksUnavailable) {
		s.noReportTasks.Store(true)
		log.Warn().Err(aerr).Msg("asynchronous report tasks are not available to this app")
		if errors.Is(err, tiktok.ErrQueryTooLarge) {
			return n, pathChoice{pathSync, ""}, err // split by the caller
		}
		return an, pathChoice{pathAsync, why}, fmt.Errorf("%w, and %w", err, aerr)
	}
	return an, pathChoice{pathAsync, why}, aerr
}

// pullWindowAsync creates a report task for the window, waits for it and
// streams its file into a load window, exactly as pullWindow streams the
// synchronous pages: the same rows, one atomic replace at commit. A transfer
// cut short aborts its load window and the file is downloaded again.
func (s *Syncer) pullWindowAsync(ctx context.Context, st stream, a *advertiser, table load.StatsTable, w tiktok.DateRange, runID, why string, log zerolog.Logger) (int, error) {
	q := tiktok.ReportQuery{
		AdvertiserID: st.advertiser, Level: st.level, Granularity: st.granularity,
		Start: w.Start, End: w.End, Metrics: s.opts.Metrics, Location: a.loc,
	}
	// The calls are counted by the window's context (tiktok.CountCalls).
	task, _, err := s.tasks.Create(ctx, q)
	if err != nil {
		return 0, err
	}
	log = log.With().Str("task_id", task.ID).Logger()
	if _, err := s.tasks.Wait(ctx, task); err != nil {
		return 0, err
	}
	waited := time.Since(task.Created)
	for attempt := 1; ; attempt++ {
		lw, err := s.loader.Begin(load.WindowSpec{Table: table.Table, AdvertiserID: st.advertiser, From: w.Start.Time(), To: w.End.Time(), RunID: runID})
		if err != nil {
			return 0, err
		}
		_, err = s.tasks.Download(ctx, task, appendRows(ctx, lw, table, a))
		if err != nil {
			lw.Abort()
			if errors.Is(err, tiktok.ErrReportFileIncomplete) && attempt < maxFileAttempts && ctx.Err() == nil {
				log.Warn().Err(err).Int("attempt", attempt).Msg("the report file was cut short; downloading it again")
				continue
			}
			return lw.Rows(), err
		}
		if err := lw.Commit(ctx); err != nil {
			return lw.Rows(), err
		}
		log.Info().Str("path", pathAsync).Str("reason", why).Int("rows", lw.Rows()).Str("task_wait", waited.Round(time.Millisecond).String()).
			Msg("window pulled through an asynchronous report task")
		return lw.Rows(), nil
	}
}

package extract

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/adhouse/adhouse/etl/tiktok"
)

// Phase names what a run is doing, for progress bars and progress lines.
type Phase string

// The phases of a run, in order. A run without statistics (the entities
// job) has only the first and the last.
const (
	PhaseStart     Phase = "start"     // advertiser info
	PhaseEntities  Phase = "entities"  // campaigns, ad groups and ads
	PhasePlan      Phase = "plan"      // every stream's windows, before any is pulled
	PhasePull      Phase = "pull"      // the statistics windows
	PhasePrune     Phase = "prune"     // superseded versions of re-pulled days
	PhaseRefresh   Phase = "refresh"   // the materialised BI tables
	PhaseReconcile Phase = "reconcile" // levels against advertiser totals
	PhaseDone      Phase = "done"
)

// SetPhase records the run's phase: the Syncer sets it as the run goes;
// progress displays read it with Phase (and their tests set it).
func (p *Progress) SetPhase(ph Phase) { p.phase.Store(&ph) }

// Phase returns the run's current phase ("" before the run starts).
func (p *Progress) Phase() Phase {
	if ph := p.phase.Load(); ph != nil {
		return *ph
	}
	return ""
}

// streamPlan is one stream's windows, planned before any window of the run
// is pulled: the progress total is then known and never grows.
type streamPlan struct {
	windows []tiktok.DateRange
	cp      tiktok.Date
	// done holds the windows an earlier run of the same backfill completed.
	done map[tiktok.DateRange]bool
	err  error
}

// planAll plans every stream (checkpoints and completed windows read from
// the warehouse, a few at a time), then sets the progress total once. A
// stream whose plan fails keeps the error, for runStream to report as that
// stream's failure. It returns the plans and the windows an earlier run of
// the same job completed.
func (s *Syncer) planAll(ctx context.Context, streams []stream, infos map[string]*advertiser, job Job) (map[stream]*streamPlan, int) {
	s.opts.Progress.SetPhase(PhasePlan)
	plans := make(map[stream]*streamPlan, len(streams))
	var mu sync.Mutex
	var g errgroup.Group
	g.SetLimit(s.opts.Concurrency)
	for _, st := range streams {
		g.Go(func() error {
			p := &streamPlan{}
			p.windows, p.cp, p.err = s.plan(ctx, st, infos[st.advertiser], job)
			if p.err == nil && !job.From.IsZero() && !job.Force {
				p.done, p.err = s.completedWindows(ctx, st, job.Name)
			}
			mu.Lock()
			plans[st] = p
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()
	var total, already int
	for _, p := range plans {
		total += len(p.windows)
		for _, w := range p.windows {
			if p.done[w] {
				already++
			}
		}
	}
	s.opts.Progress.Windows.Add(int64(total))
	return plans, already
}

// FutureRangeError is a date range that starts after today in the
// advertiser's timezone: TikTok has nothing for it yet, and a run that
// pulled zero windows without a word would look like success.
type FutureRangeError struct {
	From, To, Today tiktok.Date
	Advertiser      string
	Timezone        string
}

func (e *FutureRangeError) Error() string {
	rng := e.From.String() + ".."
	if !e.To.IsZero() {
		rng += e.To.String()
	}
	return fmt.Sprintf("the range %s is entirely in the future: today is %s in advertiser %s's timezone (%s); nothing to pull yet",
		rng, e.Today, e.Advertiser, e.Timezone)
}

// futureRange returns a [FutureRangeError] when job's range starts after
// today for every advertiser (for some only, those get no windows).
func (s *Syncer) futureRange(infos map[string]*advertiser, ids []string, job Job) error {
	if job.From.IsZero() || len(ids) == 0 {
		return nil
	}
	var first *FutureRangeError
	for _, id := range ids {
		a := infos[id]
		t := tiktok.DateOf(s.opts.Now().In(a.loc))
		if !job.From.After(t) {
			return nil
		}
		if first == nil {
			first = &FutureRangeError{From: job.From, To: job.To, Today: t, Advertiser: id, Timezone: a.loc.String()}
		}
	}
	return first
}

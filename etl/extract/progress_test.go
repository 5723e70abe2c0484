package extract_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim/simtest"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
)

// progressSample is what a progress bar saw at one moment.
type progressSample struct {
	phase extract.Phase
	snap  extract.ProgressSnapshot
}

// watchProgress samples p as fast as it can until stop is closed.
func watchProgress(p *extract.Progress, stop <-chan struct{}) <-chan []progressSample {
	out := make(chan []progressSample, 1)
	go func() {
		var samples []progressSample
		for {
			select {
			case <-stop:
				samples = append(samples, progressSample{p.Phase(), p.Snapshot()})
				out <- samples
				return
			default:
			}
			samples = append(samples, progressSample{p.Phase(), p.Snapshot()})
			time.Sleep(200 * time.Microsecond) // sampling pace only; nothing waits on it
		}
	}()
	return out
}

// TestProgressTotalKnownBeforePullAndNeverGrows: a backfill of several
// advertisers, levels and granularities plans every window before it pulls
// one, so the progress total is set once, before the pull phase, and the
// share done never goes backwards; the phases come in order and the run
// ends with done equal to the total. It runs twice: a first sync (with
// entities) and a resumed backfill.
func TestProgressTotalKnownBeforePullAndNeverGrows(t *testing.T) {
	ctx := context.Background()
	srv := simtest.Start(t, simConfig())
	conn, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
	grans := []tiktok.Granularity{tiktok.Daily, tiktok.Hourly}
	today := tiktok.DateOf(srv.Now())
	for _, job := range []extract.Job{
		{Name: "sync", Entities: true, Stats: true},
		extract.Backfill(today.AddDays(-40), today.AddDays(-1)),
	} {
		t.Run(job.Name, func(t *testing.T) {
			progress := &extract.Progress{}
			s := newSyncerWith(t, srv, conn, cfg, grans, 10, progress)
			stop := make(chan struct{})
			samples := watchProgress(progress, stop)
			res, err := s.Run(ctx, srv.AdvertiserIDs(), job)
			close(stop)
			require.NoError(t, err)
			seen := <-samples
			require.Greater(t, len(seen), 10, "samples")

			order := map[extract.Phase]int{"": 0, extract.PhaseStart: 1, extract.PhaseEntities: 2, extract.PhasePlan: 3,
				extract.PhasePull: 4, extract.PhasePrune: 5, extract.PhaseRefresh: 6, extract.PhaseReconcile: 7, extract.PhaseDone: 8}
			var total int64 = -1
			last, lastDone := 0, int64(0)
			for i, sm := range seen {
				rank, ok := order[sm.phase]
				require.True(t, ok, "unknown phase %q", sm.phase)
				require.GreaterOrEqual(t, rank, last, "sample %d: phase %s after a later one", i, sm.phase)
				last = rank
				require.GreaterOrEqual(t, sm.snap.WindowsDone, lastDone, "sample %d: windows done went backwards", i)
				lastDone = sm.snap.WindowsDone
				require.LessOrEqual(t, sm.snap.WindowsDone, max(sm.snap.Windows, 0), "sample %d: done beyond the total", i)
				if rank >= order[extract.PhasePull] {
					if total < 0 {
						total = sm.snap.Windows
					}
					require.Equal(t, total, sm.snap.Windows, "sample %d (%s): the total changed during the run", i, sm.phase)
				} else if rank < order[extract.PhasePlan] {
					require.Zero(t, sm.snap.Windows, "sample %d: a total before planning", i)
					require.Zero(t, sm.snap.WindowsDone)
				}
			}
			final := seen[len(seen)-1]
			require.Equal(t, extract.PhaseDone, final.phase)
			require.Positive(t, final.snap.Windows)
			require.Equal(t, final.snap.Windows, final.snap.WindowsDone, "the run ends with every window done")
			require.Equal(t, int(final.snap.Windows), res.Windows+res.AlreadyDone)
		})
	}
}

// TestFinishedBackfillSaysAlreadyDone: running a finished backfill range
// again pulls nothing and says so (AlreadyDone counts every window), and
// Force pulls it whole.
func TestFinishedBackfillSaysAlreadyDone(t *testing.T) {
	ctx := context.Background()
	srv := simtest.Start(t, simConfig())
	conn, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
	grans := []tiktok.Granularity{tiktok.Daily}
	s := newSyncer(t, srv, conn, cfg, grans, 10)
	today := tiktok.DateOf(srv.Now())
	job := extract.Backfill(today.AddDays(-20), today.AddDays(-10))
	first, err := s.Run(ctx, srv.AdvertiserIDs(), job)
	require.NoError(t, err)
	require.Positive(t, first.Windows)
	require.Zero(t, first.AlreadyDone)

	again, err := s.Run(ctx, srv.AdvertiserIDs(), job)
	require.NoError(t, err)
	require.Zero(t, again.Windows, "nothing pulled again")
	require.Equal(t, first.Windows, again.AlreadyDone)

	job.Force = true
	forced, err := s.Run(ctx, srv.AdvertiserIDs(), job)
	require.NoError(t, err)
	require.Equal(t, first.Windows, forced.Windows)
	require.Zero(t, forced.AlreadyDone)
}

// TestFutureRangeIsAnError: a range that starts after today in the
// advertisers' timezone fails, naming the range and today there, instead
// of succeeding with zero windows; a range reaching today still runs.
func TestFutureRangeIsAnError(t *testing.T) {
	ctx := context.Background()
	srv := simtest.Start(t, simConfig())
	conn, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
	s := newSyncer(t, srv, conn, cfg, []tiktok.Granularity{tiktok.Daily}, 10)
	ids := srv.AdvertiserIDs()
	info, ok := srv.Advertiser(ids[0])
	require.True(t, ok)
	loc, err := info.Location()
	require.NoError(t, err)
	today := tiktok.DateOf(srv.Now().In(loc))

	for _, job := range []extract.Job{
		extract.Backfill(today.AddDays(30), today.AddDays(40)),
		extract.SyncFrom(today.AddDays(5), false),
	} {
		res, err := s.Run(ctx, ids[:1], job)
		var fe *extract.FutureRangeError
		require.True(t, errors.As(err, &fe), "%s: err = %v", job.Name, err)
		require.Zero(t, res.Windows)
		require.Contains(t, err.Error(), job.From.String())
		require.Contains(t, err.Error(), "today is "+today.String())
		require.Contains(t, err.Error(), info.Timezone)
	}
	res, err := s.Run(ctx, ids[:1], extract.Backfill(today.AddDays(-1), today.AddDays(40)))
	require.NoError(t, err)
	require.Equal(t, 4, res.Windows, "yesterday and today, at four levels")
}

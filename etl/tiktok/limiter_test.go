package tiktok_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
)

// arrivals records when requests reach a handler.
type arrivals struct {
	mu    sync.Mutex
	times []time.Time
	next  http.Handler
}

func (a *arrivals) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.times = append(a.times, time.Now())
	a.mu.Unlock()
	a.next.ServeHTTP(w, r)
}

// maxInWindow returns the largest number of arrivals within any window of
// length d (a sliding window, stricter than per-second buckets).
func (a *arrivals) maxInWindow(d time.Duration) int {
	a.mu.Lock()
	ts := slices.Clone(a.times)
	a.mu.Unlock()
	slices.SortFunc(ts, func(x, y time.Time) int { return x.Compare(y) })
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= d {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

func TestTiers(t *testing.T) {
	tests := []struct {
		name     string
		qps, qpm int
	}{{"basic", 10, 600}, {"Advanced", 20, 1200}, {"PREMIUM", 30, 1800}, {"ultimate", 50, 3000}}
	for _, tc := range tests {
		tier, err := tiktok.ParseTier(tc.name)
		if err != nil || tier.QPS != tc.qps || tier.QPM != tc.qpm {
			t.Errorf("ParseTier(%s) = %+v, %v", tc.name, tier, err)
		}
		l := tiktok.NewLimiter(tiktok.LimiterFor(tier))
		if got := l.Config(); got.QPS != tc.qps || got.QPM != tc.qpm || got.AppPause != tiktok.DefaultAppPause {
			t.Errorf("limiter config %+v", got)
		}
	}
	if _, err := tiktok.ParseTier("gold"); err == nil {
		t.Error("unknown tier accepted")
	}
}

// TestSharedLimiterKeepsAppUnderQPS runs several advertisers, each with its
// own Client, in parallel through one Limiter, against a simulator that
// enforces the app's QPS like production. In virtual time (synctest), the
// arrivals at the simulator never exceed the limit in any one-second window,
// and the calls take exactly as long as the limit requires.
func TestSharedLimiterKeepsAppUnderQPS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const qps, advertisers, callsEach = 20, 5, 9
		sim := tiktoksim.New(tiktoksim.Config{Advertisers: advertisers, QPS: qps, QPM: qps * 60})
		rec := &arrivals{next: sim}
		shared := tiktok.NewLimiter(tiktok.LimiterConfig{QPS: qps, QPM: qps * 60, AppPause: 50 * time.Millisecond})
		g, ctx := errgroup.WithContext(context.Background())
		start := time.Now()
		for _, adv := range sim.AdvertiserIDs() {
			opts := inProcessOptions(rec, sim.AccessToken())
			opts.Limiter = shared
			c := newClient(t, opts)
			g.Go(func() error {
				for i := 0; i < callsEach; i++ {
					if _, err := c.Campaigns(ctx, adv); err != nil {
						return err
					}
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}
		elapsed := time.Since(start)
		total := advertisers * callsEach
		peak := rec.maxInWindow(time.Second)
		t.Logf("%d calls in %s of virtual time, peak %d in any 1s window (limit %d)", total, elapsed, peak, qps)
		if peak > qps {
			t.Errorf("peak %d requests in one second, limit %d", peak, qps)
		}
		if th := sim.Stats().Throttled; th != 0 {
			t.Errorf("simulator throttled %d requests", th)
		}
		if len(rec.times) != total {
			t.Errorf("%d requests for %d calls", len(rec.times), total)
		}
		if min := time.Duration(total-qps) * time.Second / qps; elapsed < min {
			t.Errorf("%d calls took %s, faster than the limit allows (%s)", total, elapsed, min)
		}
	})
}

// TestPrivateLimitersGetThrottled is the control: the same load with one
// limiter per client exceeds the app's budget and the simulator answers 40100.
func TestPrivateLimitersGetThrottled(t *testing.T) {
	synctest.Test(t, testPrivateLimitersGetThrottled)
}

func testPrivateLimitersGetThrottled(t *testing.T) {
	const qps = 20
	sim := tiktoksim.New(tiktoksim.Config{Advertisers: 5, QPS: qps, QPM: qps * 60})
	g, ctx := errgroup.WithContext(context.Background())
	var mu sync.Mutex
	var limited uint64
	for _, adv := range sim.AdvertiserIDs() {
		opts := inProcessOptions(sim, sim.AccessToken())
		opts.Limiter = tiktok.NewLimiter(tiktok.LimiterConfig{QPS: qps, QPM: qps * 60, AppPause: 20 * time.Millisecond})
		c := newClient(t, opts)
		g.Go(func() error {
			defer func() {
				mu.Lock()
				limited += c.Stats().RateLimited
				mu.Unlock()
			}()
			for i := 0; i < 6; i++ {
				// Running out of retries on 40100 is the expected outcome of
				// ignoring the shared budget; anything else is a failure.
				if _, err := c.Campaigns(ctx, adv); err != nil && !errors.Is(err, tiktok.ErrRateLimited) {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if sim.Stats().Throttled == 0 || limited == 0 {
		t.Errorf("five private limiters at the full QPS were not throttled (server %d, clients %d)", sim.Stats().Throttled, limited)
	}
}

func TestLimiterBurstWindow(t *testing.T) {
	synctest.Test(t, testLimiterBurstWindow)
}

func testLimiterBurstWindow(t *testing.T) {
	const qps, burst, n = 40, 8, 90
	l := tiktok.NewLimiter(tiktok.LimiterConfig{QPS: qps, QPM: -1, Burst: burst})
	rec := &arrivals{}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.Wait(context.Background(), fmt.Sprint(i%3)); err != nil {
				t.Error(err)
				return
			}
			rec.mu.Lock()
			rec.times = append(rec.times, time.Now())
			rec.mu.Unlock()
		}()
	}
	wg.Wait()
	if peak := rec.maxInWindow(time.Second); peak > qps {
		t.Errorf("peak %d grants in one second with burst %d, limit %d", peak, burst, qps)
	}
	if st := l.Stats(); st.Granted != n {
		t.Errorf("granted %d, want %d", st.Granted, n)
	}
}

func TestLimiterWaitRespectsDeadline(t *testing.T) {
	synctest.Test(t, testLimiterWaitRespectsDeadline)
}

func testLimiterWaitRespectsDeadline(t *testing.T) {
	l := tiktok.NewLimiter(tiktok.LimiterConfig{QPS: 1, QPM: -1, Margin: -1})
	if err := l.Wait(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := l.Wait(ctx, ""); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d != 0 {
		t.Errorf("Wait slept %s although the slot was past the deadline", d)
	}
	if st := l.Stats(); st.Granted != 1 {
		t.Errorf("a refused wait consumed a slot: %+v", st)
	}
}

// TestRateLimitPausesWholeApp: after one advertiser's 40100, requests of
// every client sharing the limiter wait for the short app pause (the
// per-second limit is per app), and no long pause starts.
func TestRateLimitPausesWholeApp(t *testing.T) {
	synctest.Test(t, testRateLimitPausesWholeApp)
}

func testRateLimitPausesWholeApp(t *testing.T) {
	const pause = 300 * time.Millisecond
	var mu sync.Mutex
	var arrived []time.Time
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrived = append(arrived, time.Now())
		mu.Unlock()
		if n == 0 {
			codeFailure(40100)(w, r)
			return
		}
		fmt.Fprint(w, `{"code":0,"message":"OK","request_id":"x","data":{"list":[],"page_info":{"page":1,"page_size":1000,"total_number":0,"total_page":0}}}`)
	})
	shared := tiktok.NewLimiter(tiktok.LimiterConfig{QPS: -1, QPM: -1, AppRetryPause: pause, AppPause: time.Hour})
	mk := func() *tiktok.Client {
		opts := inProcessOptions(srv, "tok-123456")
		opts.Limiter = shared
		return newClient(t, opts)
	}
	a, b := mk(), mk()
	errA := make(chan error, 1)
	go func() { _, err := a.Campaigns(context.Background(), "A"); errA <- err }()
	synctest.Wait()
	if st := shared.Stats(); st.AppRetryPauses != 1 || st.AppPauses != 0 {
		t.Fatalf("after A's 40100 want one short app pause and no long one: %+v", st)
	}
	pausedAt := time.Now()
	if _, err := b.Campaigns(context.Background(), "B"); err != nil {
		t.Fatal(err)
	}
	waited := time.Since(pausedAt)
	if waited < pause || waited > pause*5/4 {
		t.Errorf("advertiser B went through %s after A's 40100; the app pause is %s plus up to a quarter of jitter", waited, pause)
	}
	if err := <-errA; err != nil {
		t.Fatal(err)
	}
	if st := a.Stats(); st.RateLimited != 1 || st.Retries != 1 {
		t.Errorf("A stats %+v", st)
	}
	if p := shared.Pause(); p.Active() {
		t.Errorf("a single 40100 reported as a long pause: %+v", p)
	}
}

// TestAdvertiserLimitSlowsOnlyThatAdvertiser: 40133 pauses advertiser A;
// advertiser B on the same limiter is not held back.
func TestAdvertiserLimitSlowsOnlyThatAdvertiser(t *testing.T) {
	synctest.Test(t, testAdvertiserLimitSlowsOnlyThatAdvertiser)
}

func testAdvertiserLimitSlowsOnlyThatAdvertiser(t *testing.T) {
	const pause = 400 * time.Millisecond
	var mu sync.Mutex
	aTimes := []time.Time{}
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		adv := r.URL.Query().Get("advertiser_id")
		mu.Lock()
		if adv == "A" {
			aTimes = append(aTimes, time.Now())
		}
		first := adv == "A" && len(aTimes) == 1
		mu.Unlock()
		if first {
			codeFailure(40133)(w, r)
			return
		}
		fmt.Fprint(w, `{"code":0,"message":"OK","request_id":"x","data":{"list":[],"page_info":{"page":1,"page_size":1000,"total_number":0,"total_page":0}}}`)
	})
	shared := tiktok.NewLimiter(tiktok.LimiterConfig{QPS: -1, QPM: -1, AdvertiserPause: pause})
	mk := func() *tiktok.Client {
		opts := inProcessOptions(srv, "tok-123456")
		opts.Limiter = shared
		return newClient(t, opts)
	}
	a, b := mk(), mk()
	errA := make(chan error, 1)
	go func() { _, err := a.Campaigns(context.Background(), "A"); errA <- err }()
	synctest.Wait()
	if shared.Stats().AdvertiserPauses != 1 {
		t.Fatalf("no advertiser pause after A's 40133: %+v", shared.Stats())
	}
	start := time.Now()
	if _, err := b.Campaigns(context.Background(), "B"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d != 0 {
		t.Errorf("advertiser B waited %s while only A was limited", d)
	}
	if err := <-errA; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(aTimes) != 2 || aTimes[1].Sub(aTimes[0]) < pause {
		t.Errorf("A retried after %s, want ≥ %s", aTimes[len(aTimes)-1].Sub(aTimes[0]), pause)
	}
}

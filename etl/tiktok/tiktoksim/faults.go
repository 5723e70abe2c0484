package tiktoksim

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/adhouse/adhouse/etl/tiktok"
)

// Faults configures injected failures. Rates are probabilities per request
// (0 to 1). Whether a request fails is decided from a hash of (Seed, the
// request's method, path, parameters and body, and how many times that exact
// request was seen before), so a run is reproducible even with concurrent
// clients, and a retried request gets a fresh draw.
type Faults struct {
	Seed uint64
	// RateLimitRate answers 40100 (app limit) to single requests, at random,
	// TooFrequentRate 40016, and AdvertiserLimitRate 40133 (per-advertiser
	// limit).
	RateLimitRate       float64
	TooFrequentRate     float64
	AdvertiserLimitRate float64
	// SystemErrorRate answers 50000 or 50002; MaintenanceRate 60001.
	SystemErrorRate float64
	MaintenanceRate float64
	// HTTPErrorRate answers HTTP 502/503/504 with an HTML body.
	HTTPErrorRate float64
	// SlowRate delays a response by SlowDelay (default 200ms) and then
	// answers normally.
	SlowRate  float64
	SlowDelay time.Duration
	// TimeoutRate hangs the request until the client gives up (or HangFor,
	// default 2 minutes, passes).
	TimeoutRate float64
	HangFor     time.Duration
	// TruncateRate cuts the JSON body in half; MalformedRate sends a body
	// that is not JSON at all (an HTML error page or garbage).
	TruncateRate  float64
	MalformedRate float64
	// DriftRate makes a page (page 2 onwards of a report or entity list) come
	// back as if a row had been inserted before it since page 1: total_number
	// grows by one and the previous page's last row repeats.
	DriftRate float64
	// QueryTooLargeDays answers 40067 to report windows longer than this many
	// days (0 never).
	QueryTooLargeDays int
	// FailingDays answers 50002 ("processing error, retry later", a
	// documented server code) to every synchronous report request, at every
	// level and granularity, whose date range includes one of these days:
	// an outage of one part of TikTok's data that outlasts the client's
	// retries, for tests of what a run does with one failed window.
	FailingDays []tiktok.Date
	// FailingAdvertisers limits FailingDays to these advertisers (empty: all).
	FailingAdvertisers []string
	// SecondLimitRate starts a per-second limit episode at a request with
	// this probability: it and every request of the app until the next whole
	// second are answered 40100, as after a QPS hit ("retry in the next
	// second"). SecondLimitFor, when set, makes an episode last that long
	// instead (benchmarks scale time with it).
	SecondLimitRate float64
	SecondLimitFor  time.Duration
	// MinuteLimitRate starts a per-minute limit episode likewise: 40100 to
	// every request until the next whole minute (or for MinuteLimitFor), as
	// after a QPM hit. TikTok's answer is the same 40100 in both kinds.
	MinuteLimitRate float64
	MinuteLimitFor  time.Duration
}

func (f Faults) withDefaults() Faults {
	if f.SlowDelay <= 0 {
		f.SlowDelay = 200 * time.Millisecond
	}
	if f.HangFor <= 0 {
		f.HangFor = 2 * time.Minute
	}
	return f
}

// FaultStats counts injected faults by kind.
type FaultStats struct {
	RateLimited       uint64 // 40100
	TooFrequent       uint64 // 40016
	AdvertiserLimited uint64 // 40133
	SystemErrors      uint64 // 50000/50002
	Maintenance       uint64 // 60001
	HTTPErrors        uint64 // HTTP 5xx
	Slow              uint64
	Timeouts          uint64
	Truncated         uint64
	Malformed         uint64
	Drift             uint64
	QueryTooLarge     uint64 // 40067
	SecondLimited     uint64 // 40100 answers of per-second episodes
	MinuteLimited     uint64 // 40100 answers of per-minute episodes
}

// Total returns the number of injected failures (slow responses, which
// succeed, are not counted).
func (f FaultStats) Total() uint64 {
	return f.RateLimited + f.TooFrequent + f.AdvertiserLimited + f.SystemErrors + f.Maintenance +
		f.HTTPErrors + f.Timeouts + f.Truncated + f.Malformed + f.Drift + f.QueryTooLarge +
		f.SecondLimited + f.MinuteLimited
}

type fault int

const (
	faultNone fault = iota
	faultRateLimit
	faultTooFrequent
	faultAdvLimit
	faultSystem
	faultMaintenance
	faultHTTP
	faultTimeout
	faultTruncate
	faultMalformed
	faultSecondLimit
	faultMinuteLimit
	faultKinds // the number of kinds, for arrays
)

type faultState struct {
	mu       sync.Mutex
	cfg      Faults
	attempts map[uint64]uint64
	counts   [faultKinds]atomic.Uint64
	// The limit episode in progress (SecondLimitRate, MinuteLimitRate).
	episode      fault
	episodeUntil time.Time
	slow         atomic.Uint64
	drift        atomic.Uint64
	tooLarge     atomic.Uint64
}

func newFaultState(f Faults) *faultState {
	return &faultState{cfg: f, attempts: make(map[uint64]uint64)}
}

// SetFaults replaces the fault configuration at runtime (tests switch faults
// on and off between phases).
func (s *Server) SetFaults(f Faults) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.cfg = f.withDefaults()
}

// Faults returns the current fault configuration.
func (s *Server) Faults() Faults {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.cfg
}

// draw returns the fault configuration and a uniform value in [0,1) and a
// second independent hash for the request identified by key.
func (fs *faultState) draw(key uint64) (Faults, float64, uint64) {
	fs.mu.Lock()
	n := fs.attempts[key]
	fs.attempts[key] = n + 1
	if len(fs.attempts) > 1<<20 {
		// Bound memory in long-running simulators; determinism across such
		// long runs is not needed.
		fs.attempts = make(map[uint64]uint64)
	}
	cfg := fs.cfg
	fs.mu.Unlock()
	h := mix(mix(cfg.Seed^0xfa017) ^ key ^ mix(n))
	return cfg, float64(h>>11) / (1 << 53), mix(h)
}

// pick selects the fault for a draw u.
func pick(cfg Faults, u float64) fault {
	for _, c := range []struct {
		rate float64
		f    fault
	}{
		{cfg.RateLimitRate, faultRateLimit},
		{cfg.TooFrequentRate, faultTooFrequent},
		{cfg.AdvertiserLimitRate, faultAdvLimit},
		{cfg.SystemErrorRate, faultSystem},
		{cfg.MaintenanceRate, faultMaintenance},
		{cfg.HTTPErrorRate, faultHTTP},
		{cfg.TimeoutRate, faultTimeout},
		{cfg.TruncateRate, faultTruncate},
		{cfg.MalformedRate, faultMalformed},
		// New kinds go last, so that the draws of older configurations keep
		// picking the same faults.
		{cfg.SecondLimitRate, faultSecondLimit},
		{cfg.MinuteLimitRate, faultMinuteLimit},
	} {
		if u < c.rate {
			return c.f
		}
		u -= c.rate
	}
	return faultNone
}

func (fs *faultState) count(f fault) {
	if f != faultNone {
		fs.counts[f].Add(1)
	}
}

func (fs *faultState) stats() FaultStats {
	c := func(f fault) uint64 { return fs.counts[f].Load() }
	return FaultStats{
		RateLimited: c(faultRateLimit), TooFrequent: c(faultTooFrequent), AdvertiserLimited: c(faultAdvLimit),
		SystemErrors: c(faultSystem), Maintenance: c(faultMaintenance), HTTPErrors: c(faultHTTP),
		Slow: fs.slow.Load(), Timeouts: c(faultTimeout), Truncated: c(faultTruncate), Malformed: c(faultMalformed),
		Drift: fs.drift.Load(), QueryTooLarge: fs.tooLarge.Load(),
		SecondLimited: c(faultSecondLimit), MinuteLimited: c(faultMinuteLimit),
	}
}

// inEpisode returns the kind of the limit episode in progress at now, if any.
func (fs *faultState) inEpisode(now time.Time) (fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.episode != faultNone && now.Before(fs.episodeUntil) {
		return fs.episode, true
	}
	return faultNone, false
}

// startEpisode starts a limit episode of kind f at now: until the next whole
// second or minute, or for the configured duration.
func (fs *faultState) startEpisode(f fault, now time.Time, cfg Faults) {
	unit, d := time.Second, cfg.SecondLimitFor
	if f == faultMinuteLimit {
		unit, d = time.Minute, cfg.MinuteLimitFor
	}
	until := now.Truncate(unit).Add(unit)
	if d > 0 {
		until = now.Add(d)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.episode, fs.episodeUntil = f, until
}

func (fs *faultState) resetStats() {
	for i := range fs.counts {
		fs.counts[i].Store(0)
	}
	fs.slow.Store(0)
	fs.drift.Store(0)
	fs.tooLarge.Store(0)
}

// appLimit enforces QPS and QPM over sliding windows of accepted requests.
type appLimit struct {
	mu        sync.Mutex
	qps, qpm  int
	times     []time.Time // accepted request times, oldest first, last minute
	throttled atomic.Uint64
}

func newAppLimit(qps, qpm int) *appLimit { return &appLimit{qps: qps, qpm: qpm} }

// allow records a request at now and reports whether it is within limits.
func (l *appLimit) allow(now time.Time) bool {
	if l.qps <= 0 && l.qpm <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	cut := 0
	for cut < len(l.times) && !l.times[cut].After(now.Add(-time.Minute)) {
		cut++
	}
	if cut > 0 {
		l.times = append(l.times[:0], l.times[cut:]...)
	}
	inSecond := 0
	for i := len(l.times) - 1; i >= 0 && l.times[i].After(now.Add(-time.Second)); i-- {
		inSecond++
	}
	if (l.qps > 0 && inSecond >= l.qps) || (l.qpm > 0 && len(l.times) >= l.qpm) {
		l.throttled.Add(1)
		return false
	}
	l.times = append(l.times, now)
	return true
}

// windowCache keeps recently computed report windows so that paging through
// a window computes it once. It is bounded by rows, not entries, because one
// ad-level window of a large account holds tens of thousands of rows.
type windowCache struct {
	mu      sync.Mutex
	maxRows int
	rows    int
	order   []windowKey
	m       map[windowKey][]simRow
}

// defaultCacheRows bounds the cache to roughly 100 MB of rows.
const defaultCacheRows = 400_000

func newWindowCache(maxRows int) *windowCache {
	return &windowCache{maxRows: maxRows, m: make(map[windowKey][]simRow)}
}

func (c *windowCache) get(k windowKey) ([]simRow, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rows, ok := c.m[k]
	return rows, ok
}

func (c *windowCache) put(k windowKey, rows []simRow) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; ok {
		return
	}
	// A window larger than the bound is still kept, alone, so that paging
	// through it stays linear.
	// Rows are counted by capacity, which is what a window holds: room for
	// a row per entity and day, used or not.
	for len(c.order) > 0 && c.rows+cap(rows) > c.maxRows {
		c.rows -= cap(c.m[c.order[0]])
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.order = append(c.order, k)
	c.m[k] = rows
	c.rows += cap(rows)
}

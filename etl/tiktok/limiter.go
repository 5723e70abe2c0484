package tiktok

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Tier is a developer-app rate-limit tier. TikTok limits requests per app, so
// every advertiser and worker behind one app shares it.
type Tier struct {
	Name string
	QPS  int
	QPM  int
}

// The documented tiers (queries per second and per minute).
var (
	TierBasic    = Tier{Name: "basic", QPS: 10, QPM: 600}
	TierAdvanced = Tier{Name: "advanced", QPS: 20, QPM: 1200}
	TierPremium  = Tier{Name: "premium", QPS: 30, QPM: 1800}
	TierUltimate = Tier{Name: "ultimate", QPS: 50, QPM: 3000}
)

// Tiers lists the documented tiers from the lowest.
var Tiers = []Tier{TierBasic, TierAdvanced, TierPremium, TierUltimate}

// ParseTier returns the tier with the given name (case-insensitive).
func ParseTier(name string) (Tier, error) {
	for _, t := range Tiers {
		if strings.EqualFold(t.Name, name) {
			return t, nil
		}
	}
	return Tier{}, fmt.Errorf("tiktok: unknown rate-limit tier %q (want basic, advanced, premium or ultimate)", name)
}

// Limiter defaults.
const (
	// DefaultLimiterMargin is added to each limit window. Requests leave the
	// client evenly spaced but reach TikTok with network jitter; the margin
	// keeps a window measured at the server within the limit.
	DefaultLimiterMargin = 50 * time.Millisecond
	// DefaultAppPause is how long the whole app stops after a per-minute limit
	// error (40100, 40016): TikTok says to pause 5 minutes after a QPM hit.
	DefaultAppPause = 5 * time.Minute
	// DefaultAdvertiserPause is the first pause of one advertiser after 40133;
	// it doubles on each consecutive 40133, up to the app pause.
	DefaultAdvertiserPause = time.Second
)

// LimiterConfig configures a Limiter. Zero fields take the defaults; a zero
// QPS and QPM means the Basic tier.
type LimiterConfig struct {
	// QPS and QPM are the app's limits. A negative value disables that limit.
	QPS int
	QPM int
	// Burst is how many requests may leave back to back (default 1, which
	// spaces requests evenly).
	Burst int
	// Margin widens each window to absorb network jitter (default
	// DefaultLimiterMargin; negative means none).
	Margin time.Duration
	// AppPause is the pause of the whole app after 40100/40016 (default
	// DefaultAppPause; tests set it short; negative means none).
	AppPause time.Duration
	// AdvertiserPause is the first pause of one advertiser after 40133
	// (default DefaultAdvertiserPause; negative means none).
	AdvertiserPause time.Duration
}

// LimiterFor returns a LimiterConfig for a tier with default pauses.
func LimiterFor(t Tier) LimiterConfig { return LimiterConfig{QPS: t.QPS, QPM: t.QPM} }

// Limiter is the request budget of one developer app. Create one per app and
// share it between every Client (and so every advertiser and worker) that uses
// the app: TikTok counts all of them together.
//
// Each limit is a token bucket (golang.org/x/time/rate) whose rate is set so
// that no window of the limit's length (plus Margin) ever holds more than the
// limit, even right after a burst. Grants are handed out in order and at
// non-decreasing times, so the buckets see exactly the instants at which
// requests are released.
type Limiter struct {
	cfg     LimiterConfig
	buckets []*rate.Limiter

	mu          sync.Mutex
	last        time.Time // latest grant
	pausedUntil time.Time // app-wide pause after 40100/40016
	adv         map[string]*advState
	stats       LimiterStats
}

type advState struct {
	pausedUntil time.Time
	pause       time.Duration
}

// LimiterStats counts what a Limiter did.
type LimiterStats struct {
	Granted           uint64        // requests released
	AppPauses         uint64        // app-wide pauses started (40100/40016)
	AdvertiserPauses  uint64        // per-advertiser pauses started (40133)
	TotalWait         time.Duration // summed wait of all released requests
	PausedUntil       time.Time     // end of the current app pause, if any
	PausedAdvertisers int           // advertisers currently paused
}

// NewLimiter returns a Limiter for cfg.
func NewLimiter(cfg LimiterConfig) *Limiter {
	if cfg.QPS == 0 && cfg.QPM == 0 {
		cfg.QPS, cfg.QPM = TierBasic.QPS, TierBasic.QPM
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 1
	}
	if cfg.Margin == 0 {
		cfg.Margin = DefaultLimiterMargin
	} else if cfg.Margin < 0 {
		cfg.Margin = 0
	}
	if cfg.AppPause == 0 {
		cfg.AppPause = DefaultAppPause
	} else if cfg.AppPause < 0 {
		cfg.AppPause = 0
	}
	if cfg.AdvertiserPause == 0 {
		cfg.AdvertiserPause = DefaultAdvertiserPause
	} else if cfg.AdvertiserPause < 0 {
		cfg.AdvertiserPause = 0
	}
	l := &Limiter{cfg: cfg, adv: make(map[string]*advState)}
	for _, w := range []struct {
		n      int
		window time.Duration
	}{{cfg.QPS, time.Second}, {cfg.QPM, time.Minute}} {
		if w.n <= 0 {
			continue
		}
		burst := min(cfg.Burst, w.n)
		// A bucket of size b refilled at r lets b + r·W requests through in a
		// window W; r = (n+1-b)/(W+margin) keeps n+1 requests strictly
		// longer apart than W+margin.
		r := rate.Limit(float64(w.n+1-burst) / (w.window + cfg.Margin).Seconds())
		l.buckets = append(l.buckets, rate.NewLimiter(r, burst))
	}
	return l
}

// Config returns the effective configuration.
func (l *Limiter) Config() LimiterConfig { return l.cfg }

// Wait blocks until a request for advertiserID (may be "" for app-level calls
// such as OAuth) may be sent, or ctx is done.
func (l *Limiter) Wait(ctx context.Context, advertiserID string) error {
	// A paused advertiser waits without holding an app slot, so the other
	// advertisers keep the app's full budget.
	if until := l.advertiserPausedUntil(advertiserID); !until.IsZero() {
		if err := sleepUntil(ctx, until); err != nil {
			return err
		}
	}
	at, err := l.reserve(ctx)
	if err != nil {
		return err
	}
	return sleepUntil(ctx, at)
}

func (l *Limiter) advertiserPausedUntil(id string) time.Time {
	if id == "" {
		return time.Time{}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.adv[id]; s != nil && s.pausedUntil.After(time.Now()) {
		return s.pausedUntil
	}
	return time.Time{}
}

// reserve books the next release time that satisfies every bucket and the app
// pause, and consumes the tokens at that time.
func (l *Limiter) reserve(ctx context.Context) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	t := now
	if l.pausedUntil.After(t) {
		t = l.pausedUntil
	}
	if l.last.After(t) {
		t = l.last
	}
	for _, b := range l.buckets {
		if tok := b.TokensAt(t); tok < 1 {
			t = t.Add(time.Duration((1 - tok) / float64(b.Limit()) * float64(time.Second)))
		}
	}
	if dl, ok := ctx.Deadline(); ok && t.After(dl) {
		// Do not burn a slot the caller can never use.
		return time.Time{}, fmt.Errorf("tiktok: rate limiter: next slot in %s is after the context deadline: %w",
			t.Sub(now).Round(time.Millisecond), context.DeadlineExceeded)
	}
	for _, b := range l.buckets {
		// The tokens are available at t by construction, so this never waits.
		b.ReserveN(t, 1)
	}
	l.last = t
	l.stats.Granted++
	l.stats.TotalWait += t.Sub(now)
	return t, nil
}

// AppRateLimited records a per-app rate-limit error (40100, 40016): every
// request of the app is held back for the configured AppPause.
func (l *Limiter) AppRateLimited() { l.PauseApp(l.cfg.AppPause) }

// PauseApp holds back every request of the app for d from now (extending, never
// shortening, a pause in progress).
func (l *Limiter) PauseApp(d time.Duration) {
	if d <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	until := time.Now().Add(d)
	if until.After(l.pausedUntil) {
		l.pausedUntil = until
		l.stats.AppPauses++
	}
}

// AdvertiserRateLimited records a per-advertiser limit error (40133): only
// that advertiser is paused, for a pause that doubles on each consecutive hit.
func (l *Limiter) AdvertiserRateLimited(advertiserID string) {
	if advertiserID == "" || l.cfg.AdvertiserPause <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.adv[advertiserID]
	if s == nil {
		s = &advState{}
		l.adv[advertiserID] = s
	}
	if s.pause == 0 {
		s.pause = l.cfg.AdvertiserPause
	} else {
		s.pause = min(2*s.pause, max(l.cfg.AppPause, l.cfg.AdvertiserPause))
	}
	s.pausedUntil = time.Now().Add(s.pause)
	l.stats.AdvertiserPauses++
}

// AdvertiserOK records a successful call for the advertiser, resetting its
// 40133 slowdown.
func (l *Limiter) AdvertiserOK(advertiserID string) {
	if advertiserID == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.adv[advertiserID]; s != nil && !s.pausedUntil.After(time.Now()) {
		delete(l.adv, advertiserID)
	}
}

// Stats returns a snapshot of the limiter's counters.
func (l *Limiter) Stats() LimiterStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stats
	now := time.Now()
	if l.pausedUntil.After(now) {
		s.PausedUntil = l.pausedUntil
	}
	for _, a := range l.adv {
		if a.pausedUntil.After(now) {
			s.PausedAdvertisers++
		}
	}
	return s
}

// sleepUntil waits until t or until ctx is done.
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

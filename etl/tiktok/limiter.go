package tiktok

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
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
	// DefaultAppRetryPause is how long the whole app waits after an app-level
	// limit answer (40100, 40016) before trying again. TikTok's answer does
	// not say which limit was hit; the per-second one is by far the most
	// common and clears in the next second, so the first reaction is a short
	// pause (with up to a quarter of jitter on top).
	DefaultAppRetryPause = time.Second
	// DefaultEscalateAfter is how many app-level limit answers in a row
	// start the long pause: if 40100 persists through two one-second
	// pauses it is not the per-second limit.
	DefaultEscalateAfter = 3
	// DefaultAppPause is the long pause of the whole app once a limit
	// persists: TikTok says to pause 5 minutes after a per-minute (QPM) hit.
	DefaultAppPause = 5 * time.Minute
	// DefaultAdvertiserPause is the first pause of one advertiser after 40133;
	// it doubles on each consecutive 40133, up to the app pause.
	DefaultAdvertiserPause = time.Second
	// appStrikeWindow bounds a run of limit answers: two answers further
	// apart than this are not the same persisting limit.
	appStrikeWindow = time.Minute
)

// ReasonMinuteLimit is the reason of the long pause that follows a
// persisting app-level limit.
const ReasonMinuteLimit = "TikTok rate limit persisted: per-minute limit assumed"

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
	// AppRetryPause is the short pause of the whole app after an app-level
	// limit answer (40100/40016), jittered by up to a quarter (default
	// DefaultAppRetryPause; never longer than AppPause; negative means none).
	AppRetryPause time.Duration
	// EscalateAfter is how many app-level limit answers in a row (no success
	// in between, each to a request sent after the pause for the previous
	// one, all within a minute) start the long AppPause (default
	// DefaultEscalateAfter; 1 starts it on the first answer).
	EscalateAfter int
	// AppPause is the long pause of the whole app once the limit persists
	// (default DefaultAppPause; tests set it short; negative means none).
	AppPause time.Duration
	// AdvertiserPause is the first pause of one advertiser after 40133
	// (default DefaultAdvertiserPause; negative means none).
	AdvertiserPause time.Duration
	// Logger receives one warning when a long pause starts and one line when
	// it ends; nil logs nothing.
	Logger *zerolog.Logger
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
//
// An app-level limit answer (40100, 40016) holds every request of the app:
// first for AppRetryPause (about a second: the per-second limit clears in
// the next second), and, when the answers persist (EscalateAfter in a row),
// for the long AppPause that TikTok asks for after a per-minute hit. Pause
// reports the long pause while it lasts.
type Limiter struct {
	cfg     LimiterConfig
	buckets []*rate.Limiter
	log     zerolog.Logger

	mu          sync.Mutex
	last        time.Time // latest grant
	pausedUntil time.Time // app-wide hold after 40100/40016, short or long
	long        PauseState
	strikes     int       // app-level limit answers in a row
	lastStrike  time.Time // when the latest one arrived
	countFrom   time.Time // answers to requests released before this are the latest strike's event
	adv         map[string]*advState
	stats       LimiterStats
}

type advState struct {
	pausedUntil time.Time
	pause       time.Duration
}

// PauseState describes the long app-wide pause, when one is in effect.
type PauseState struct {
	// Until is when requests resume; zero when there is no long pause.
	Until time.Time
	// Since is when the pause started.
	Since time.Time
	// Reason says why, for logs and progress bars.
	Reason string
}

// Active reports whether the state describes a pause.
func (p PauseState) Active() bool { return !p.Until.IsZero() }

// LimiterStats counts what a Limiter did.
type LimiterStats struct {
	Granted           uint64        // requests released
	AppRetryPauses    uint64        // short app-wide pauses after 40100/40016
	AppPauses         uint64        // long app-wide pauses started (the limit persisted)
	AdvertiserPauses  uint64        // per-advertiser pauses started (40133)
	TotalWait         time.Duration // summed wait of all released requests
	PausedUntil       time.Time     // end of the current long app pause, if any
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
	if cfg.AppRetryPause == 0 {
		cfg.AppRetryPause = DefaultAppRetryPause
	} else if cfg.AppRetryPause < 0 {
		cfg.AppRetryPause = 0
	}
	if cfg.AppPause > 0 && cfg.AppRetryPause > cfg.AppPause {
		// The first reaction is never slower than the escalated one.
		cfg.AppRetryPause = cfg.AppPause
	}
	if cfg.EscalateAfter <= 0 {
		cfg.EscalateAfter = DefaultEscalateAfter
	}
	if cfg.AdvertiserPause == 0 {
		cfg.AdvertiserPause = DefaultAdvertiserPause
	} else if cfg.AdvertiserPause < 0 {
		cfg.AdvertiserPause = 0
	}
	l := &Limiter{cfg: cfg, adv: make(map[string]*advState), log: zerolog.Nop()}
	if cfg.Logger != nil {
		l.log = cfg.Logger.With().Str("component", "tiktok").Logger()
	}
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
	_, err := l.wait(ctx, advertiserID)
	return err
}

// wait is Wait returning the instant the request was released, which the
// limit answers are judged by (appLimited, ok).
func (l *Limiter) wait(ctx context.Context, advertiserID string) (time.Time, error) {
	asked := time.Now()
	for {
		// A paused advertiser waits without holding an app slot, so the other
		// advertisers keep the app's full budget.
		if until := l.advertiserPausedUntil(advertiserID); !until.IsZero() {
			if err := sleepUntil(ctx, until); err != nil {
				return time.Time{}, err
			}
		}
		at, err := l.reserve(ctx)
		if err != nil {
			return time.Time{}, err
		}
		if err := sleepUntil(ctx, at); err != nil {
			return time.Time{}, err
		}
		l.mu.Lock()
		now := time.Now()
		if l.pausedUntil.After(now) {
			// A pause began while this request waited for its slot: it
			// holds this request too.
			l.mu.Unlock()
			continue
		}
		l.endLongPause(now)
		l.stats.Granted++
		l.stats.TotalWait += now.Sub(asked)
		l.mu.Unlock()
		return now, nil
	}
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
	return t, nil
}

// endLongPause logs, once, that a long pause is over. Called with mu held.
func (l *Limiter) endLongPause(now time.Time) {
	if !l.long.Active() || now.Before(l.long.Until) {
		return
	}
	l.log.Info().Str("paused", l.long.Until.Sub(l.long.Since).Round(time.Millisecond).String()).Str("reason", l.long.Reason).
		Msg("TikTok rate-limit pause over: resuming requests")
	l.long = PauseState{}
}

// AppRateLimited records an app-level limit answer (40100, 40016) to a
// request sent just now; see appLimited.
func (l *Limiter) AppRateLimited() { l.appLimited(time.Now()) }

// appLimited records an app-level limit answer to a request released at
// sentAt and returns when the app's requests resume.
//
// The rule: an answer is a strike unless its request left before the
// reaction to the previous strike ended (requests already in flight when the
// limit hit are the same event). A strike holds the app for AppRetryPause;
// the EscalateAfter-th strike in a row (no success in between, each within a
// minute of the previous) holds it for AppPause instead, logged once.
func (l *Limiter) appLimited(sentAt time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if sentAt.Before(l.countFrom) {
		return later(l.pausedUntil, now)
	}
	if l.strikes > 0 && now.Sub(l.lastStrike) > appStrikeWindow {
		l.strikes = 0
	}
	l.strikes++
	l.lastStrike = now
	if l.cfg.AppPause > 0 && l.strikes >= l.cfg.EscalateAfter {
		l.strikes = 0
		l.startLongPause(now, l.cfg.AppPause, ReasonMinuteLimit, l.cfg.EscalateAfter)
	} else if d := l.cfg.AppRetryPause; d > 0 {
		d += rand.N(d/4 + 1)
		l.pausedUntil = later(l.pausedUntil, now.Add(d))
		l.stats.AppRetryPauses++
	}
	l.countFrom = later(l.pausedUntil, now)
	return l.countFrom
}

// PauseApp holds back every request of the app for d from now (extending,
// never shortening, a pause in progress), as a long pause with the given
// reason: logged, and reported by Pause.
func (l *Limiter) PauseApp(d time.Duration, reason string) {
	if d <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.startLongPause(now, d, reason, 0)
	l.countFrom = later(l.countFrom, l.pausedUntil)
}

// startLongPause holds the app until now+d and logs it. Called with mu held.
func (l *Limiter) startLongPause(now time.Time, d time.Duration, reason string, strikes int) {
	until := now.Add(d)
	if !until.After(l.pausedUntil) {
		return
	}
	l.pausedUntil = until
	if !l.long.Active() {
		l.long.Since = now
	}
	l.long.Until, l.long.Reason = until, reason
	l.stats.AppPauses++
	ev := l.log.Warn().Str("reason", reason).Str("pause", d.String()).Str("resume_at", until.UTC().Format(time.RFC3339))
	if strikes > 0 {
		ev = ev.Int("limited_in_a_row", strikes)
	}
	ev.Msgf("%s: pausing all TikTok requests of the app for %s, until %s", reason, d, until.UTC().Format(time.RFC3339))
}

// Pause returns the long app-wide pause in effect, if any (the short
// pauses after a single limit answer last about a second and are not
// reported).
func (l *Limiter) Pause() PauseState {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.long.Active() && time.Now().Before(l.long.Until) {
		return l.long
	}
	return PauseState{}
}

// AdvertiserRateLimited records a per-advertiser limit error (40133): only
// that advertiser is paused, for a pause that doubles on each consecutive hit.
func (l *Limiter) AdvertiserRateLimited(advertiserID string) { l.advertiserLimited(advertiserID) }

// advertiserLimited is AdvertiserRateLimited returning when the advertiser's
// requests resume (zero when it is not paused).
func (l *Limiter) advertiserLimited(advertiserID string) time.Time {
	if advertiserID == "" || l.cfg.AdvertiserPause <= 0 {
		return time.Time{}
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
	return s.pausedUntil
}

// AdvertiserOK records a successful call for the advertiser, resetting its
// 40133 slowdown.
func (l *Limiter) AdvertiserOK(advertiserID string) { l.ok(advertiserID, time.Now()) }

// ok records a success of a request released at sentAt: it resets the
// advertiser's 40133 slowdown and, if the request left after the latest
// app-level limit answer's pause, the run of app-level strikes.
func (l *Limiter) ok(advertiserID string, sentAt time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.strikes > 0 && !sentAt.Before(l.countFrom) {
		l.strikes = 0
	}
	if advertiserID == "" {
		return
	}
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
	if l.long.Active() && l.long.Until.After(now) {
		s.PausedUntil = l.long.Until
	}
	for _, a := range l.adv {
		if a.pausedUntil.After(now) {
			s.PausedAdvertisers++
		}
	}
	return s
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
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

// Package tiktoksim simulates the TikTok Marketing API v1.3 endpoints that
// adhouse uses, faithfully enough to test the client, the sync and the
// warehouse end to end: TikTok's envelopes (HTTP 200 with an error code),
// string-typed metrics with "-" for missing values, pre-rounded ratio
// columns, page/page_size/total_number/total_page pagination, advertisers
// in timezones behind and ahead of UTC and with DST, deleted entities hidden
// unless STATUS_ALL is asked, the documented date-range caps, Access-Token
// checks, the OAuth endpoints, per-app QPS/QPM enforcement, the synchronous
// report's truncation of large accounts (X-Tt-Ads-Throttle) and 40067,
// asynchronous report tasks with their statuses, signed CSV downloads and
// failure modes, and deterministic fault injection.
//
// Data is a pure function of the seed, the entity, the local hour and the
// simulator's clock, so an account of any size is served without storage,
// every level sums exactly (ad group = Σ ads, campaign = Σ ad groups,
// advertiser = Σ campaigns, day = Σ hours), and attributed metrics of recent
// days grow as the clock advances, as real attribution does. Truth returns
// the exact rows the API would serve, for tests that compare a warehouse
// against the source.
package tiktoksim

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/adhouse/adhouse/etl/tiktok"
)

// BasePath is the path prefix of the API, as in production.
const BasePath = "/open_api/v1.3/"

// Default credentials of the simulated developer app.
const (
	DefaultAppID       = "7000000000000000001"
	DefaultSecret      = "sim-app-secret-2f1c9a7e"
	DefaultAccessToken = "sim-access-token-8d41c0b7e2a9"
	DefaultAuthCode    = "sim-auth-code-5b3e"
)

// Config describes the simulated app and accounts. Zero fields take the
// defaults documented on each field.
type Config struct {
	// Seed selects the data; the same seed serves the same values.
	Seed uint64
	// Account tree sizes (defaults 3, 3, 2, 2). Advertisers cycle through
	// timezone/currency profiles: Etc/GMT+8 USD, Asia/Tokyo JPY,
	// Europe/Berlin EUR, America/New_York USD (6-decimal spend),
	// Asia/Kolkata INR, Etc/GMT-9 KRW, UTC GBP.
	Advertisers            int
	CampaignsPerAdvertiser int
	AdGroupsPerCampaign    int
	AdsPerAdGroup          int
	// StartDate is the first local day with data (default 2024-01-01).
	StartDate tiktok.Date
	// Days sets the default clock: Now defaults to StartDate+Days at 12:00
	// UTC, when the last of Days days has ended in every timezone (default 60).
	Days int
	// Now is the initial clock; see SetNow.
	Now time.Time
	// RestatementDays is how long attributed metrics keep growing after an
	// hour ends (default 7; negative disables restatement).
	RestatementDays int
	// Credentials (defaults DefaultAppID, DefaultSecret, DefaultAccessToken,
	// DefaultAuthCode).
	AppID       string
	Secret      string
	AccessToken string
	AuthCode    string
	// QPS and QPM are enforced per app over sliding windows, answering 40100
	// like production when exceeded (0 disables enforcement).
	QPS int
	QPM int
	// PurgeDeletedAds leaves ads deleted before the clock out of ad-level
	// reports even with STATUS_ALL, as TikTok does with old deleted ads it has
	// purged (reference §1.5), while their delivery still counts at ad
	// group, campaign and advertiser level: the ad level then sums to less
	// than the account, which reconciliation must report.
	PurgeDeletedAds bool
	// Faults are injected on top of correct behaviour.
	Faults Faults
	// SyncMaxAds truncates the synchronous report of an account with at
	// least this many ads (deleted ones counted when STATUS_ALL is asked) to
	// its most recently created SyncMaxAds ads, with an X-Tt-Ads-Throttle
	// header, as production does from 20,000 (default
	// tiktok.SyncReportMaxAds; negative never).
	SyncMaxAds int
	// SyncMaxRows answers 40067 (query too large) to a synchronous report
	// window of more than this many rows (0 never).
	SyncMaxRows int
	// Tasks configures the asynchronous report task endpoints.
	Tasks TaskConfig
}

// Scale returns a Config preset: "tiny" (1×2×2×2 ads), "small" (the default,
// 3×3×2×2), "medium" (5×10×5×5 = 1,250 ads) or "large" (10×20×10×10 = 20,000
// ads, 1.2 million ad-days over 60 days).
func Scale(name string) (Config, error) {
	switch name {
	case "tiny":
		return Config{Advertisers: 1, CampaignsPerAdvertiser: 2, AdGroupsPerCampaign: 2, AdsPerAdGroup: 2}, nil
	case "", "small":
		return Config{Advertisers: 3, CampaignsPerAdvertiser: 3, AdGroupsPerCampaign: 2, AdsPerAdGroup: 2}, nil
	case "medium":
		return Config{Advertisers: 5, CampaignsPerAdvertiser: 10, AdGroupsPerCampaign: 5, AdsPerAdGroup: 5}, nil
	case "large":
		return Config{Advertisers: 10, CampaignsPerAdvertiser: 20, AdGroupsPerCampaign: 10, AdsPerAdGroup: 10}, nil
	}
	return Config{}, fmt.Errorf("tiktoksim: unknown scale %q (want tiny, small, medium or large)", name)
}

func (c Config) withDefaults() Config {
	if c.Advertisers <= 0 {
		c.Advertisers = 3
	}
	if c.CampaignsPerAdvertiser <= 0 {
		c.CampaignsPerAdvertiser = 3
	}
	if c.AdGroupsPerCampaign <= 0 {
		c.AdGroupsPerCampaign = 2
	}
	if c.AdsPerAdGroup <= 0 {
		c.AdsPerAdGroup = 2
	}
	c.Advertisers = min(c.Advertisers, MaxAdvertisers)
	c.CampaignsPerAdvertiser = min(c.CampaignsPerAdvertiser, MaxCampaignsPerAdvertiser)
	c.AdGroupsPerCampaign = min(c.AdGroupsPerCampaign, MaxAdGroupsPerCampaign)
	c.AdsPerAdGroup = min(c.AdsPerAdGroup, MaxAdsPerAdGroup)
	if c.StartDate.IsZero() {
		c.StartDate = tiktok.NewDate(2024, time.January, 1)
	}
	if c.Days <= 0 {
		c.Days = 60
	}
	if c.Now.IsZero() {
		c.Now = c.StartDate.AddDays(c.Days).Time().Add(12 * time.Hour)
	}
	if c.RestatementDays == 0 {
		c.RestatementDays = 7
	} else if c.RestatementDays < 0 {
		c.RestatementDays = 0
	}
	if c.AppID == "" {
		c.AppID = DefaultAppID
	}
	if c.Secret == "" {
		c.Secret = DefaultSecret
	}
	if c.AccessToken == "" {
		c.AccessToken = DefaultAccessToken
	}
	if c.AuthCode == "" {
		c.AuthCode = DefaultAuthCode
	}
	c.Faults = c.Faults.withDefaults()
	if c.SyncMaxAds == 0 {
		c.SyncMaxAds = tiktok.SyncReportMaxAds
	} else if c.SyncMaxAds < 0 {
		c.SyncMaxAds = 0
	}
	c.Tasks = c.Tasks.withDefaults()
	return c
}

// Server is the simulator. It implements http.Handler (mount it at the root:
// the API lives under BasePath) and is safe for concurrent use.
type Server struct {
	cfg  Config
	seed uint64
	advs []*advertiser

	clockMu sync.RWMutex
	now     time.Time

	cache  *windowCache
	faults *faultState
	limit  *appLimit
	tasks  *taskState
	seq    atomic.Uint64

	statsMu sync.Mutex
	byPath  map[string]uint64
	answers map[Answer]uint64
	total   atomic.Uint64

	httpSrv *http.Server
	baseURL string
}

// New returns a simulator for cfg. It panics only if the embedded timezone
// database is missing a profile zone, which time/tzdata rules out.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:     cfg,
		seed:    mix(cfg.Seed ^ 0x7a1c0ffee),
		now:     cfg.Now,
		cache:   newWindowCache(defaultCacheRows),
		faults:  newFaultState(cfg.Faults),
		limit:   newAppLimit(cfg.QPS, cfg.QPM),
		tasks:   newTaskState(cfg.Tasks),
		byPath:  make(map[string]uint64),
		answers: make(map[Answer]uint64),
	}
	if err := s.buildAdvertisers(); err != nil {
		panic(err)
	}
	return s
}

// Config returns the effective configuration (defaults filled in).
func (s *Server) Config() Config { return s.cfg }

// Now returns the simulator's clock.
func (s *Server) Now() time.Time {
	s.clockMu.RLock()
	defer s.clockMu.RUnlock()
	return s.now
}

// SetNow sets the clock. Hours that have not ended at the clock (in each
// advertiser's timezone) have no data, and attributed metrics of hours
// younger than RestatementDays are partly matured.
func (s *Server) SetNow(t time.Time) {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	s.now = t
}

// Advance moves the clock forward by d.
func (s *Server) Advance(d time.Duration) {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	s.now = s.now.Add(d)
}

// AccessToken returns the token the simulator accepts.
func (s *Server) AccessToken() string { return s.cfg.AccessToken }

// Start serves the simulator on addr, which must be a loopback address
// ("127.0.0.1:0" picks a free port): the simulator hands out a well-known
// token and must not be reachable from other hosts. It returns the base URL
// of the API (ending in BasePath).
func (s *Server) Start(addr string) (string, error) {
	if err := CheckLoopback(addr); err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("tiktoksim: listen %s: %w", addr, err)
	}
	s.httpSrv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.baseURL = "http://" + ln.Addr().String() + BasePath
	go func() { _ = s.httpSrv.Serve(ln) }()
	return s.baseURL, nil
}

// BaseURL returns the API base URL after Start or StartTest.
func (s *Server) BaseURL() string { return s.baseURL }

// Close stops a server started with Start.
func (s *Server) Close(ctx context.Context) error {
	if s.httpSrv == nil {
		return nil
	}
	err := s.httpSrv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return s.httpSrv.Close()
	}
	return err
}

// CheckLoopback returns an error unless addr ("host:port") names a loopback
// host.
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("tiktoksim: invalid listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("tiktoksim: refusing to listen on %q: only loopback addresses (127.0.0.1, ::1, localhost) are allowed", addr)
	}
	return nil
}

// BaseURLFor returns the API base URL for a server root URL such as
// httptest.Server.URL.
func BaseURLFor(rootURL string) string { return rootURL + BasePath }

// AdvertiserIDs returns the IDs of all simulated advertisers, all of which
// the access token is authorised for.
func (s *Server) AdvertiserIDs() []string {
	out := make([]string, len(s.advs))
	for i, a := range s.advs {
		out[i] = a.id
	}
	return out
}

// Advertiser returns the advertiser as /advertiser/info/ describes it.
func (s *Server) Advertiser(id string) (tiktok.Advertiser, bool) {
	i := s.parseAdvertiserID(id)
	if i < 0 {
		return tiktok.Advertiser{}, false
	}
	a := s.advs[i]
	return tiktok.Advertiser{
		ID: a.id, Name: a.name, Currency: a.prof.currency, Timezone: a.prof.tz,
		DisplayTimezone: a.prof.displayTZ, Country: a.prof.country, Status: "STATUS_ENABLE",
		Role: "ROLE_ADVERTISER", CreateTime: tiktok.Timestamp{Time: a.created.Truncate(time.Second).UTC(), Valid: true},
	}, true
}

// Stats counts what the simulator served.
type Stats struct {
	Requests  uint64            // all requests
	ByPath    map[string]uint64 // requests per API path (e.g. "report/integrated/get/")
	Answers   map[Answer]uint64 // requests per API path and answer
	Throttled uint64            // 40100 answers from QPS/QPM enforcement
	Faults    FaultStats        // injected faults
	Tasks     TaskStats         // asynchronous report tasks
}

// Answer is a class of the simulator's answers: the API path (as in
// Stats.ByPath) and what was answered. Kind is "code N" for an envelope
// with code N (HTTP 200), "http N" for an HTTP error status, "hang" for a
// request held until the client gave up (TimeoutRate), and "truncated" or
// "malformed" for a body cut in half or not JSON.
type Answer struct{ Path, Kind string }

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.statsMu.Lock()
	by := make(map[string]uint64, len(s.byPath))
	for k, v := range s.byPath {
		by[k] = v
	}
	answers := maps.Clone(s.answers)
	s.statsMu.Unlock()
	return Stats{Requests: s.total.Load(), ByPath: by, Answers: answers, Throttled: s.limit.throttled.Load(), Faults: s.faults.stats(), Tasks: s.TaskStats()}
}

// ResetStats zeroes the counters (not the fault attempt history).
func (s *Server) ResetStats() {
	s.statsMu.Lock()
	s.byPath = make(map[string]uint64)
	s.answers = make(map[Answer]uint64)
	s.statsMu.Unlock()
	s.total.Store(0)
	s.limit.throttled.Store(0)
	s.faults.resetStats()
}

// countAnswer records what a request was answered, before the answer is
// written, so a client that has the answer finds it counted.
func (s *Server) countAnswer(path, kind string) {
	s.statsMu.Lock()
	s.answers[Answer{path, kind}]++
	s.statsMu.Unlock()
}

func (s *Server) countPath(p string) {
	s.total.Add(1)
	s.statsMu.Lock()
	s.byPath[p]++
	s.statsMu.Unlock()
}

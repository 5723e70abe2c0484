package tiktok_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/adhouse/adhouse/etl/logtest"
	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
)

// logLine is one JSON log line, as far as these tests read it.
type logLine map[string]any

func (l logLine) str(k string) string { s, _ := l[k].(string); return s }

func parseLog(t *testing.T, buf *logtest.Buffer) []logLine {
	t.Helper()
	var out []logLine
	for _, s := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if s == "" {
			continue
		}
		var l logLine
		if err := json.Unmarshal([]byte(s), &l); err != nil {
			t.Fatalf("log line %q: %v", s, err)
		}
		out = append(out, l)
	}
	return out
}

func linesWith(lines []logLine, msgPart string) []logLine {
	var out []logLine
	for _, l := range lines {
		if strings.Contains(l.str("message"), msgPart) {
			out = append(out, l)
		}
	}
	return out
}

func infoLogger(buf *logtest.Buffer) *zerolog.Logger {
	l := zerolog.New(buf).Level(zerolog.InfoLevel)
	return &l
}

// TestPersistentLimitEscalatesOnce: a per-minute limit (the simulator
// answers 40100 to everything until the minute ends) is first retried after
// about a second, twice; the third 40100 in a row starts the 5-minute pause,
// once, with one warning that gives the reason, the resume time and the
// pause; the retry lines give the real wait; /metrics and the progress bar
// read the pause from Limiter.Pause; one line says when it ended.
func TestPersistentLimitEscalatesOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := tiktoksim.New(tiktoksim.Config{Advertisers: 1, Faults: tiktoksim.Faults{MinuteLimitRate: 1}})
		var logs logtest.Buffer
		logger := infoLogger(&logs)
		lim := tiktok.NewLimiter(tiktok.LimiterConfig{Logger: logger}) // production defaults
		opts := inProcessOptions(sim, sim.AccessToken())
		opts.Limiter, opts.Logger = lim, logger
		c := newClient(t, opts)
		adv := sim.AdvertiserIDs()[0]

		start := time.Now()
		done := make(chan error, 1)
		go func() { _, err := c.Campaigns(context.Background(), adv); done <- err }()
		synctest.Wait()
		// The first request started a per-minute episode; no new one starts,
		// so the limit ends with the minute.
		sim.SetFaults(tiktoksim.Faults{})
		if p := lim.Pause(); p.Active() {
			t.Fatalf("long pause after the first 40100: %+v", p)
		}
		time.Sleep(10 * time.Second)
		p := lim.Pause()
		if !p.Active() || p.Reason != tiktok.ReasonMinuteLimit {
			t.Fatalf("10 s into a persisting limit: pause %+v", p)
		}
		if d := p.Since.Sub(start); d < 2*time.Second || d > 2500*time.Millisecond {
			t.Errorf("escalated %s after the first 40100; want after two pauses of 1 s to 1.25 s", d)
		}
		if d := p.Until.Sub(p.Since); d != tiktok.DefaultAppPause {
			t.Errorf("long pause of %s, want %s", d, tiktok.DefaultAppPause)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got, want := time.Now(), p.Until; !got.Equal(want) {
			t.Errorf("the call completed at %s, the pause ended at %s", got, want)
		}
		if p := lim.Pause(); p.Active() {
			t.Errorf("pause still reported after it ended: %+v", p)
		}

		st := lim.Stats()
		if st.AppRetryPauses != 2 || st.AppPauses != 1 {
			t.Errorf("limiter %+v, want 2 short pauses and 1 long", st)
		}
		answers := sim.Stats().Answers
		if n, ok := answers[tiktoksim.Answer{Path: "campaign/get/", Kind: "code 40100"}], answers[tiktoksim.Answer{Path: "campaign/get/", Kind: "code 0"}]; n != 3 || ok != 1 {
			t.Errorf("simulator answered %d × 40100 and %d × OK, want 3 and 1 (%v)", n, ok, answers)
		}

		lines := parseLog(t, &logs)
		pauses := linesWith(lines, "pausing all TikTok requests")
		if len(pauses) != 1 {
			t.Fatalf("%d pause lines, want 1:\n%s", len(pauses), logs.String())
		}
		pl := pauses[0]
		resume := p.Until.UTC().Format(time.RFC3339)
		if pl.str("level") != "warn" || pl.str("reason") != tiktok.ReasonMinuteLimit || pl.str("pause") != "5m0s" ||
			pl.str("resume_at") != resume || !strings.Contains(pl.str("message"), resume) || !strings.Contains(pl.str("message"), "5m0s") {
			t.Errorf("pause line %v; want a warning with the reason, resume_at %s and pause 5m0s", pl, resume)
		}
		if ends := linesWith(lines, "pause over"); len(ends) != 1 || ends[0].str("level") != "info" || ends[0].str("paused") != "5m0s" {
			t.Errorf("end-of-pause lines %v, want one info line", ends)
		}
		retries := linesWith(lines, "retrying")
		if len(retries) != 3 {
			t.Fatalf("%d retry lines, want 3:\n%s", len(retries), logs.String())
		}
		for i, l := range retries {
			wait, err := time.ParseDuration(l.str("wait"))
			if err != nil {
				t.Fatalf("retry line %d: wait %q is not a duration string: %v", i, l["wait"], err)
			}
			lo, hi := time.Second, 1250*time.Millisecond
			if i == 2 {
				lo, hi = tiktok.DefaultAppPause, tiktok.DefaultAppPause
			}
			if wait < lo || wait > hi || l.str("resume_at") == "" {
				t.Errorf("retry line %d says wait %s (resume_at %q), want %s to %s", i, wait, l.str("resume_at"), lo, hi)
			}
		}
	})
}

// TestIsolatedLimitsCostSecondsNotMinutes: per-second limit episodes at
// random (the simulator's SecondLimitRate: 40100 until the next whole
// second) during a concurrent pull of several advertisers through one
// Basic-tier limiter never start the long pause; each costs the app about a
// second, measured against the same pull without faults.
func TestIsolatedLimitsCostSecondsNotMinutes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := tiktoksim.Config{Seed: 11, Advertisers: 3, CampaignsPerAdvertiser: 4, AdGroupsPerCampaign: 3, AdsPerAdGroup: 3}
		pull := func(f tiktoksim.Faults) (time.Duration, *tiktoksim.Server, *tiktok.Limiter, string) {
			cfg.Faults = f
			sim := tiktoksim.New(cfg)
			var logs logtest.Buffer
			logger := infoLogger(&logs)
			lim := tiktok.NewLimiter(tiktok.LimiterConfig{QPS: tiktok.TierBasic.QPS, QPM: tiktok.TierBasic.QPM, Logger: logger})
			opts := inProcessOptions(sim, sim.AccessToken())
			opts.Limiter, opts.Logger, opts.PageSize = lim, logger, 100
			c := newClient(t, opts)
			start := time.Now()
			if _, err := fullPull(context.Background(), c, sim.AdvertiserIDs()); err != nil {
				t.Fatal(err)
			}
			return time.Since(start), sim, lim, logs.String()
		}
		clean, _, _, _ := pull(tiktoksim.Faults{})
		took, sim, lim, logs := pull(tiktoksim.Faults{Seed: 2, SecondLimitRate: 0.12})
		st, fs := lim.Stats(), sim.Stats().Faults
		t.Logf("%d requests; %d answered 40100 by per-second episodes, %d short pauses; %s vs %s without faults",
			sim.Stats().Requests, fs.SecondLimited, st.AppRetryPauses, took, clean)
		if fs.SecondLimited < 5 {
			t.Fatalf("only %d per-second 40100s; the test means nothing", fs.SecondLimited)
		}
		if st.AppPauses != 0 || strings.Contains(logs, "pausing all TikTok requests") {
			t.Errorf("isolated per-second limits started %d long pauses:\n%s", st.AppPauses, logs)
		}
		if st.AppRetryPauses == 0 || st.AppRetryPauses > fs.SecondLimited {
			t.Errorf("%d short pauses for %d limited answers", st.AppRetryPauses, fs.SecondLimited)
		}
		// Each pause holds the app for at most 1.25 s, plus the slot the
		// retried request takes at 10 requests a second.
		if extra, most := took-clean, time.Duration(st.AppRetryPauses)*(1250*time.Millisecond+2*time.Second/10); extra > most {
			t.Errorf("the limits added %s, more than %d pauses of about a second (%s)", extra, st.AppRetryPauses, most)
		}
	})
}

// TestLimitAnswersInFlightAreOneEvent: four requests in flight together all
// get 40100 (one per-second hit); that is one event, one short pause, not
// a persisting limit.
func TestLimitAnswersInFlightAreOneEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 4
		var mu sync.Mutex
		arrived := 0
		all := make(chan struct{})
		srv := newScripted(t, func(i int, w http.ResponseWriter, r *http.Request) {
			if i < n {
				mu.Lock()
				if arrived++; arrived == n {
					close(all)
				}
				mu.Unlock()
				<-all
				codeFailure(40100)(w, r)
				return
			}
			fmt.Fprint(w, `{"code":0,"message":"OK","request_id":"x","data":{"list":[],"page_info":{"page":1,"page_size":1000,"total_number":0,"total_page":0}}}`)
		})
		shared := tiktok.NewLimiter(tiktok.LimiterConfig{QPS: -1, QPM: -1, EscalateAfter: 2})
		var wg sync.WaitGroup
		start := time.Now()
		for i := range n {
			opts := inProcessOptions(srv, "tok-123456")
			opts.Limiter = shared
			c := newClient(t, opts)
			wg.Go(func() {
				if _, err := c.Campaigns(context.Background(), fmt.Sprint(i)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if st := shared.Stats(); st.AppRetryPauses != 1 || st.AppPauses != 0 {
			t.Errorf("four answers of one hit: %+v, want one short pause", st)
		}
		if d := time.Since(start); d < time.Second || d > 1250*time.Millisecond {
			t.Errorf("took %s, want one pause of 1 s to 1.25 s", d)
		}
		if srv.count() != 2*n {
			t.Errorf("%d requests, want %d", srv.count(), 2*n)
		}
	})
}

// TestEscalationRule drives a Limiter with limit answers (L), successes (S)
// and idle time (+D), each request sent when the limiter releases it.
func TestEscalationRule(t *testing.T) {
	tests := []struct {
		name          string
		escalateAfter int
		events        string
		short, long   uint64
	}{
		{"three in a row escalate", 0, "L L L", 2, 1},
		{"a success resets the count", 0, "L L S L L S", 4, 0},
		{"limits more than a minute apart do not add up", 0, "L L +2m L L", 4, 0},
		{"after the long pause the count starts again", 0, "L L L L L L", 4, 2},
		{"a limit after the long pause is short again", 0, "L L L L S", 3, 1},
		{"escalate after 1 pauses long at once (the old behaviour)", 1, "L S L", 0, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var logs logtest.Buffer
				l := tiktok.NewLimiter(tiktok.LimiterConfig{QPS: -1, QPM: -1, EscalateAfter: tc.escalateAfter, Logger: infoLogger(&logs)})
				ctx := context.Background()
				for _, ev := range strings.Fields(tc.events) {
					if d, ok := strings.CutPrefix(ev, "+"); ok {
						dur, err := time.ParseDuration(d)
						if err != nil {
							t.Fatal(err)
						}
						time.Sleep(dur)
						continue
					}
					if err := l.Wait(ctx, ""); err != nil {
						t.Fatal(err)
					}
					if ev == "L" {
						l.AppRateLimited()
					} else {
						l.AdvertiserOK("")
					}
				}
				st := l.Stats()
				if st.AppRetryPauses != tc.short || st.AppPauses != tc.long {
					t.Errorf("%s: %d short and %d long pauses, want %d and %d", tc.events, st.AppRetryPauses, st.AppPauses, tc.short, tc.long)
				}
				if n := strings.Count(logs.String(), "pausing all TikTok requests"); uint64(n) != tc.long {
					t.Errorf("%d pause lines for %d long pauses", n, tc.long)
				}
			})
		})
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/logtest"
	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/rs/zerolog"
)

// TestProgressLine: the bar's line in each phase: no total before the
// plan, the share of a fixed total during the pull with the ETA once a rate
// is measured, the pause while one holds the app, and a final line (not a
// blank one) with the time taken; never wider than the terminal.
func TestProgressLine(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.Local)
	until := t0.Add(5 * time.Minute)
	pause := tiktok.PauseState{Until: until, Since: t0, Reason: tiktok.ReasonMinuteLimit}
	type sample struct {
		at    time.Duration
		phase extract.Phase
		snap  extract.ProgressSnapshot
		pause tiktok.PauseState
	}
	for _, tc := range []struct {
		name    string
		samples []sample
		width   int
		want    string
	}{
		{"entities", []sample{{0, extract.PhaseEntities, extract.ProgressSnapshot{APICalls: 7}, tiktok.PauseState{}}}, 100,
			"entities  0 rows · 7 API calls"},
		{"pull, rate not measured yet", []sample{{0, extract.PhasePull, extract.ProgressSnapshot{Windows: 200, APICalls: 9}, tiktok.PauseState{}}}, 100,
			"pull      [----------------------------------------] 0% 0/200 windows · 0 rows · 9 API calls · ETA …"},
		{"pull at 2 windows/s", []sample{
			{0, extract.PhasePull, extract.ProgressSnapshot{Windows: 200}, tiktok.PauseState{}},
			{10 * time.Second, extract.PhasePull, extract.ProgressSnapshot{Windows: 200, WindowsDone: 20, Rows: 1234, APICalls: 43}, tiktok.PauseState{}},
			{20 * time.Second, extract.PhasePull, extract.ProgressSnapshot{Windows: 200, WindowsDone: 40, Rows: 2468, APICalls: 86}, tiktok.PauseState{}},
		}, 120, "pull      [######----------------------------] 20% 40/200 windows · 2468 rows · 86 API calls · 2.0 windows/s · ETA 1m20s"},
		{"paused", []sample{{0, extract.PhasePull, extract.ProgressSnapshot{Windows: 10, WindowsDone: 4, Rows: 1234, APICalls: 43}, pause}}, 200,
			"pull      [################------------------------] 40% 4/10 windows · 1234 rows · 43 API calls · ETA … · paused until 12:05:00: " + tiktok.ReasonMinuteLimit},
		{"narrow terminal drops the bar, then cuts", []sample{{0, extract.PhasePull, extract.ProgressSnapshot{Windows: 10, WindowsDone: 4, Rows: 1234, APICalls: 43}, tiktok.PauseState{}}}, 40,
			"pull      40% 4/10 windows · 1234 rows …"},
		{"done, with failures", []sample{
			{0, extract.PhasePull, extract.ProgressSnapshot{Windows: 10}, tiktok.PauseState{}},
			{90 * time.Second, extract.PhaseDone, extract.ProgressSnapshot{Windows: 10, WindowsDone: 10, Rows: 99, APICalls: 30, Failures: 1}, tiktok.PauseState{}},
		}, 120, "done      [########################################] 100% 10/10 windows · 99 rows · 30 API calls · 1 failed · in 1m30s"},
		{"stopped before the end", []sample{
			{0, extract.PhasePull, extract.ProgressSnapshot{Windows: 10}, tiktok.PauseState{}},
			{30 * time.Second, extract.PhaseDone, extract.ProgressSnapshot{Windows: 10, WindowsDone: 6, Rows: 50, APICalls: 12, Failures: 2}, tiktok.PauseState{}},
		}, 120, "stopped   [########################----------------] 60% 6/10 windows · 50 rows · 12 API calls · 2 failed · in 30s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v progressView
			var now time.Time
			for _, s := range tc.samples {
				now = t0.Add(s.at)
				v.update(now, s.phase, s.snap, s.pause)
			}
			got := v.line(now, tc.width)
			if got != tc.want {
				t.Errorf("line:\n got %q\nwant %q", got, tc.want)
			}
			if n := runeLen(got); n > tc.width {
				t.Errorf("%d columns, wider than %d", n, tc.width)
			}
		})
	}
}

// TestProgressETAFollowsTheMeasuredRate: with a fake clock, the ETA is the
// windows left over the smoothed rate of the pull: it tracks a rate that
// halves within about a minute, ignores the windows counted done at once
// (an earlier run's) and the time spent before the pull, and is never
// shorter than the truth by the factors the old bar showed (3-13x).
func TestProgressETAFollowsTheMeasuredRate(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var v progressView
	// Two minutes of entities and planning; 100 windows already done.
	v.update(t0, extract.PhaseEntities, extract.ProgressSnapshot{}, tiktok.PauseState{})
	v.update(t0.Add(2*time.Minute), extract.PhasePlan, extract.ProgressSnapshot{Windows: 1000, WindowsDone: 100}, tiktok.PauseState{})
	if _, ok := v.eta(); ok {
		t.Fatal("an ETA before the pull")
	}
	// The pull runs at 4 windows/s for a minute.
	now, done := t0.Add(2*time.Minute), int64(100)
	for range 60 {
		now, done = now.Add(time.Second), done+4
		v.update(now, extract.PhasePull, extract.ProgressSnapshot{Windows: 1000, WindowsDone: done}, tiktok.PauseState{})
	}
	eta, ok := v.eta()
	if truth := time.Duration(1000-done) * time.Second / 4; !ok || eta != truth {
		t.Fatalf("at 4/s: ETA %v (%v), want %v", eta, ok, truth)
	}
	// Then at 2 windows/s: within a minute and a half the ETA is within
	// 10% of the new truth.
	for range 90 {
		now, done = now.Add(time.Second), done+2
		v.update(now, extract.PhasePull, extract.ProgressSnapshot{Windows: 1000, WindowsDone: done}, tiktok.PauseState{})
	}
	eta, _ = v.eta()
	truth := time.Duration(1000-done) * time.Second / 2
	if ratio := float64(eta) / float64(truth); ratio < 0.9 || ratio > 1.1 {
		t.Errorf("after the slow-down: ETA %v, truth %v (ratio %.2f)", eta, truth, ratio)
	}
	// A two-minute rate-limit pause: nothing completes, the rate holds, and
	// the ETA adds what is left of the pause.
	rate := v.rate
	pause := tiktok.PauseState{Until: now.Add(2 * time.Minute), Since: now, Reason: tiktok.ReasonMinuteLimit}
	for range 30 {
		now = now.Add(time.Second)
		v.update(now, extract.PhasePull, extract.ProgressSnapshot{Windows: 1000, WindowsDone: done}, pause)
	}
	eta, _ = v.eta()
	want := (time.Duration(float64(1000-done)/rate*float64(time.Second)) + 90*time.Second).Round(time.Second)
	if v.rate != rate || eta != want {
		t.Errorf("paused: rate %.3f (was %.3f), ETA %v, want %v", v.rate, rate, eta, want)
	}
}

// vt is a minimal terminal: it keeps the lines on screen, honouring the
// carriage return and erase-line that the bar writes.
func vt(out string) []string {
	lines := []string{""}
	for i := 0; i < len(out); i++ {
		switch {
		case strings.HasPrefix(out[i:], "\x1b[K"):
			i += len("\x1b[K") - 1
			lines[len(lines)-1] = "" // the cursor is at column 0 whenever the bar erases
		case out[i] == '\r':
		case out[i] == '\n':
			lines = append(lines, "")
		default:
			lines[len(lines)-1] += string(out[i])
		}
	}
	return lines
}

// TestLogLinesPrintAboveTheBar: a warning logged while the bar is shown
// lands on its own line above the bar, which is redrawn below it; the final
// state stays on screen.
func TestLogLinesPrintAboveTheBar(t *testing.T) {
	var buf bytes.Buffer
	b := &termBar{out: &buf}
	log := zerolog.New(zerolog.ConsoleWriter{Out: b, NoColor: true, PartsExclude: []string{zerolog.TimestampFieldName}})
	b.draw("pull [#---] 25%")
	log.Warn().Msg("TikTok rate limit persisted")
	b.draw("pull [##--] 50%")
	log.Warn().Msg("second warning")
	b.finish("done [####] 100%")
	got := vt(buf.String())
	want := []string{"WRN TikTok rate limit persisted", "WRN second warning", "done [####] 100%", ""}
	if !slices.Equal(got, want) {
		t.Errorf("screen:\n%q\nwant\n%q", got, want)
	}
	// Without a bar, log lines pass through untouched.
	buf.Reset()
	log.Info().Msg("plain")
	if got := buf.String(); got != "INF plain\n" {
		t.Errorf("no bar: %q", got)
	}
}

// TestProgressLinesWhenNotATerminal: without a terminal there is no bar,
// only a JSON progress line every interval naming the phase, the fixed
// total and, once measured, the ETA (fake clock: testing/synctest).
func TestProgressLinesWhenNotATerminal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf logtest.Buffer
		a := &app{log: zerolog.New(&buf)}
		p := &extract.Progress{}
		p.SetPhase(extract.PhasePull)
		p.Windows.Store(100)
		stop := a.progressLines(p, tiktok.NewLimiter(tiktok.LimiterConfig{QPS: 10, QPM: 600}), 10*time.Second)
		for range 3 {
			p.WindowsDone.Add(10)
			time.Sleep(10 * time.Second)
			synctest.Wait()
		}
		stop()
		var lines []map[string]any
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("not JSON: %q", l)
			}
			lines = append(lines, m)
		}
		if len(lines) != 3 {
			t.Fatalf("%d lines, want 3: %s", len(lines), buf.String())
		}
		last := lines[2]
		if last["phase"] != "pull" || last["windows"] != float64(100) || last["windows_done"] != float64(30) || last["eta"] != "1m10s" {
			t.Errorf("last line %v", last)
		}
		if strings.Contains(buf.String(), "\r") || strings.Contains(buf.String(), "\x1b") {
			t.Errorf("terminal controls in plain lines: %q", buf.String())
		}
	})
}

// TestLogDurationsAreStrings: every Dur field of the CLI's logger reads as
// a Go duration ("1.5s"), not a number of milliseconds.
func TestLogDurationsAreStrings(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, err := newLogger(config.Log{Level: "info", Format: "json"}, f)
	if err != nil {
		t.Fatal(err)
	}
	l.Info().Dur("backoff", 1500*time.Millisecond).Msg("x")
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"backoff":"1.5s"`) {
		t.Errorf("log line %s", b)
	}
}

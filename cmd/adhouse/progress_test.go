package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/tiktok"
)

// TestProgressTextShowsPause: the progress bar says when a long rate-limit
// pause holds the app, until when and why, and says nothing of it otherwise.
func TestProgressTextShowsPause(t *testing.T) {
	s := extract.ProgressSnapshot{Windows: 10, WindowsDone: 4, Rows: 1234, APICalls: 43}
	if got, want := progressText(s, tiktok.PauseState{}), "rows 1234 · API calls 43 · windows"; got != want {
		t.Errorf("no pause: %q, want %q", got, want)
	}
	until := time.Date(2026, 3, 1, 12, 5, 0, 0, time.Local)
	got := progressText(s, tiktok.PauseState{Until: until, Since: until.Add(-5 * time.Minute), Reason: tiktok.ReasonMinuteLimit})
	if want := "rows 1234 · API calls 43 · paused until 12:05:00: " + tiktok.ReasonMinuteLimit + " · windows"; got != want {
		t.Errorf("paused: %q, want %q", got, want)
	}
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

package warehouse

import (
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"
)

// TestSilentVerdict: a silent engine is replaced after silentLimit when its
// listeners refuse or it does no work, and only after busyLimit while it
// works (as on a host whose cores a fuzzer took, where a backfill's engine
// was once replaced mid-load).
func TestSilentVerdict(t *testing.T) {
	s := time.Second
	for _, c := range []struct {
		name    string
		silent  time.Duration
		refused bool
		idle    time.Duration
		replace bool
	}{
		{"answered lately", 3 * s, true, 3 * s, false},
		{"deaf: refuses connections", 6 * s, true, 0, true},
		{"frozen: no work", 6 * s, false, 6 * s, true},
		{"busy", 6 * s, false, 0, false},
		{"busy for a minute", time.Minute, false, s, false},
		{"stopped working a while ago", time.Minute, false, 10 * s, true},
		{"busy past the limit", busyLimit + s, false, 0, true},
	} {
		if got := silentVerdict(c.silent, c.refused, c.idle); got != c.replace {
			t.Errorf("%s: replace = %v, want %v", c.name, got, c.replace)
		}
	}
}

// TestProgressTellsBusyFromIdle reads real processes: this one while a
// goroutine spins, and a sleeping child.
func TestProgressTellsBusyFromIdle(t *testing.T) {
	sleeper := exec.Command("sleep", "30")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() }()
	var stop atomic.Bool
	defer stop.Store(true)
	go func() {
		for !stop.Load() { // spins: the work the reading must see
		}
	}()
	var busy, idle progress
	start := time.Now()
	busy.observe(os.Getpid(), start)
	idle.observe(sleeper.Process.Pid, start)
	var busyIdle, sleeperIdle time.Duration
	for i := 1; i <= 6; i++ {
		time.Sleep(250 * time.Millisecond)
		now := time.Now()
		busyIdle, sleeperIdle = busy.observe(os.Getpid(), now), idle.observe(sleeper.Process.Pid, now)
	}
	if busyIdle > 300*time.Millisecond {
		t.Errorf("a spinning process did no work for %s", busyIdle)
	}
	if sleeperIdle < time.Second {
		t.Errorf("a sleeping process counted as working (idle %s)", sleeperIdle)
	}
	// A reading that fails is no baseline: the lifetime CPU time of the
	// next good one is not work done since.
	var flaky progress
	flaky.record(0, false, start)
	if d := flaky.record(123456, true, start.Add(time.Second)); d != time.Second {
		t.Errorf("after a failed reading, a good one counted as work (idle %s, want 1s)", d)
	}
	if d := flaky.record(123456, true, start.Add(6*time.Second)); d != 6*time.Second {
		t.Errorf("no CPU time in 5 s counted as work (idle %s, want 6s)", d)
	}
	var gone progress
	gone.observe(1<<30, start)
	if d := gone.observe(1<<30, start.Add(6*time.Second)); d != 6*time.Second {
		t.Errorf("a process /proc cannot read: idle %s, want all 6s since the first reading", d)
	}
}

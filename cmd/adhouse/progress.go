package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/tiktok"
)

// progressView turns samples of a run's progress into the bar's line: the
// phase, the share of windows done of a total planned before the pull, the
// rate of windows per second smoothed over the last half minute or so, and
// the ETA from that rate. It keeps no clock of its own: callers pass the time
// of each sample (tests pass a fake one).
type progressView struct {
	start    time.Time
	now      time.Time // of the last sample
	last     time.Time
	lastDone int64
	rate     float64 // windows per second, smoothed; 0 until measured
	phase    extract.Phase
	snap     extract.ProgressSnapshot
	pause    tiktok.PauseState
}

// rateWindow is the time constant of the rate's smoothing: long enough that
// one slow window (a 30-day report of a big account) does not swing the ETA,
// short enough that a rate-limit pause shows within a minute.
const rateWindow = 30 * time.Second

// update takes one sample.
func (v *progressView) update(now time.Time, phase extract.Phase, s extract.ProgressSnapshot, pause tiktok.PauseState) {
	if v.start.IsZero() {
		v.start, v.last, v.lastDone = now, now, s.WindowsDone
	}
	v.phase, v.snap, v.pause, v.now = phase, s, pause, now
	if phase != extract.PhasePull || pause.Active() {
		// Only the pull's pace predicts the pull: planning and entities
		// would make the first rate look slow, and windows an earlier run
		// completed (counted done at once) fast. A rate-limit pause is
		// not the pace either: the ETA adds what is left of it instead.
		v.last, v.lastDone = now, s.WindowsDone
		return
	}
	dt := now.Sub(v.last).Seconds()
	if dt <= 0 {
		return
	}
	inst := float64(s.WindowsDone-v.lastDone) / dt
	if v.rate == 0 {
		if s.WindowsDone > v.lastDone {
			v.rate = inst
		}
	} else {
		alpha := 1 - math.Exp(-dt/rateWindow.Seconds())
		v.rate += alpha * (inst - v.rate)
	}
	v.last, v.lastDone = now, s.WindowsDone
}

// eta is the time left at the smoothed rate, plus what is left of a
// rate-limit pause holding the app, and whether there is one yet.
func (v *progressView) eta() (time.Duration, bool) {
	left := v.snap.Windows - v.snap.WindowsDone
	if v.phase != extract.PhasePull || v.rate <= 0 || left <= 0 {
		return 0, false
	}
	eta := time.Duration(float64(left) / v.rate * float64(time.Second))
	if v.pause.Active() && v.pause.Until.After(v.now) {
		eta += v.pause.Until.Sub(v.now)
	}
	return eta.Round(time.Second), true
}

// line renders the bar in at most width columns (a terminal line).
func (v *progressView) line(now time.Time, width int) string {
	s := v.snap
	head := string(v.phase)
	if v.phase == extract.PhaseDone && s.WindowsDone < s.Windows {
		head = "stopped" // cancelled, or a stream failed: not everything was pulled
	}
	var tail []string
	if s.Windows > 0 {
		tail = append(tail, fmt.Sprintf("%d%% %d/%d windows", sharePercent(s.WindowsDone, s.Windows), s.WindowsDone, s.Windows))
	}
	tail = append(tail, fmt.Sprintf("%d rows", s.Rows), fmt.Sprintf("%d API calls", s.APICalls))
	if s.Failures > 0 {
		tail = append(tail, fmt.Sprintf("%d failed", s.Failures))
	}
	if v.phase == extract.PhasePull {
		if eta, ok := v.eta(); ok {
			tail = append(tail, fmt.Sprintf("%.1f windows/s", v.rate), "ETA "+eta.String())
		} else {
			tail = append(tail, "ETA …")
		}
	}
	if v.phase == extract.PhaseDone {
		tail = append(tail, "in "+now.Sub(v.start).Round(100*time.Millisecond).String())
	}
	if v.pause.Active() {
		tail = append(tail, fmt.Sprintf("paused until %s: %s", v.pause.Until.Local().Format("15:04:05"), v.pause.Reason))
	}
	text := strings.Join(tail, " · ")
	bar := ""
	if s.Windows > 0 {
		// The bar gets what the text leaves, between 10 and 40 cells.
		cells := min(40, width-max(9, len(head))-runeLen(text)-4)
		if cells >= 10 {
			full := int(int64(cells) * s.WindowsDone / s.Windows)
			bar = " [" + strings.Repeat("#", full) + strings.Repeat("-", cells-full) + "]"
		}
	}
	out := fmt.Sprintf("%-9s%s %s", head, bar, text)
	if runeLen(out) > width && width > 1 {
		out = string([]rune(out)[:width-1]) + "…"
	}
	return out
}

func sharePercent(done, total int64) int64 {
	if total <= 0 {
		return 0
	}
	return done * 100 / total
}

func runeLen(s string) int { return len([]rune(s)) }

// termBar is stderr while a progress bar may be on it: log lines written
// through it appear above the bar, which is redrawn below them, so a
// warning never lands in the middle of the bar. The logger writes through
// it (newLogger), and so does the bar.
type termBar struct {
	mu   sync.Mutex
	out  io.Writer
	line string // the bar's current text; "" when no bar is shown
}

// stderrBar is the process's stderr, shared by the logger and the bar.
var stderrBar = &termBar{out: os.Stderr}

// clear is the terminal's carriage return and erase-line.
const clear = "\r\x1b[K"

// Write writes p (whole log lines) above the bar.
func (b *termBar) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.line == "" {
		return b.out.Write(p)
	}
	if _, err := io.WriteString(b.out, clear); err != nil {
		return 0, err
	}
	n, err := b.out.Write(p)
	if err == nil && len(p) > 0 && p[len(p)-1] != '\n' {
		_, err = io.WriteString(b.out, "\n")
	}
	if err == nil {
		_, err = io.WriteString(b.out, b.line)
	}
	return n, err
}

// draw replaces the bar's line.
func (b *termBar) draw(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.line = line
	_, _ = io.WriteString(b.out, clear+line)
}

// finish leaves the final line on the terminal and ends the bar.
func (b *termBar) finish(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.line = ""
	_, _ = io.WriteString(b.out, clear+line+"\n")
}

// showProgress renders the run's progress until the returned stop is called:
// on a terminal, a bar redrawn five times a second (log lines appear above
// it; the last state stays on screen when the run ends); otherwise a
// progress log line every ten seconds. Both name the phase, say when the
// app is held by a long rate-limit pause, and give the ETA once the pull's
// rate is measured.
func (a *app) showProgress(p *extract.Progress, lim *tiktok.Limiter) (stop func()) {
	tty := term.IsTerminal(int(os.Stderr.Fd()))
	width := func() int {
		if w, _, err := term.GetSize(int(os.Stderr.Fd())); err == nil && w > 20 {
			return w
		}
		return 100
	}
	if !tty {
		return a.progressLines(p, lim, 10*time.Second)
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var v progressView
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				v.update(time.Now(), p.Phase(), p.Snapshot(), tiktok.PauseState{})
				if v.phase == "" {
					return // the run never started: nothing to leave behind
				}
				v.phase = extract.PhaseDone
				stderrBar.finish(v.line(time.Now(), width()))
				return
			case <-tick.C:
				v.update(time.Now(), p.Phase(), p.Snapshot(), lim.Pause())
				if v.phase != "" {
					stderrBar.draw(v.line(time.Now(), width()))
				}
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// progressLines logs the run's progress every interval, for logs that are
// not a terminal: the same facts as the bar, as fields.
func (a *app) progressLines(p *extract.Progress, lim *tiktok.Limiter, interval time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var v progressView
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				v.update(time.Now(), p.Phase(), p.Snapshot(), lim.Pause())
				s := v.snap
				ev := a.log.Info().Str("phase", string(v.phase)).Int64("windows_done", s.WindowsDone).Int64("windows", s.Windows).
					Int64("rows", s.Rows).Int64("api_calls", s.APICalls).Int64("failures", s.Failures)
				if eta, ok := v.eta(); ok {
					ev = ev.Str("eta", eta.String())
				}
				if v.pause.Active() {
					ev = ev.Str("paused_until", v.pause.Until.UTC().Format(time.RFC3339)).Str("pause_reason", v.pause.Reason)
				}
				ev.Msg("progress")
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// printAlreadyDone says when a backfill skipped windows an earlier run of the
// same range completed, and that --force pulls them again: a re-run that
// pulls nothing must not look like a run that found nothing.
func printAlreadyDone(out io.Writer, job extract.Job, res extract.Result) {
	if res.AlreadyDone == 0 {
		return
	}
	if res.Windows == 0 {
		fmt.Fprintf(out, "%s was already done: all %d windows were loaded by an earlier run of this range; nothing pulled (--force pulls the range again)\n",
			job.Name, res.AlreadyDone)
		return
	}
	fmt.Fprintf(out, "  %d windows were already loaded by an earlier run of this range and skipped (--force pulls them again)\n", res.AlreadyDone)
}

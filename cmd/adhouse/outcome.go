package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/adhouse/adhouse/etl/extract"
)

// reportRun prints a run's summary and returns the command's error: nil
// when everything loaded; a partial failure (exit status 2) when some
// advertisers completed and some parts failed, each listed with what to do;
// the run's own error (exit status 1, 130 when interrupted) when nothing
// completed or the run stopped. The first line says which, so a failed run
// never ends on a success-looking summary.
func reportRun(out io.Writer, job extract.Job, res extract.Result, runErr error, tolerance string) error {
	outcome := res.Outcome(runErr)
	head := job.Name
	switch outcome {
	case "partial":
		head += " partly failed"
	case "failed":
		head += " failed"
		if errors.Is(runErr, context.Canceled) {
			head = job.Name + " interrupted"
		}
	}
	advertisers := fmt.Sprintf("%d advertisers", res.Advertisers)
	if outcome != "ok" {
		advertisers += fmt.Sprintf(" (%d complete)", len(res.Succeeded))
	}
	fmt.Fprintf(out, "%s: %s, %d windows, %d rows, %d API calls (%d retries)\n",
		head, advertisers, res.Windows, res.Rows, res.APICalls, res.Retries)
	if res.APICalls > 0 {
		fmt.Fprintf(out, "  %s\n", res.Calls)
	}
	if outcome == "ok" {
		printRunReconciliation(out, job, res, tolerance)
		printAlreadyDone(out, job, res)
		return nil
	}
	var parts *extract.PartsFailedError
	if !errors.As(runErr, &parts) {
		// The run stopped: its error is the one line to read (main prints
		// it), with what to do.
		if errors.Is(runErr, context.Canceled) {
			return runErr
		}
		var down *extract.WarehouseDownError
		if errors.As(runErr, &down) {
			return runErr // its message is its hint
		}
		return fmt.Errorf("%w\n  → %s", runErr, extract.Hint(runErr))
	}
	// Every failed part, grouped by what to do about it.
	byHint := map[string][]string{}
	var hints []string
	for i, e := range res.Errors {
		h := extract.Hint(e)
		if _, ok := byHint[h]; !ok {
			hints = append(hints, h)
		}
		byHint[h] = append(byHint[h], res.Failed[i])
	}
	for _, h := range hints {
		for _, f := range byHint[h] {
			fmt.Fprintf(out, "  failed: %s\n", f)
		}
		fmt.Fprintf(out, "    → %s\n", h)
	}
	printRunReconciliation(out, job, res, tolerance)
	err := runFailed{parts: len(res.Failed), complete: len(res.Succeeded), advertisers: res.Advertisers, partial: outcome == "partial"}
	return err
}

// runFailed is a run that went to its end with failed parts, listed in the
// summary above it: exit status 2 when some advertisers completed (partial
// failure), 1 when none did.
type runFailed struct {
	parts, complete, advertisers int
	partial                      bool
}

func (e runFailed) Error() string {
	s := "s"
	if e.parts == 1 {
		s = ""
	}
	what := "partial failure"
	if !e.partial {
		what = "failed"
	}
	return fmt.Sprintf("%s: %d of %d advertisers complete, %d part%s failed (listed above); checkpoints stay before what failed and the next run retries it",
		what, e.complete, e.advertisers, e.parts, s)
}

// ExitCode is 2 for a partial failure, 1 when no advertiser completed.
func (e runFailed) ExitCode() int {
	if e.partial {
		return 2
	}
	return 1
}

// Command adhouse keeps a ClickHouse warehouse of TikTok Ads entities and
// statistics: one binary for the embedded warehouse, migrations, syncs, the
// daemon, imports, exports, the API simulator and the demo.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/adhouse/adhouse/etl/config"
)

// app carries what every subcommand needs: the loaded configuration and the logger.
type app struct {
	configPath string
	cfg        config.Config
	log        zerolog.Logger
}

func main() {
	// ADHOUSE_CPUPROFILE writes a CPU profile of the whole command, for
	// finding where a slow sync spends its time.
	if path := os.Getenv("ADHOUSE_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				defer pprof.StopCPUProfile()
			}
		}
	}
	// Syncs allocate many short-lived rows; trading some memory (bounded by
	// the batch size) for half the collections pays. GOGC still overrides.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(300)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	pprof.StopCPUProfile()
	if err != nil {
		fmt.Fprintln(os.Stderr, "adhouse:", err)
		os.Exit(exitStatus(err))
	}
}

// exitStatus is the process status for a command's error: 130 when
// interrupted; the status a command's error names (reconcile's differences
// and a sync's partial failure exit 2); 1 otherwise.
func exitStatus(err error) int {
	if errors.Is(err, context.Canceled) {
		return 130
	}
	var coded interface{ ExitCode() int }
	if errors.As(err, &coded) {
		return coded.ExitCode()
	}
	return 1
}

func newRootCmd() *cobra.Command {
	a := &app{}
	root := &cobra.Command{
		Use:           "adhouse",
		Short:         "A ClickHouse reporting warehouse for TikTok Ads",
		Version:       versionText(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.LoadFile(a.configPath)
			if err != nil {
				return err
			}
			// A ${VAR} left unset fails only the commands that use its key.
			if err := cfg.Need(needs(cmd)...); err != nil {
				return fmt.Errorf("config %s: %w", a.configPath, err)
			}
			a.cfg = cfg
			a.log, err = newLogger(cfg.Log, os.Stderr)
			return err
		},
	}
	root.PersistentFlags().StringVarP(&a.configPath, "config", "c", os.Getenv("ADHOUSE_CONFIG"),
		"configuration file (default: built-in defaults, the embedded warehouse; env ADHOUSE_CONFIG)")
	root.AddCommand(
		newVersionCmd(),
		newWarehouseCmd(a),
		newMigrateCmd(a),
		newDemoCmd(a),
		newSyncCmd(a),
		newBackfillCmd(a),
		newTikTokSimCmd(),
		newAuthCmd(),
	)
	for _, c := range commands {
		root.AddCommand(c(a))
	}
	applyHelp(root)
	return root
}

// needsKey annotates a command with the configuration keys it uses (comma
// separated, see config.Need); without it a command uses them all.
const needsKey = "adhouse/needs"

// needs returns the keys cmd uses, from its annotation.
func needs(cmd *cobra.Command) []string {
	if v, ok := cmd.Annotations[needsKey]; ok {
		return strings.Split(v, ",")
	}
	return nil
}

// commands lists subcommands that files of this package add in init, so a
// feature's command lives beside its code without editing the root.
var commands []func(*app) *cobra.Command

// newLogger builds the zerolog logger: console on a terminal, JSON otherwise.
func newLogger(c config.Log, out *os.File) (zerolog.Logger, error) {
	// Durations reach humans: "1.2s" and "5m0s", not a bare number of
	// milliseconds, in every Dur field of every log line.
	zerolog.DurationFieldFormat = zerolog.DurationFormatString
	level, err := zerolog.ParseLevel(c.Level)
	if err != nil {
		return zerolog.Logger{}, fmt.Errorf("log.level: %w", err)
	}
	console := c.Format == "console" || (c.Format == "auto" && term.IsTerminal(int(out.Fd())))
	// On stderr, log lines go above the progress bar (progress.go).
	var w io.Writer = out
	if out == os.Stderr {
		w = stderrBar
	}
	var l zerolog.Logger
	if console {
		l = zerolog.New(zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05"})
	} else {
		l = zerolog.New(w)
	}
	return l.Level(level).With().Timestamp().Logger(), nil
}

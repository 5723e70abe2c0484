package main

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/adhouse/adhouse/etl/warehouse"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the adhouse version, its commit and the Go version it was built with",
		Long:    "Prints the version (set by `make build` from git describe), the commit and the Go toolchain; `adhouse --version` prints the same.",
		Example: "  adhouse version\n  adhouse --version",
		Args:    cobra.NoArgs,
		// The version needs no configuration.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "adhouse", versionText())
			return err
		},
	}
}

// buildCommit is the commit `make build` passes with -ldflags -X (the Go
// toolchain's own VCS stamp is used when it has one).
var buildCommit string

// versionText is the version line: adhouse's version, the commit it was
// built from (with "+dirty" for uncommitted changes) and the Go version.
func versionText() string {
	commit, dirty := buildCommit, ""
	if commit == "" {
		commit = "unknown"
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
				if len(commit) > 12 {
					commit = commit[:12]
				}
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
	}
	return fmt.Sprintf("%s (commit %s%s, %s %s/%s)", warehouse.Version, commit, dirty, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func newWarehouseCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "warehouse",
		Short: "Start, stop or inspect the embedded ClickHouse warehouse",
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:         "start",
			Short:       "Start the embedded warehouse on loopback and wait until it answers",
			Annotations: map[string]string{needsKey: "warehouse,clickhouse.database,bi"},
			RunE: func(cmd *cobra.Command, _ []string) error {
				st, err := warehouse.Start(cmd.Context(), a.engineOptions())
				if err != nil {
					return err
				}
				printState(cmd, st)
				return nil
			},
		},
		&cobra.Command{
			Use:         "stop",
			Short:       "Stop the embedded warehouse",
			Annotations: map[string]string{needsKey: "warehouse.dir"},
			RunE: func(cmd *cobra.Command, _ []string) error {
				if err := warehouse.Stop(cmd.Context(), a.cfg.Warehouse.Dir); err != nil {
					return err
				}
				_, err := fmt.Fprintln(cmd.OutOrStdout(), "stopped")
				return err
			},
		},
		&cobra.Command{
			Use:         "status",
			Short:       "Say whether the embedded warehouse runs, and where",
			Annotations: map[string]string{needsKey: "warehouse.dir"},
			RunE: func(cmd *cobra.Command, _ []string) error {
				st, err := warehouse.Status(cmd.Context(), a.cfg.Warehouse.Dir)
				if err != nil {
					return err
				}
				printState(cmd, st)
				return nil
			},
		},
		newEngineCmd(),
	)
	return cmd
}

// newEngineCmd is the child process that serves the engine; users never call it.
func newEngineCmd() *cobra.Command {
	var dir, library string
	var serve, native bool
	cmd := &cobra.Command{
		Use:               "engine",
		Hidden:            true,
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE: func(cmd *cobra.Command, _ []string) error {
			if serve {
				return warehouse.RunEngine(library, dir, native)
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			return warehouse.Supervise(cmd.Context(), self, library, dir, log.New(os.Stderr, "", log.LstdFlags))
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "prepared warehouse folder")
	cmd.Flags().StringVar(&library, "library", "", "path of libchdb.so")
	cmd.Flags().BoolVar(&serve, "serve", false, "serve the engine in this process (the supervisor's child)")
	cmd.Flags().BoolVar(&native, "native", false, "also open the native-protocol port (with --serve)")
	return cmd
}

func (a *app) engineOptions() warehouse.EngineOptions {
	w := a.cfg.Warehouse
	return warehouse.EngineOptions{
		Dir: w.Dir, Library: libraryPath(w.Library), HTTPPort: w.HTTPPort, Native: w.Native, TCPPort: w.TCPPort, StartTimeout: w.StartTimeout,
		Database: a.cfg.ClickHouse.Database, BI: a.cfg.BI, Cluster: w.Cluster,
	}
}

// libraryPath finds a relative engine library from the working folder, or
// else from the checkout the binary was built into (bin/adhouse), so
// `bin/adhouse demo` works from any folder.
func libraryPath(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if _, err := os.Stat(p); err == nil {
		return p
	}
	if exe, err := os.Executable(); err == nil {
		candidate := filepath.Join(filepath.Dir(exe), "..", p)
		if _, err := os.Stat(candidate); err == nil {
			return candidate
		}
	}
	return p
}

func printState(cmd *cobra.Command, st warehouse.State) {
	native := "off"
	if st.TCPPort != 0 {
		native = st.NativeAddr()
	}
	fmt.Fprintf(cmd.OutOrStdout(), "running pid=%d http=%s native=%s dir=%s user=%s (password in %s/admin.password)\n",
		st.PID, st.HTTPAddr(), native, st.Dir, warehouse.AdminUser, st.Dir)
}

// Package warehousetest gives tests a real ClickHouse: the embedded engine that
// `make test` starts (named by ADHOUSE_TEST_WAREHOUSE_DIR), or one this test
// binary starts for itself. Without an engine, tests skip locally and fail
// under CI=true, so CI can never pass having tested nothing.
package warehousetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/warehouse"
	"github.com/adhouse/adhouse/queries"
	"github.com/adhouse/adhouse/schema"
)

// Protocols lists both wire protocols; integration tests run over each.
var Protocols = []config.Protocol{config.ProtocolNative, config.ProtocolHTTP}

// ForEachProtocol runs fn as a subtest per protocol.
func ForEachProtocol(t *testing.T, fn func(t *testing.T, proto config.Protocol)) {
	for _, p := range Protocols {
		t.Run(string(p), func(t *testing.T) { fn(t, p) })
	}
}

var (
	sharedOnce sync.Once
	sharedDir  string
	sharedErr  error
)

// Dir returns the folder of a running embedded warehouse for this test binary.
func Dir(t testing.TB) string {
	t.Helper()
	skipShort(t)
	sharedOnce.Do(func() {
		if d := os.Getenv("ADHOUSE_TEST_WAREHOUSE_DIR"); d != "" {
			sharedDir = d
			_, sharedErr = warehouse.Status(context.Background(), d)
			return
		}
		sharedDir, sharedErr = startPrivate(filepath.Join(os.TempDir(), fmt.Sprintf("adhouse-test-%d", os.Getpid())), nil)
	})
	if sharedErr != nil {
		Unavailable(t, sharedErr)
	}
	return sharedDir
}

// skipShort skips integration tests under -short before anything is built
// or started: `make unit` is the quick loop.
func skipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: starts ClickHouse (skipped with -short)")
	}
}

// Unavailable fails the test under CI=true and skips it otherwise.
func Unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("no ClickHouse for integration tests (CI=true): %v", err)
	}
	t.Skipf("no ClickHouse for integration tests (run `make test`): %v", err)
}

// Config returns a configuration pointing at the test warehouse over proto,
// with a database of its own that is dropped when the test ends.
func Config(t testing.TB, proto config.Protocol) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Warehouse.Dir = Dir(t)
	cfg.ClickHouse.Protocol = proto
	cfg.ClickHouse.Database = "t_" + randomHex(6)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, _, err := warehouse.Connect(ctx, cfg); err == nil {
			_ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+cfg.ClickHouse.Database+" SYNC")
			conn.Close()
		}
	})
	return cfg
}

// Open connects to the test warehouse over proto with a fresh database name
// (not yet created).
func Open(t testing.TB, proto config.Protocol) (driver.Conn, config.Config) {
	t.Helper()
	cfg := Config(t, proto)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, _, err := warehouse.Connect(ctx, cfg)
	if err != nil {
		t.Fatalf("connecting to the test warehouse: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, cfg
}

// Migrated is [Open] with the whole schema applied.
func Migrated(t testing.TB, proto config.Protocol) (driver.Conn, config.Config) {
	t.Helper()
	conn, cfg := Open(t, proto)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := queries.Migrate(ctx, conn, schema.Target{Database: cfg.ClickHouse.Database}); err != nil {
		t.Fatalf("migrating: %v", err)
	}
	return conn, cfg
}

// Private starts an engine of the test's own in a temporary folder, for tests
// that stop or kill it; it is stopped when the test ends.
func Private(t testing.TB) warehouse.State {
	t.Helper()
	return PrivateIn(t, t.TempDir())
}

// PrivateIn is [Private] with the engine's folder at dir (e.g. on a small or
// read-only filesystem the test mounted).
func PrivateIn(t testing.TB, dir string) warehouse.State {
	t.Helper()
	return PrivateWith(t, dir, nil)
}

// PrivateWith is [PrivateIn] with engine options changed by configure, e.g.
// the shipped default of HTTP only (test engines also serve native, so
// tests can run over both protocols).
func PrivateWith(t testing.TB, dir string, configure func(*warehouse.EngineOptions)) warehouse.State {
	t.Helper()
	skipShort(t)
	if _, err := startPrivate(dir, configure); err != nil {
		Unavailable(t, err)
	}
	st, err := warehouse.Status(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = warehouse.Stop(context.Background(), dir) })
	return st
}

// Restart starts the engine of a folder again after a stop or a kill, on the
// same ports.
func Restart(t testing.TB, st warehouse.State) warehouse.State {
	t.Helper()
	opts, err := engineOptions(st.Dir)
	if err != nil {
		t.Fatal(err)
	}
	opts.TCPPort, opts.HTTPPort, opts.Native = st.TCPPort, st.HTTPPort, st.TCPPort != 0
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	nst, err := warehouse.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	return nst
}

// Binary returns the adhouse executable for tests that run it as a process.
func Binary(t testing.TB) string {
	t.Helper()
	skipShort(t)
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := adhouseBinary(root)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func startPrivate(dir string, configure func(*warehouse.EngineOptions)) (string, error) {
	opts, err := engineOptions(dir)
	if err != nil {
		return "", err
	}
	if configure != nil {
		configure(&opts)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err = warehouse.Start(ctx, opts)
	return dir, err
}

func engineOptions(dir string) (warehouse.EngineOptions, error) {
	root, err := moduleRoot()
	if err != nil {
		return warehouse.EngineOptions{}, err
	}
	lib := os.Getenv("ADHOUSE_LIBCHDB")
	if lib == "" {
		lib = filepath.Join(root, config.Default().Warehouse.Library)
	}
	if _, err := os.Stat(lib); err != nil {
		return warehouse.EngineOptions{}, fmt.Errorf("libchdb.so not installed (run `make tools`): %w", err)
	}
	bin, err := adhouseBinary(root)
	if err != nil {
		return warehouse.EngineOptions{}, err
	}
	return warehouse.EngineOptions{Dir: dir, Library: lib, Binary: bin, StartTimeout: time.Minute, DieWithParent: true,
		Database: config.Default().ClickHouse.Database, Native: true}, nil
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// adhouseBinary returns ADHOUSE_BIN, or builds the adhouse command once per
// test binary: the engine runs in a process of its own, never in the test's.
func adhouseBinary(root string) (string, error) {
	binOnce.Do(func() {
		if b := os.Getenv("ADHOUSE_BIN"); b != "" {
			binPath = b
			return
		}
		dir, err := os.MkdirTemp("", "adhouse-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "adhouse")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/adhouse")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("building adhouse: %v\n%s", err, out)
		}
	})
	return binPath, binErr
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

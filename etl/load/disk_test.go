package load_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/warehouse"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/queries"
	"github.com/adhouse/adhouse/schema"
)

// mountTmpfs mounts a small tmpfs for the test and unmounts it at the end. It
// needs root with CAP_SYS_ADMIN, which this project's machines and CI have.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mounting a tmpfs: %v: %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// TestDiskFullAndReadOnlyDataDir fills the warehouse's disk, then makes it
// read-only: each time a load fails with a clear error, nothing of it is
// visible, earlier data is intact, and the load succeeds once space or write
// access is back.
func TestDiskFullAndReadOnlyDataDir(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a filesystem")
	}
	mnt := mountTmpfs(t, "600m")
	st := warehousetest.PrivateIn(t, filepath.Join(mnt, "warehouse"))
	ctx := context.Background()
	cfg := config.Default()
	cfg.Warehouse.Dir = st.Dir
	cfg.ClickHouse.Database = "disk"
	conn, _, err := warehouse.Connect(ctx, cfg)
	require.NoError(t, err)
	defer conn.Close()
	_, err = queries.Migrate(ctx, conn, schema.Target{Database: "disk"})
	require.NoError(t, err)

	tbl, _ := load.NewStatsTable("ad", "daily")
	view := schema.StatsView("ad", "daily")
	l := load.New(conn, load.Options{Target: schema.Target{Database: "disk"}, BatchSize: 20_000, MaxRetries: 1, RetryBackoff: 10 * time.Millisecond})
	first := sample(tbl, "adv1", day0, 7, 500, 1)
	require.NoError(t, loadWindow(ctx, l, tbl, "adv1", day0, day0.AddDate(0, 0, 6), first))
	before := answers(t, conn, "disk", view)

	// Disk full: a filler leaves almost no room.
	filler := filepath.Join(mnt, "filler")
	out, err := exec.Command("dd", "if=/dev/zero", "of="+filler, "bs=1M", "count=600").CombinedOutput()
	require.Error(t, err, "dd must stop at the size of the filesystem: %s", out)
	second := sample(tbl, "adv1", day0, 7, 3000, 2)
	err = loadWindow(ctx, l, tbl, "adv1", day0, day0.AddDate(0, 0, 6), second)
	require.Error(t, err)
	t.Logf("disk full: %.400s", err)
	require.Contains(t, err.Error(), "load disk."+tbl.Name)
	code, ok := warehouse.ExceptionCode(err)
	require.True(t, ok, "ClickHouse reports the failure with an exception code: %v", err)
	t.Logf("exception code %d", code)
	require.NoError(t, os.Remove(filler))
	require.NoError(t, warehouse.WaitReady(ctx, st.Dir, 30*time.Second))
	require.Equal(t, before, answers(t, conn, "disk", view), "nothing of the failed load is visible")
	require.NoError(t, loadWindow(ctx, l, tbl, "adv1", day0, day0.AddDate(0, 0, 6), second))
	require.Len(t, answers(t, conn, "disk", view), len(second))
	before = answers(t, conn, "disk", view)

	// Read-only: the disk goes read-only (as ext4 does after I/O errors) and
	// the engine is restarted: the start fails with a clear error, loads fail
	// while it is down, and all is well once the disk is writable again.
	require.NoError(t, warehouse.Stop(ctx, st.Dir))
	out, err = exec.Command("mount", "-o", "remount,ro", mnt).CombinedOutput()
	require.NoError(t, err, "%s", out)
	opts := warehouse.EngineOptions{Dir: st.Dir, Library: os.Getenv("ADHOUSE_LIBCHDB"), Binary: warehousetest.Binary(t),
		TCPPort: st.TCPPort, HTTPPort: st.HTTPPort, StartTimeout: 20 * time.Second, DieWithParent: true}
	if opts.Library == "" {
		opts.Library = filepath.Join("..", "..", config.Default().Warehouse.Library)
	}
	_, err = warehouse.Start(ctx, opts)
	require.Error(t, err)
	t.Logf("read-only start: %.300s", err)
	require.Contains(t, err.Error(), "read-only file system")
	third := sample(tbl, "adv1", day0, 7, 500, 3)
	err = loadWindow(ctx, l, tbl, "adv1", day0, day0.AddDate(0, 0, 6), third)
	require.Error(t, err)
	require.Contains(t, err.Error(), "load disk."+tbl.Name)
	out, err = exec.Command("mount", "-o", "remount,rw", mnt).CombinedOutput()
	require.NoError(t, err, "%s", out)
	warehousetest.Restart(t, st)
	require.Equal(t, before, answers(t, conn, "disk", view), "nothing was lost or half-loaded")
	require.NoError(t, loadWindow(ctx, l, tbl, "adv1", day0, day0.AddDate(0, 0, 6), third))
	require.Len(t, answers(t, conn, "disk", view), len(third))
}

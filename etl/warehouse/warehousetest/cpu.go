package warehousetest

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/adhouse/adhouse/etl/warehouse"
)

// CPU is the CPU time, in seconds, that the test warehouse's processes
// (supervisor, gateway and engine) have used so far. Benchmarks take the
// difference around a run to report ClickHouse's share of the machine.
func CPU(tb testing.TB) float64 {
	tb.Helper()
	st, err := warehouse.Status(context.Background(), Dir(tb))
	if err != nil {
		tb.Fatalf("warehouse status: %v", err)
	}
	return TreeCPU(tb, st.PID)
}

// TreeCPU is the CPU time, in seconds, that pid and its descendants have
// used so far, from /proc (clock ticks of 1/100 s, Linux's USER_HZ).
func TreeCPU(tb testing.TB, pid int) float64 {
	tb.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		tb.Fatalf("reading /proc: %v", err)
	}
	type proc struct {
		parent int
		ticks  uint64
	}
	procs := map[int]proc{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone since the listing
		}
		// The command name, in parentheses, may hold spaces: fields start after it.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		parent, _ := strconv.Atoi(f[1])
		user, _ := strconv.ParseUint(f[11], 10, 64)
		sys, _ := strconv.ParseUint(f[12], 10, 64)
		procs[n] = proc{parent, user + sys}
	}
	var ticks uint64
	for n, p := range procs {
		for q := n; q > 1; q = procs[q].parent {
			if q == pid {
				ticks += p.ticks
				break
			}
		}
	}
	return float64(ticks) / 100
}

// PeakRSS is the peak resident set (VmHWM), in bytes, of process pid so far,
// and false once the process is gone. Benchmarks read it rather than rusage:
// Linux carries into a child's rusage the peak of the memory it leaves at
// exec, so a child of a large test process reports the parent's peak.
func PeakRSS(pid int) (int64, bool) {
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024, err == nil
			}
		}
	}
	return 0, false
}

package warehousetest

import (
	"context"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// AwaitMerges waits until the warehouse (every database) has merged no parts
// for idle, or two minutes have passed, so that a benchmark's measurement
// does not share the cores with the merges of what it loaded before.
func AwaitMerges(tb testing.TB, conn driver.Conn, idle time.Duration) {
	tb.Helper()
	const poll = 200 * time.Millisecond
	quietSince := time.Now()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(poll) {
		var n uint64
		if err := conn.QueryRow(context.Background(), "SELECT count() FROM system.merges").Scan(&n); err != nil {
			tb.Fatalf("reading system.merges: %v", err)
		}
		if n > 0 {
			quietSince = time.Now()
		} else if time.Since(quietSince) >= idle {
			return
		}
	}
}

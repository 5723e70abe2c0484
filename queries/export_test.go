package queries

import (
	"context"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/adhouse/adhouse/schema"
)

// BeforeStep makes a refresh call f before each step of a month's rebuild and
// stop with f's error (the other month being rebuilt ends after its current
// step): tests end a refresh at every step.
func BeforeStep(o RefreshOptions, f func(step string) error) RefreshOptions {
	o.beforeStep = f
	return o
}

// EnsureWith is Ensure with a refresher's options: tests stop a whole
// rebuild at a step, including "swap", before it is put in place.
func EnsureWith(ctx context.Context, conn driver.Conn, t schema.Target, o RefreshOptions) error {
	return ensure(ctx, conn, t, o)
}

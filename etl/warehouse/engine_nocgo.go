//go:build !(cgo && linux)

package warehouse

import "errors"

// RunEngine needs cgo on Linux to load libchdb.so; builds without it can still
// use any ClickHouse server through clickhouse.addr.
func RunEngine(library, dir string, native bool) error {
	return errors.New("warehouse engine: this build has no cgo; rebuild with CGO_ENABLED=1 or use an external ClickHouse")
}

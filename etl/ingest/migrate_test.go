package ingest_test

import (
	"testing"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
)

func TestMigrates(t *testing.T) {
	warehousetest.ForEachProtocol(t, func(t *testing.T, proto config.Protocol) {
		warehousetest.Migrated(t, proto)
	})
}

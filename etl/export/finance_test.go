package export_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/attribution"
	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/ingest"
	"github.com/adhouse/adhouse/etl/shop"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/schema"
)

// finance is a warehouse with the hand-built account of world(), for
// journeys whose answers a finance reader works out by hand.
type finance struct {
	t    *testing.T
	ctx  context.Context
	conn driver.Conn
	db   string
	dir  string
	im   *ingest.Importer
}

func newFinance(t *testing.T) *finance {
	t.Helper()
	ctx := context.Background()
	conn, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
	f := &finance{t: t, ctx: ctx, conn: conn, db: cfg.ClickHouse.Database, dir: t.TempDir()}
	world(t, ctx, conn, f.db)
	f.im = ingest.New(conn, ingest.Options{Target: f.target()})
	f.settings(attribution.Settings{LookbackDays: 7, MatchBy: "id_or_name", ConversionEvents: []string{"purchase"}})
	return f
}

func (f *finance) target() schema.Target { return schema.Target{Database: f.db} }

func (f *finance) settings(s attribution.Settings) {
	f.t.Helper()
	require.NoError(f.t, attribution.Save(f.ctx, f.conn, f.target(), s))
}

func (f *finance) importFile(name, body string, format ingest.Format) {
	f.t.Helper()
	path := filepath.Join(f.dir, name)
	require.NoError(f.t, os.WriteFile(path, []byte(body), 0o644))
	_, err := f.im.Import(f.ctx, path, format, "")
	require.NoError(f.t, err, name)
}

// value reads one text value (nil for NULL) of a query.
func (f *finance) value(q string, args ...any) *string {
	f.t.Helper()
	var v *string
	require.NoError(f.t, f.conn.QueryRow(f.ctx, q, args...).Scan(&v), q)
	return v
}

func (f *finance) orderCost(id string) *string {
	return f.value("SELECT toString(cost_of_goods) FROM "+f.db+".shop_order_costs WHERE order_id = ?", id)
}

var ordersFormat = shop.Orders{Columns: config.Default().Imports.Orders, Rules: rules}

// TestCostsPerCurrency: a SKU's costs in two currencies from the same day are
// two costs; a USD order takes the USD one. (Before, a later EUR line made
// the USD cost vanish.)
func TestCostsPerCurrency(t *testing.T) {
	f := newFinance(t)
	f.importFile("costs.csv", "sku,unit_cost,currency,valid_from\nSKU-X,38.00,USD,2024-01-01\nSKU-X,35.00,EUR,2024-01-01\n", shop.Costs{})
	f.importFile("orders.csv", `order_id,created_at,currency,revenue,refunded,fees,financial_status,cancelled_at,sku,quantity,price,utm_source,utm_campaign,utm_term
OU,2024-05-10 11:00:00 +0000,USD,100.00,0,0,paid,,SKU-X,2,50.00,tiktok,1001,
OE,2024-05-10 11:00:00 +0000,EUR,90.00,0,0,paid,,SKU-X,1,90.00,tiktok,1001,
`, ordersFormat)
	require.Equal(t, str("76"), f.orderCost("OU"), "2 × 38.00 USD")
	require.Equal(t, str("35"), f.orderCost("OE"), "1 × 35.00 EUR")
}

// TestDefaultMarginSwitchedOff: a configuration without a default margin
// switches it off again; the order without a cost is unknown again.
func TestDefaultMarginSwitchedOff(t *testing.T) {
	f := newFinance(t)
	f.importFile("orders.csv", `order_id,created_at,currency,revenue,refunded,fees,financial_status,cancelled_at,sku,quantity,price,utm_source,utm_campaign,utm_term
ON,2024-05-10 11:00:00 +0000,USD,50.00,0,0,paid,,SKU-NEW,1,50.00,tiktok,1001,
`, ordersFormat)
	require.Nil(t, f.orderCost("ON"))
	margin := decimal.RequireFromString("0.4")
	f.settings(attribution.Settings{LookbackDays: 7, MatchBy: "id_or_name", ConversionEvents: []string{"purchase"}, DefaultMargin: &margin})
	require.Equal(t, str("30"), f.orderCost("ON"), "50 × (1 − 0.4)")
	f.settings(attribution.Settings{LookbackDays: 7, MatchBy: "id_or_name", ConversionEvents: []string{"purchase"}})
	require.Nil(t, f.orderCost("ON"), "no default margin any more: the cost is unknown")
}

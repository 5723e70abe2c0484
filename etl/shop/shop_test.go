package shop_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/attribution"
	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/crm"
	"github.com/adhouse/adhouse/etl/ingest"
	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/shop"
)

type collect struct{ rows [2][]load.Row }

func (c *collect) Emit(_ context.Context, t int, _ int64, r load.Row) error {
	c.rows[t] = append(c.rows[t], r)
	return nil
}

func parse(t testing.TB, f ingest.Format, data []byte) (*collect, error) {
	in, err := ingest.NewInput("test.csv", bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	c := &collect{}
	return c, f.Parse(context.Background(), in, c)
}

var orders = shop.Orders{Columns: config.Default().Imports.Orders, Rules: attribution.Rules{TikTokSources: []string{"tiktok"}, CampaignParam: "utm_campaign"}}

// TestRealShopifyExport parses the published Shopify admin export: one row
// per line item, order fields on the first row only, quoted empty strings.
func TestRealShopifyExport(t *testing.T) {
	path := filepath.Join("..", "..", "..", "shared", "realdata", "orders", "shopify_orders_export_devstore.csv")
	data, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("real sample %s missing under CI=true: %v", path, err)
		}
		t.Skipf("real sample %s not present: %v", path, err)
	}
	c, err := parse(t, orders, data)
	require.NoError(t, err)
	require.NotEmpty(t, c.rows[0])
	first := c.rows[0][0].(*shop.Order)
	require.Equal(t, "#1001", first.ID)
	require.Equal(t, "EUR", first.Currency)
	require.Equal(t, "1659.95", first.Subtotal.String())
	require.Equal(t, "paid", first.Status)
	require.Equal(t, "2025-05-11T13:55:16Z", first.Created.Format("2006-01-02T15:04:05Z07:00"))
	require.Equal(t, "2025-05-11", first.Date.Format("2006-01-02"))
	// #1001 has four line items whose prices add up to its subtotal.
	var n int
	for _, r := range c.rows[1] {
		if l := r.(*shop.Line); l.OrderID == "#1001" {
			n++
		}
	}
	require.Equal(t, 4, n)
}

func TestShopifyNoteAttributes(t *testing.T) {
	data := "Name,Financial Status,Currency,Subtotal,Created at,Lineitem quantity,Lineitem price,Lineitem sku,Note Attributes\n" +
		"#1,paid,USD,10.00,2024-05-10 10:00:00 +0200,1,10.00,A,\"utm_source: tiktok\nutm_campaign: 1001\nttclid: xyz\"\n"
	c, err := parse(t, orders, []byte(data))
	require.NoError(t, err)
	o := c.rows[0][0].(*shop.Order)
	require.Equal(t, attribution.ChannelTikTok, o.Class.Channel)
	require.Equal(t, "1001", o.Class.CampaignRef)
	require.Equal(t, "xyz", o.Touch.TTCLID)
}

func fuzzCSV(f *testing.F, format ingest.Format, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := parse(t, format, data)
		if err != nil && !ingest.IsFileError(err) {
			t.Fatalf("error without a file position: %v", err)
		}
	})
}

func FuzzOrders(f *testing.F) {
	fuzzCSV(f, orders,
		"order_id,created_at,currency,revenue,sku,quantity,price\nO1,2024-05-10,USD,10.00,A,1,10.00\nO1,,,,B,2,0.5\n",
		"Name,Financial Status,Currency,Subtotal,Created at,Lineitem quantity,Lineitem price\n#1,paid,EUR,1,2025-05-11 09:55:16 -0400,1,1\n")
}

func FuzzCosts(f *testing.F) {
	fuzzCSV(f, shop.Costs{}, "sku,unit_cost,currency,valid_from\nA,1.50,USD,2024-01-01\n")
}

func FuzzCRM(f *testing.F) {
	fuzzCSV(f, crm.Format{Columns: config.Default().Imports.CRM},
		"Record ID,Close Date,Amount,Currency,Is Closed Won\nD1,2024-05-10,100,USD,true\n")
}

func TestBOMAndCRLFAccepted(t *testing.T) {
	data := "\uFEFFsku,unit_cost,currency,valid_from\r\nA,1.50,USD,2024-01-01\r\nB,2,USD,\r\n"
	c, err := parse(t, shop.Costs{}, []byte(data))
	require.NoError(t, err)
	require.Len(t, c.rows[0], 2)
}

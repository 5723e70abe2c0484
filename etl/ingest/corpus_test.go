package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/attribution"
	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/crm"
	"github.com/adhouse/adhouse/etl/fx"
	"github.com/adhouse/adhouse/etl/ga4"
	"github.com/adhouse/adhouse/etl/ingest"
	"github.com/adhouse/adhouse/etl/shop"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/schema"
)

var rules = attribution.Rules{TikTokSources: []string{"tiktok"}, CampaignParam: "utm_campaign", AdGroupParam: "utm_term", AdParam: "utm_content"}

func formats() map[string]ingest.Format {
	imp := config.Default().Imports
	return map[string]ingest.Format{
		"ga4":    ga4.NDJSON{Options: ga4.Options{Rules: rules, Currency: "USD"}},
		"ga4csv": ga4.CSV{Options: ga4.Options{Rules: rules, Currency: "USD"}},
		"crm":    crm.Format{Columns: imp.CRM, Rules: rules},
		"orders": shop.Orders{Columns: imp.Orders, Rules: rules},
		"costs":  shop.Costs{},
		"fx":     fx.Format{},
	}
}

const (
	ev1     = `{"event_date":"20240510","event_timestamp":"1715335200000000","event_name":"page_view","user_pseudo_id":"u1","event_params":[{"key":"page_location","value":{"string_value":"https://x.example/?utm_source=tiktok&utm_campaign=1&ttclid=t1"}}]}`
	ev2     = `{"event_date":"20240510","event_timestamp":"1715338800000000","event_name":"purchase","user_pseudo_id":"u1","ecommerce":{"transaction_id":"T1","purchase_revenue":19.99}}`
	ga4Head = "event_date,event_timestamp,event_name,user_pseudo_id,page_location,ecommerce.purchase_revenue,ecommerce.transaction_id\n"
	ga4Row  = "20240510,1715335200000000,page_view,u1,https://x.example/?utm_source=tiktok,,\n"
	crmHead = "Record ID,Create Date,Close Date,Deal Stage,Is Closed Won,Amount,Currency,utm_source,utm_campaign\n"
	crmRow  = "D1,2024-05-01,2024-05-10,closedwon,true,100.00,USD,tiktok,1\n"
	shHead  = "Name,Email,Financial Status,Currency,Subtotal,Total,Refunded Amount,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Cancelled at\n"
	shRow   = "#1001,a@example.com,paid,EUR,10.00,10.00,0.00,2025-05-11 09:55:16 -0400,1,Wax,10.00,WAX,\n"
	coHead  = "sku,unit_cost,currency,valid_from\n"
	coRow   = "WAX,2.50,EUR,2024-01-01\n"
	fxHead  = "date,base,quote,rate\n"
	fxRow   = "2024-05-10,EUR,USD,1.0812\n"
)

// goodFiles are imported first, under the same identity the bad files use:
// a failed corrected file must leave them in place.
var goodFiles = map[string]string{
	"ga4":    ev1 + "\n" + ev2 + "\n",
	"ga4csv": ga4Head + ga4Row,
	"crm":    crmHead + crmRow,
	"orders": shHead + shRow,
	"costs":  coHead + coRow,
	"fx":     fxHead + fxRow,
}

type corpusCase struct {
	name, kind string
	body       func() []byte
	want       []string // substrings of the error, beside the file name
}

func text(s string) func() []byte { return func() []byte { return []byte(s) } }

func corpus() []corpusCase {
	return []corpusCase{
		{"empty", "ga4", text(""), []string{"file is empty"}},
		{"blank lines only", "ga4", text("\n\n  \n"), []string{"file is empty"}},
		{"utf16 bom", "ga4", func() []byte { return append([]byte{0xFF, 0xFE}, []byte("{\x00}\x00")...) }, []string{"line 1", "UTF-16"}},
		{"binary with NUL", "ga4csv", func() []byte { return []byte("\x00\x01\x02PK\x03\x04 not text") }, []string{"line 1", "NUL byte"}},
		{"invalid utf8 in json", "ga4", text(ev1 + "\n" + strings.Replace(ev2, "u1", "u\xe91", 1) + "\n"), []string{"line 2", "not valid UTF-8"}},
		{"truncated json", "ga4", text(ev1 + "\n" + ev2[:40] + "\n"), []string{"line 2", "not a JSON object"}},
		{"json array not ndjson", "ga4", text("[" + ev1 + "]\n"), []string{"line 1", "wrong JSON type: want struct"}},
		{"bad event_date", "ga4", text(strings.Replace(ev1, "20240510", "2024-05-10", 1) + "\n"), []string{"line 1", "column event_date", `value "2024-05-10"`, "YYYYMMDD"}},
		{"bad event_timestamp", "ga4", text(ev1 + "\n" + strings.Replace(ev2, "1715338800000000", "17153388e5", 1) + "\n"), []string{"line 2", "column event_timestamp", `"17153388e5"`}},
		{"negative event_timestamp", "ga4", text(strings.Replace(ev1, `"1715335200000000"`, `"-5"`, 1) + "\n"), []string{"line 1", "column event_timestamp", `"-5"`}},
		{"missing event_name", "ga4", text(strings.Replace(ev1, `"event_name":"page_view",`, "", 1) + "\n"), []string{"line 1", "column event_name", "required"}},
		{"bad purchase_revenue", "ga4", text(ev1 + "\n" + strings.Replace(ev2, "19.99", `"19,99"`, 1) + "\n"), []string{"line 2", "column ecommerce.purchase_revenue", `"19,99"`}},
		{"wrong type event_params", "ga4", text(`{"event_date":"20240510","event_timestamp":"1","event_name":"x","event_params":"oops"}` + "\n"), []string{"line 1", "column event_params", "wrong JSON type"}},
		{"bad ga_session_id", "ga4", text(strings.Replace(ev1, `"event_params":[`, `"event_params":[{"key":"ga_session_id","value":{"int_value":"x1"}},`, 1) + "\n"), []string{"line 1", "ga_session_id", `"x1"`}},
		{"10 MB line", "ga4", func() []byte {
			return []byte(ev1 + "\n" + `{"event_name":"` + strings.Repeat("a", 10<<20) + `"}` + "\n")
		}, []string{"line 2", "line longer than"}},
		{"truncated gzip", "ga4", func() []byte {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			for i := 0; i < 2000; i++ {
				fmt.Fprintln(zw, strings.Replace(ev1, "u1", fmt.Sprintf("user-%d", i), 1))
			}
			zw.Close()
			return b.Bytes()[:b.Len()/2]
		}, []string{"compressed file is truncated"}},
		{"csv missing column", "ga4csv", text("event_date,event_name,user_pseudo_id\n20240510,x,u\n"), []string{"line 1", `missing column "event_timestamp"`}},
		{"csv extra field", "ga4csv", text(ga4Head + ga4Row + "20240510,1715335200000000,page_view,u1,x,,,EXTRA\n"), []string{"line 3", "wrong number of fields"}},
		{"csv missing field", "ga4csv", text(ga4Head + ga4Row + "20240510,1715335200000000,page_view\n"), []string{"line 3", "wrong number of fields"}},
		{"csv bad decimal", "ga4csv", text(ga4Head + "20240510,1715335200000000,purchase,u1,,1e,T1\n"), []string{"line 2", "column ecommerce.purchase_revenue", `"1e"`}},
		{"csv bare CR line endings", "ga4csv", text(strings.ReplaceAll(ga4Head+ga4Row, "\n", "\r")), []string{"line 1", "bare carriage return"}},
		{"csv duplicate header", "ga4csv", text("event_date,event_timestamp,event_name,user_pseudo_id,event_name\n"), []string{"line 1", "column event_name", "column named twice"}},
		{"csv BOM inside header", "ga4csv", text("event_date,\uFEFFevent_timestamp,event_name,user_pseudo_id\n"), []string{"line 1", "byte-order mark inside the header"}},
		{"csv latin-1 value", "ga4csv", text(ga4Head + "20240510,1715335200000000,page_view,u\xe9,,,\n"), []string{"line 2", "column user_pseudo_id", "not valid UTF-8"}},
		{"csv unterminated quote", "ga4csv", text(ga4Head + "20240510,1715335200000000,\"page_view,u1,,,\n"), []string{"line 2", `extraneous or missing "`}},
		{"csv header only", "ga4csv", text(ga4Head), []string{"file is empty"}},
		{"crm duplicate id", "crm", text(crmHead + crmRow + crmRow), []string{"line 3", "column Record ID", `value "D1"`, "duplicate id", "line 2"}},
		{"crm european decimal", "crm", text(crmHead + "D2,2024-05-01,2024-05-10,closedwon,true,\"1.234,56\",USD,,\n"), []string{"line 2", "column Amount", `"1.234,56"`, "invalid decimal syntax"}},
		{"crm bad close date", "crm", text(crmHead + "D2,2024-05-01,31/12/2024,closedwon,true,1,USD,,\n"), []string{"line 2", "column Close Date", `"31/12/2024"`}},
		{"crm bad currency", "crm", text(crmHead + "D2,2024-05-01,2024-05-10,closedwon,true,1,US Dollar,,\n"), []string{"line 2", "column Currency", `"US Dollar"`, "ISO 4217"}},
		{"crm bad won flag", "crm", text(crmHead + "D2,2024-05-01,2024-05-10,closedwon,maybe,1,USD,,\n"), []string{"line 2", "column Is Closed Won", `"maybe"`}},
		{"crm missing amount column", "crm", text("Record ID,Close Date,Currency\nD1,2024-05-10,USD\n"), []string{"line 1", `missing column "Amount"`}},
		{"crm seven decimals", "crm", text(crmHead + "D2,2024-05-01,2024-05-10,closedwon,true,1.0000001,USD,,\n"), []string{"line 2", "column Amount", "more than 6 decimals"}},
		{"crm CRLF with bad date", "crm", text(strings.ReplaceAll(crmHead+crmRow+"D2,2024-05-01,2024-02-30,closedwon,true,1,USD,,\n", "\n", "\r\n")), []string{"line 3", "column Close Date", `"2024-02-30"`}},
		{"crm BOM and missing column", "crm", text("\uFEFFRecord ID,Amount,Currency\nD1,1,USD\n"), []string{"line 1", `missing column "Close Date"`}},
		{"shopify order split", "orders", text(shHead + shRow + strings.Replace(shRow, "#1001", "#1002", 1) + shRow), []string{"line 4", "column Name", `"#1001"`, "duplicate id"}},
		{"shopify bad quantity", "orders", text(shHead + strings.Replace(shRow, ",1,Wax", ",two,Wax", 1)), []string{"line 2", "column Lineitem quantity", `"two"`}},
		{"shopify negative refund", "orders", text(shHead + strings.Replace(shRow, ",0.00,2025", ",-5.00,2025", 1)), []string{"line 2", "column Refunded Amount", `"-5.00"`, "positive"}},
		{"shopify missing currency", "orders", text(shHead + strings.Replace(shRow, ",EUR,", ",,", 1)), []string{"line 2", "column Currency", "ISO 4217"}},
		{"shopify bad created at", "orders", text(shHead + strings.Replace(shRow, "2025-05-11 09:55:16 -0400", "11/05/2025 9:55", 1)), []string{"line 2", "column Created at", `"11/05/2025 9:55"`}},
		{"crm negative amount", "crm", text(crmHead + "D2,2024-05-01,2024-05-10,closedwon,true,-250.00,USD,,\n"), []string{"line 2", "column Amount", `"-250.00"`, "negative deal amount"}},
		{"crm semicolons", "crm", text(strings.ReplaceAll(crmHead, ",", ";") + strings.ReplaceAll(crmRow, ",", ";")), []string{"line 1", "semicolons", "comma-separated"}},
		{"shopify negative subtotal", "orders", text(shHead + strings.Replace(shRow, "EUR,10.00,", "EUR,-10.00,", 1)), []string{"line 2", "column Subtotal", `"-10.00"`, "negative order revenue"}},
		{"shopify quantity beyond int", "orders", text(shHead + strings.Replace(shRow, ",1,Wax", ",9223372036854775807,Wax", 1)), []string{"line 2", "column Lineitem quantity", "more than 1000000000 items"}},
		{"csv quoted field over 8 MiB", "crm", text(crmHead + "D2,\"" + strings.Repeat("many short lines\n", 600_000)), []string{"record longer than 8 MiB"}},
		{"costs duplicate", "costs", text(coHead + coRow + coRow), []string{"line 3", "column sku", "duplicate id"}},
		{"costs negative", "costs", text(coHead + "WAX,-1.00,EUR,2024-01-01\n"), []string{"line 2", "column unit_cost", `"-1.00"`}},
		{"fx zero rate", "fx", text(fxHead + "2024-05-10,EUR,USD,0\n"), []string{"line 2", "column rate", `"0"`, "positive"}},
		{"fx negative rate", "fx", text(fxHead + "2024-05-10,EUR,USD,-1.08\n"), []string{"line 2", "column rate", `"-1.08"`, "positive"}},
		{"fx exponent", "fx", text(fxHead + "2024-05-10,EUR,USD,1.08e0\n"), []string{"line 2", "column rate", `"1.08e0"`, "plain decimal"}},
		{"fx decimal comma", "fx", text(fxHead + "2024-05-10,EUR,USD,\"1,08\"\n"), []string{"line 2", "column rate", `"1,08"`, "plain decimal"}},
		{"fx thirteen decimals", "fx", text(fxHead + "2024-05-10,EUR,USD,1.0812345678901\n"), []string{"line 2", "column rate", "more than 12 decimals"}},
		{"fx same currency", "fx", text(fxHead + "2024-05-10,USD,USD,1\n"), []string{"line 2", "column quote", "same currency"}},
		{"fx duplicate pair", "fx", text(fxHead + fxRow + "2024-05-10,EUR,USD,1.0813\n"), []string{"line 3", "duplicate rate", "EUR/USD", "line 2"}},
		{"fx bad currency", "fx", text(fxHead + "2024-05-10,euro,USD,1.08\n"), []string{"line 2", "column base", `"euro"`, "ISO 4217"}},
		{"fx bad date", "fx", text(fxHead + "10.05.2024,EUR,USD,1.08\n"), []string{"line 2", "column date", `"10.05.2024"`}},
		{"fx missing rate column", "fx", text("date,base,quote\n2024-05-10,EUR,USD\n"), []string{"line 1", `missing column "rate"`}},
		{"costs bad valid_from", "costs", text(coHead + "WAX,1.00,EUR,2024-13-01\n"), []string{"line 2", "column valid_from", `"2024-13-01"`}},
	}
}

// snapshot fingerprints every import table and view, committed or not.
func snapshot(t *testing.T, ctx context.Context, conn driver.Conn, db string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tbl := range []string{"import_commits", "load_ga4_events", "load_crm_deals", "load_shop_orders", "load_shop_order_lines", "load_product_costs", "load_fx_rates",
		"ga4_events", "crm_deals", "shop_orders", "shop_order_lines", "product_costs", "fx_rates"} {
		var n uint64
		var h uint64
		require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf("SELECT count(), ifNull(sum(cityHash64(*)), 0) FROM %s.%s", db, tbl)).Scan(&n, &h))
		out[tbl] = fmt.Sprintf("%d/%d", n, h)
	}
	return out
}

// TestMalformedCorpus: every malformed file fails with a message naming the
// file, line, column and value, and leaves the warehouse exactly as it was —
// including the earlier good version of the same file.
func TestMalformedCorpus(t *testing.T) {
	cases := corpus()
	require.GreaterOrEqual(t, len(cases), 30)
	warehousetest.ForEachProtocol(t, func(t *testing.T, proto config.Protocol) {
		ctx := context.Background()
		conn, cfg := warehousetest.Migrated(t, proto)
		db := cfg.ClickHouse.Database
		// Replace: each bad file tries to replace the good one of its name.
		im := ingest.New(conn, ingest.Options{Target: schema.Target{Database: db}, BatchSize: 1000, Replace: true})
		dir := t.TempDir()
		fs := formats()
		for kind, body := range goodFiles {
			path := filepath.Join(dir, "good-"+kind)
			require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
			_, err := im.Import(ctx, path, fs[kind], "corpus-"+kind)
			require.NoError(t, err, kind)
		}
		before := snapshot(t, ctx, conn, db)
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				path := filepath.Join(dir, fmt.Sprintf("bad-%02d.dat", i))
				require.NoError(t, os.WriteFile(path, tc.body(), 0o644))
				_, err := im.Import(ctx, path, fs[tc.kind], "corpus-"+tc.kind)
				require.Error(t, err)
				require.True(t, ingest.IsFileError(err), "%v", err)
				msg := err.Error()
				t.Log(msg)
				require.Contains(t, msg, path)
				for _, w := range tc.want {
					require.Contains(t, msg, w)
				}
				require.Less(t, len(msg), 1000, "messages stay readable: %s", msg)
				require.Equal(t, before, snapshot(t, ctx, conn, db), "the warehouse changed")
			})
		}
	})
}

package load_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/adhouse/adhouse/etl/load"
)

// TestStatColumnsMatchRows: statistics rows held column by column give, row
// by row, the values AppendValues gives, in the table's column order, at
// every level and grain, with NULL metrics, a short Metrics and extras.
func TestStatColumnsMatchRows(t *testing.T) {
	spend := decimal.RequireFromString("12.345678")
	clicks := uint64(7)
	for _, level := range []string{"advertiser", "campaign", "adgroup", "ad"} {
		for _, grain := range []string{"daily", "hourly"} {
			tbl, ok := load.NewStatsTable(level, grain)
			if !ok {
				t.Fatalf("no table %s %s", level, grain)
			}
			full := &load.StatRow{AdvertiserID: "a1", CampaignID: "c1", AdGroupID: "g1", AdID: "d1",
				Date: time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC), Hour: 2, TimeUTC: time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC),
				Timezone: "Europe/Berlin", Currency: "EUR", Extra: map[string]string{"x": "1"}}
			full.Set("spend", &spend).Set("clicks", &clicks).Set("impressions", nil)
			short := &load.StatRow{AdvertiserID: "a2", Date: time.Date(2026, 10, 26, 0, 0, 0, 0, time.UTC), Currency: "USD",
				Metrics: []any{&spend}}
			rows := []*load.StatRow{tbl.Bind(full), tbl.Bind(short)}
			cols := rows[0].NewColumns(len(rows))
			for _, r := range rows {
				cols.Add(r)
			}
			slices := cols.Slices()
			if len(slices) != len(tbl.Columns) || cols.Len() != len(rows) {
				t.Fatalf("%s %s: %d columns of %d rows, want %d of %d", level, grain, len(slices), cols.Len(), len(tbl.Columns), len(rows))
			}
			for i, r := range rows {
				want := r.AppendValues(nil)
				for c, s := range slices {
					got := reflect.ValueOf(s).Index(i).Interface()
					if !sameValue(got, want[c]) {
						t.Errorf("%s %s row %d column %s: %v (%T) from the columns, %v (%T) from AppendValues", level, grain, i, tbl.Columns[c], got, got, want[c], want[c])
					}
				}
			}
		}
	}
}

// sameValue compares a column's element with a row's value: a typed nil
// pointer in a column is the row's untyped nil (NULL).
func sameValue(col, row any) bool {
	if row == nil {
		v := reflect.ValueOf(col)
		return v.Kind() == reflect.Pointer && v.IsNil()
	}
	return reflect.DeepEqual(col, row)
}

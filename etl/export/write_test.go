package export_test

import (
	"bytes"
	"encoding/csv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/export"
	"github.com/adhouse/adhouse/metrics"
)

func TestNeutralize(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")", "+1": "'+1", "-2": "'-2", "@SUM(A1)": "'@SUM(A1)",
		"\tx": "'\tx", "\rx": "'\rx", "Spring Sale": "Spring Sale", "": "", "a=b": "a=b",
	} {
		require.Equal(t, want, export.Neutralize(in), in)
	}
}

// TestCSVNumbersUntouched: a negative margin stays a number while a text cell
// that looks like one is neutralised, and any CSV reader reads the file back.
func TestCSVNumbersUntouched(t *testing.T) {
	r := &export.Row{Period: "2024-05", AdvertiserID: "7", CampaignID: "-1", CampaignName: "@evil", Currency: "EUR"}
	var m metrics.Row
	m.Currency = metrics.MustCurrency("EUR")
	require.NoError(t, m.Set(metrics.FieldSpend, "10"))
	require.NoError(t, m.Set(metrics.FieldShopRevenue, "5"))
	require.NoError(t, m.Set(metrics.FieldCostOfGoods, "7.5"))
	m.SetNull(metrics.FieldTikTokRevenue)
	require.NoError(t, r.Main.Add(&m))
	var b bytes.Buffer
	require.NoError(t, export.WriteCSV(&b, []*export.Row{r}))
	recs, err := csv.NewReader(&b).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 2)
	got := map[string]string{}
	for i, c := range recs[0] {
		got[c] = recs[1][i]
	}
	require.Equal(t, "'-1", got["campaign_id"])
	require.Equal(t, "'@evil", got["campaign_name"])
	require.Equal(t, "-2.500000", got["gross_margin"])
	require.Equal(t, "-0.250000", got["margin_roas_shop"])
	require.Equal(t, "", got["revenue_tiktok"])
}

// TestMonthWithAnUnknownCostDayIsUnknown: a month whose days include one
// with unknown cost of goods has unknown cost, margin and margin ROAS —
// finance must not read the known days' cost as the month's. (Before, the
// month showed cost 78.50, margin 131.50 and margin ROAS 0.126808.)
func TestMonthWithAnUnknownCostDayIsUnknown(t *testing.T) {
	r := &export.Row{Period: "2024-05", AdvertiserID: "7", CampaignID: "1002", Currency: "USD"}
	for _, day := range []struct{ spend, revenue, cogs string }{
		{"600", "150", "78.50"},
		{"437", "60", "-"}, // a SKU without cost and no default margin
	} {
		var m metrics.Row
		m.Currency = metrics.MustCurrency("USD")
		require.NoError(t, m.Set(metrics.FieldSpend, day.spend))
		require.NoError(t, m.Set(metrics.FieldShopRevenue, day.revenue))
		require.NoError(t, m.Set(metrics.FieldCostOfGoods, day.cogs))
		require.NoError(t, r.Main.Add(&m))
	}
	var b bytes.Buffer
	require.NoError(t, export.WriteCSV(&b, []*export.Row{r}))
	recs, err := csv.NewReader(&b).ReadAll()
	require.NoError(t, err)
	got := map[string]string{}
	for i, c := range recs[0] {
		got[c] = recs[1][i]
	}
	require.Equal(t, "210.000000", got["revenue_shop"], "revenue is known on both days")
	require.Equal(t, "", got["cost_of_goods"])
	require.Equal(t, "", got["gross_margin"])
	require.Equal(t, "", got["margin_roas_shop"])
	require.Equal(t, "0.202507", got["roas_shop"], "210 / 1037")
}

package extract_test

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/tiktok"
)

func TestImbalanceText(t *testing.T) {
	im := extract.Imbalance{AdvertiserID: "7000000000000000001", Level: "ad", Granularity: "daily", Currency: "USD",
		Days: 46, From: tiktok.NewDate(2026, 3, 1), To: tiktok.NewDate(2026, 4, 15),
		Impressions: -5000, Clicks: -70, Cause: extract.CauseDeleted}
	for _, tc := range []struct{ spend, want string }{
		{"-123.4", "-123.40"}, {"-123.45", "-123.45"}, {"0.5", "+0.50"}, {"-13244", "-13244"}, {"1.234567", "+1.234567"},
	} {
		im.Spend = decimal.RequireFromString(tc.spend)
		require.Equal(t, tc.want, im.SpendText(), tc.spend)
	}
	im.Spend = decimal.RequireFromString("-123.4")
	require.Equal(t, "advertiser 7000000000000000001 ad level (daily): 46 days out of balance (2026-03-01..2026-04-15), "+
		"spend -123.40 USD, impressions -5000, clicks -70; likely deleted entities", im.String())
}

package tiktok_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/shopspring/decimal"

	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
)

// Example pulls a week of campaign spend for one advertiser, page by page,
// from the simulator.
func Example() {
	sim := tiktoksim.New(tiktoksim.Config{Seed: 1})
	hs := httptest.NewServer(sim)
	defer hs.Close()

	// One Limiter per developer app, shared by every client of the app.
	limiter := tiktok.NewLimiter(tiktok.LimiterFor(tiktok.TierBasic))
	c, err := tiktok.New(tiktok.Options{BaseURL: tiktoksim.BaseURLFor(hs.URL), AccessToken: sim.AccessToken(), Limiter: limiter})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	advs, err := c.AdvertiserInfo(ctx, sim.AdvertiserIDs())
	if err != nil {
		panic(err)
	}
	a := advs[0]
	loc, _ := a.Location()
	q := tiktok.ReportQuery{
		AdvertiserID: a.ID, Level: tiktok.LevelCampaign, Granularity: tiktok.Daily,
		Start: tiktok.NewDate(2024, 2, 1), End: tiktok.NewDate(2024, 2, 7), Location: loc,
	}
	total := decimal.Zero
	sum, err := c.StreamReport(ctx, q, func(p tiktok.ReportPage) error {
		for _, r := range p.Rows {
			total = total.Add(r.Metrics.Spend.Decimal)
		}
		return nil
	})
	if errors.Is(err, tiktok.ErrQueryTooLarge) {
		// Shrink the window with tiktok.Windows(q.Start, q.End, q.Granularity, 7) and retry.
		return
	}
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Timezone, a.Currency, sum.Rows, "rows, spend", total.StringFixed(2))
	// Output: Etc/GMT+8 USD 21 rows, spend 2417.45
}

// ExampleWindows splits a backfill into report windows that respect TikTok's
// caps, or into smaller ones after ErrQueryTooLarge.
func ExampleWindows() {
	for _, w := range tiktok.Windows(tiktok.NewDate(2024, 1, 1), tiktok.NewDate(2024, 2, 15), tiktok.Daily, 0) {
		fmt.Println(w.Start, w.End)
	}
	// Output:
	// 2024-01-01 2024-01-30
	// 2024-01-31 2024-02-15
}

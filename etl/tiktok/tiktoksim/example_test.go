package tiktoksim_test

import (
	"fmt"
	"time"

	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
)

// ExampleServer_Truth shows the rows the API serves for an advertiser in
// Etc/GMT+8 (UTC−8): local days, exact spend, and the UTC instant each local
// day starts at. End-to-end tests compare a warehouse against these rows.
func ExampleServer_Truth() {
	srv := tiktoksim.New(tiktoksim.Config{Seed: 1})
	adv := srv.AdvertiserIDs()[0]
	a, _ := srv.Advertiser(adv)
	rows, err := srv.Truth(adv, tiktok.LevelAdvertiser, tiktok.Daily, tiktok.NewDate(2024, 2, 1), tiktok.NewDate(2024, 2, 3))
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Timezone, a.Currency)
	for _, r := range rows {
		fmt.Println(r.Date, r.StartUTC.Format(time.RFC3339), r.Metrics.Spend, r.Metrics.Impressions, r.Metrics.AppInstall)
	}
	// Output:
	// Etc/GMT+8 USD
	// 2024-02-01 2024-02-01T08:00:00Z 356.87 57699 66
	// 2024-02-02 2024-02-02T08:00:00Z 320.36 54366 57
	// 2024-02-03 2024-02-03T08:00:00Z 361.03 57653 57
}

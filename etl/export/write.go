package export

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/adhouse/adhouse/metrics"
)

// Neutralize makes a text cell inert in spreadsheets: a value starting with
// = + - @, a tab or a carriage return gets a leading apostrophe, so Excel,
// LibreOffice and Google Sheets show it as text instead of running it as a
// formula. Numeric cells never pass through here.
func Neutralize(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// WriteCSV writes a plain header row and the rows: decimals as exact text at
// their scale, undefined values as empty cells, text cells neutralised.
func WriteCSV(w io.Writer, rows []*Row) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Columns); err != nil {
		return err
	}
	rec := make([]string, len(Columns))
	for _, r := range rows {
		for i, c := range r.Cells() {
			switch {
			case c.IsText:
				rec[i] = Neutralize(c.Text)
			case c.IsCount:
				rec[i] = strconv.FormatUint(c.Count, 10)
			case c.Value.Defined():
				rec[i] = c.Value.String()
			default:
				rec[i] = ""
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// record is the Parquet schema: decimals as DECIMAL(18, 6) over INT64, counts
// as INT64, text as UTF-8 strings.
type record struct {
	Period                  string `parquet:"period"`
	AdvertiserID            string `parquet:"advertiser_id"`
	CampaignID              string `parquet:"campaign_id"`
	CampaignName            string `parquet:"campaign_name"`
	Currency                string `parquet:"currency"`
	Spend                   *int64 `parquet:"spend,optional,decimal(6:18)"`
	TikTokConversions       int64  `parquet:"tiktok_conversions"`
	RevenueTikTok           *int64 `parquet:"revenue_tiktok,optional,decimal(6:18)"`
	GA4LastClickConversions int64  `parquet:"ga4_last_click_conversions"`
	RevenueGA4LastClick     *int64 `parquet:"revenue_ga4_last_click,optional,decimal(6:18)"`
	GA4AssistedConversions  int64  `parquet:"ga4_assisted_conversions"`
	RevenueGA4Assisted      *int64 `parquet:"revenue_ga4_assisted,optional,decimal(6:18)"`
	CRMDeals                int64  `parquet:"crm_deals"`
	RevenueCRM              *int64 `parquet:"revenue_crm,optional,decimal(6:18)"`
	ShopOrders              int64  `parquet:"shop_orders"`
	RevenueShop             *int64 `parquet:"revenue_shop,optional,decimal(6:18)"`
	CostOfGoods             *int64 `parquet:"cost_of_goods,optional,decimal(6:18)"`
	Refunds                 *int64 `parquet:"refunds,optional,decimal(6:18)"`
	Fees                    *int64 `parquet:"fees,optional,decimal(6:18)"`
	GrossMargin             *int64 `parquet:"gross_margin,optional,decimal(6:18)"`
	ROASTikTok              *int64 `parquet:"roas_tiktok,optional,decimal(6:18)"`
	ROASGA4LastClick        *int64 `parquet:"roas_ga4_last_click,optional,decimal(6:18)"`
	ROASGA4Assisted         *int64 `parquet:"roas_ga4_assisted,optional,decimal(6:18)"`
	ROASCRM                 *int64 `parquet:"roas_crm,optional,decimal(6:18)"`
	ROASShop                *int64 `parquet:"roas_shop,optional,decimal(6:18)"`
	MarginROASShop          *int64 `parquet:"margin_roas_shop,optional,decimal(6:18)"`
}

// scaled6 returns v rounded half-even to 6 decimals as an integer, or nil.
func scaled6(v metrics.Value) (*int64, error) {
	q, ok := v.WithScale(6).Scaled()
	if !ok {
		return nil, nil
	}
	if !q.IsInt64() || q.Int64() > 999_999_999_999_999_999 || q.Int64() < -999_999_999_999_999_999 {
		return nil, fmt.Errorf("export: %s does not fit DECIMAL(18, 6)", v)
	}
	n := q.Int64()
	return &n, nil
}

// WriteParquet writes the rows as one Parquet file with DECIMAL(18, 6)
// columns and the rounding rule in its key-value metadata. Nothing in the
// file depends on the time it was written.
func WriteParquet(w io.Writer, rows []*Row) error {
	pw := parquet.NewGenericWriter[record](w,
		parquet.CreatedBy("adhouse", "export-roas-1", ""),
		parquet.KeyValueMetadata("adhouse.rounding", RoundingRule),
		parquet.KeyValueMetadata("adhouse.columns", strings.Join(Columns, ",")),
	)
	recs := make([]record, 0, len(rows))
	for _, r := range rows {
		c := r.Cells()
		var rec record
		rec.Period, rec.AdvertiserID, rec.CampaignID, rec.CampaignName, rec.Currency = c[0].Text, c[1].Text, c[2].Text, c[3].Text, c[4].Text
		rec.TikTokConversions, rec.GA4LastClickConversions, rec.GA4AssistedConversions = int64(c[6].Count), int64(c[8].Count), int64(c[10].Count)
		rec.CRMDeals, rec.ShopOrders = int64(c[12].Count), int64(c[14].Count)
		for i, dst := range map[int]**int64{
			5: &rec.Spend, 7: &rec.RevenueTikTok, 9: &rec.RevenueGA4LastClick, 11: &rec.RevenueGA4Assisted,
			13: &rec.RevenueCRM, 15: &rec.RevenueShop, 16: &rec.CostOfGoods, 17: &rec.Refunds, 18: &rec.Fees,
			19: &rec.GrossMargin, 20: &rec.ROASTikTok, 21: &rec.ROASGA4LastClick, 22: &rec.ROASGA4Assisted,
			23: &rec.ROASCRM, 24: &rec.ROASShop, 25: &rec.MarginROASShop,
		} {
			v, err := scaled6(c[i].Value)
			if err != nil {
				return err
			}
			*dst = v
		}
		recs = append(recs, rec)
	}
	if _, err := pw.Write(recs); err != nil {
		return fmt.Errorf("export: parquet: %w", err)
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("export: parquet: %w", err)
	}
	return nil
}

package extract

import (
	"context"
	"fmt"

	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/tiktok"
)

var (
	advertisersTable = load.Table{Name: "advertisers", Versioned: true, Columns: []string{
		"advertiser_id", "name", "currency", "timezone", "display_timezone", "country", "status", "create_time", "raw"}}
	campaignsTable = load.Table{Name: "campaigns", Versioned: true, Columns: []string{
		"advertiser_id", "campaign_id", "campaign_name", "objective_type", "budget", "budget_mode",
		"operation_status", "secondary_status", "is_deleted", "create_time", "modify_time", "raw"}}
	adgroupsTable = load.Table{Name: "adgroups", Versioned: true, Columns: []string{
		"advertiser_id", "campaign_id", "adgroup_id", "adgroup_name", "optimization_goal", "budget", "budget_mode",
		"operation_status", "secondary_status", "is_deleted", "create_time", "modify_time", "raw"}}
	adsTable = load.Table{Name: "ads", Versioned: true, Columns: []string{
		"advertiser_id", "campaign_id", "adgroup_id", "ad_id", "ad_name", "landing_page_url",
		"operation_status", "secondary_status", "is_deleted", "create_time", "modify_time", "raw"}}
)

type advertiserRow struct{ *tiktok.Advertiser }

func (a advertiserRow) AppendValues(dst []any) []any {
	return append(dst, a.ID, a.Name, a.Currency, a.Timezone, a.DisplayTimezone, a.Country, a.Status, ts(a.CreateTime), raw(a.Raw))
}

type campaignRow struct{ *tiktok.Campaign }

func (c campaignRow) AppendValues(dst []any) []any {
	return append(dst, c.AdvertiserID, c.ID, c.Name, c.ObjectiveType, dec(c.Budget), c.BudgetMode,
		c.OperationStatus, c.SecondaryStatus, boolByte(c.Deleted()), ts(c.CreateTime), ts(c.ModifyTime), raw(c.Raw))
}

type adgroupRow struct{ *tiktok.AdGroup }

func (g adgroupRow) AppendValues(dst []any) []any {
	return append(dst, g.AdvertiserID, g.CampaignID, g.ID, g.Name, g.OptimizationGoal, dec(g.Budget), g.BudgetMode,
		g.OperationStatus, g.SecondaryStatus, boolByte(g.Deleted()), ts(g.CreateTime), ts(g.ModifyTime), raw(g.Raw))
}

type adRow struct{ *tiktok.Ad }

func (a adRow) AppendValues(dst []any) []any {
	return append(dst, a.AdvertiserID, a.CampaignID, a.AdGroupID, a.ID, a.Name, a.LandingPageURL,
		a.OperationStatus, a.SecondaryStatus, boolByte(a.Deleted()), ts(a.CreateTime), ts(a.ModifyTime), raw(a.Raw))
}

// loadEntities pulls campaigns, ad groups and ads (deleted included) page by
// page into their tables and returns the parent map statistics rows need.
func (s *Syncer) loadEntities(ctx context.Context, advertiserID string) (*parents, error) {
	p := newParents()
	err := s.api.StreamCampaigns(ctx, advertiserID, func(page []tiktok.Campaign) error {
		rows := make([]load.Row, len(page))
		for i := range page {
			page[i].AdvertiserID = firstOf(page[i].AdvertiserID, advertiserID)
			rows[i] = campaignRow{&page[i]}
		}
		return s.loader.Insert(ctx, campaignsTable, rows)
	})
	if err != nil {
		return nil, fmt.Errorf("advertiser %s: campaigns: %w", advertiserID, err)
	}
	err = s.api.StreamAdGroups(ctx, advertiserID, func(page []tiktok.AdGroup) error {
		rows := make([]load.Row, len(page))
		for i := range page {
			page[i].AdvertiserID = firstOf(page[i].AdvertiserID, advertiserID)
			p.adgroupCampaign[page[i].ID] = page[i].CampaignID
			rows[i] = adgroupRow{&page[i]}
		}
		return s.loader.Insert(ctx, adgroupsTable, rows)
	})
	if err != nil {
		return nil, fmt.Errorf("advertiser %s: ad groups: %w", advertiserID, err)
	}
	err = s.api.StreamAds(ctx, advertiserID, func(page []tiktok.Ad) error {
		rows := make([]load.Row, len(page))
		for i := range page {
			page[i].AdvertiserID = firstOf(page[i].AdvertiserID, advertiserID)
			p.adAdGroup[page[i].ID] = page[i].AdGroupID
			p.adCampaign[page[i].ID] = page[i].CampaignID
			rows[i] = adRow{&page[i]}
		}
		return s.loader.Insert(ctx, adsTable, rows)
	})
	if err != nil {
		return nil, fmt.Errorf("advertiser %s: ads: %w", advertiserID, err)
	}
	return p, nil
}

// parentsFromWarehouse rebuilds the parent map from the entity tables, for
// jobs that pull statistics without pulling entities first.
func (s *Syncer) parentsFromWarehouse(ctx context.Context, advertiserID string) (*parents, error) {
	p := newParents()
	q := fmt.Sprintf(`SELECT 'adgroup', adgroup_id, campaign_id, '' FROM %[1]s.adgroups FINAL WHERE advertiser_id = ?
UNION ALL SELECT 'ad', ad_id, campaign_id, adgroup_id FROM %[1]s.ads FINAL WHERE advertiser_id = ?`, s.opts.Database)
	rows, err := s.conn.Query(ctx, q, advertiserID, advertiserID)
	if err != nil {
		return nil, fmt.Errorf("advertiser %s: reading entities: %w", advertiserID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, id, campaign, adgroup string
		if err := rows.Scan(&kind, &id, &campaign, &adgroup); err != nil {
			return nil, err
		}
		if kind == "adgroup" {
			p.adgroupCampaign[id] = campaign
		} else {
			p.adCampaign[id], p.adAdGroup[id] = campaign, adgroup
		}
	}
	return p, rows.Err()
}

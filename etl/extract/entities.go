package extract

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

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

// entities loads an advertiser's entities and writes their sync_runs row
// (level "entities", the advertiser's today as its window): the entities
// loaded and the API requests made for them.
func (s *Syncer) entities(ctx context.Context, a *advertiser, job Job, runID string) (*parents, error) {
	started := time.Now().UTC()
	ectx, calls := tiktok.CountCalls(ctx)
	var rows atomic.Int64
	p, err := s.loadEntities(ectx, a.id, &rows)
	today := tiktok.DateOf(s.opts.Now().In(a.loc))
	rec := RunRecord{
		RunID: runID, Job: job.Name, Started: started, Ended: time.Now().UTC(), AdvertiserID: a.id,
		Level: "entities", From: today, To: today, Rows: int(rows.Load()), Outcome: "ok",
	}
	rec.setCalls(calls.Calls())
	logCtx := ctx
	if err != nil {
		rec.Outcome, rec.Error = "failed", err.Error()
		if ctx.Err() != nil {
			rec.Outcome = "abandoned"
		}
		var cancel context.CancelFunc
		logCtx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
	}
	s.logRun(logCtx, rec)
	return p, err
}

// loadEntities pulls campaigns, ad groups and ads (deleted included) page by
// page into their tables, counting the rows, and returns the parent map
// statistics rows need.
func (s *Syncer) loadEntities(ctx context.Context, advertiserID string, n *atomic.Int64) (*parents, error) {
	p := newParents()
	err := loadPages(ctx, s, advertiserID, "campaigns", s.api.StreamCampaigns, campaignsTable, n,
		func(c *tiktok.Campaign) load.Row {
			c.AdvertiserID = firstOf(c.AdvertiserID, advertiserID)
			return campaignRow{c}
		})
	if err == nil {
		err = loadPages(ctx, s, advertiserID, "ad groups", s.api.StreamAdGroups, adgroupsTable, n,
			func(g *tiktok.AdGroup) load.Row {
				g.AdvertiserID = firstOf(g.AdvertiserID, advertiserID)
				p.adgroupCampaign[g.ID] = g.CampaignID
				return adgroupRow{g}
			})
	}
	if err == nil {
		err = loadPages(ctx, s, advertiserID, "ads", s.api.StreamAds, adsTable, n,
			func(ad *tiktok.Ad) load.Row {
				ad.AdvertiserID = firstOf(ad.AdvertiserID, advertiserID)
				p.adAdGroup[ad.ID], p.adCampaign[ad.ID] = ad.AdGroupID, ad.CampaignID
				return adRow{ad}
			})
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// loadPages streams one entity list page by page into its table.
func loadPages[T any](ctx context.Context, s *Syncer, advertiserID, what string,
	stream func(context.Context, string, func([]T) error) error, table load.Table, n *atomic.Int64, row func(*T) load.Row) error {
	err := stream(ctx, advertiserID, func(page []T) error {
		rows := make([]load.Row, len(page))
		for i := range page {
			rows[i] = row(&page[i])
		}
		if err := s.loader.Insert(ctx, table, rows); err != nil {
			return err
		}
		n.Add(int64(len(rows)))
		return nil
	})
	if err != nil {
		return fmt.Errorf("advertiser %s: %s: %w", advertiserID, what, err)
	}
	return nil
}

// parentsFromWarehouse rebuilds the parent map from the entity tables, for
// jobs that pull statistics without pulling entities first.
func (s *Syncer) parentsFromWarehouse(ctx context.Context, advertiserID string) (*parents, error) {
	p := newParents()
	q := fmt.Sprintf(`SELECT 'adgroup', adgroup_id, campaign_id, '' FROM %[1]s.adgroups FINAL WHERE advertiser_id = ?
UNION ALL SELECT 'ad', ad_id, campaign_id, adgroup_id FROM %[1]s.ads FINAL WHERE advertiser_id = ?`, s.opts.Target.Database)
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

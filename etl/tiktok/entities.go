package tiktok

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Advertiser is an advertiser account from /advertiser/info/.
type Advertiser struct {
	ID       string
	Name     string
	Currency string // ISO 4217; every money value of the account is in it
	// Timezone is the account timezone, fixed at creation, in which report
	// days and hours are labelled (e.g. "Etc/GMT+8", which is UTC−8).
	Timezone string
	// DisplayTimezone is the named zone Ads Manager shows (e.g.
	// "America/Los_Angeles"); it can differ from Timezone and is not used for
	// report labels.
	DisplayTimezone string
	Country         string
	Status          string // STATUS_ENABLE, STATUS_LIMIT, …
	Role            string
	CreateTime      Timestamp // epoch seconds in the API
	// Raw is the advertiser object as received.
	Raw json.RawMessage
}

// Location loads the advertiser's Timezone.
func (a *Advertiser) Location() (*time.Location, error) {
	if a.Timezone == "" {
		return nil, fmt.Errorf("tiktok: advertiser %s has no timezone", a.ID)
	}
	loc, err := time.LoadLocation(a.Timezone)
	if err != nil {
		return nil, fmt.Errorf("tiktok: advertiser %s timezone %q: %w", a.ID, a.Timezone, err)
	}
	return loc, nil
}

// UnmarshalJSON decodes an advertiser object, accepting IDs as strings or
// numbers.
func (a *Advertiser) UnmarshalJSON(b []byte) error {
	var r struct {
		AdvertiserID    flexString `json:"advertiser_id"`
		Name            string     `json:"name"`
		Currency        string     `json:"currency"`
		Timezone        string     `json:"timezone"`
		DisplayTimezone string     `json:"display_timezone"`
		Country         string     `json:"country"`
		Status          string     `json:"status"`
		Role            string     `json:"role"`
		CreateTime      Timestamp  `json:"create_time"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return err
	}
	*a = Advertiser{
		ID: string(r.AdvertiserID), Name: r.Name, Currency: r.Currency, Timezone: r.Timezone,
		DisplayTimezone: r.DisplayTimezone, Country: r.Country, Status: r.Status, Role: r.Role,
		CreateTime: r.CreateTime, Raw: append(json.RawMessage(nil), b...),
	}
	return nil
}

// AdvertiserFields are the fields requested from /advertiser/info/.
var AdvertiserFields = []string{
	"advertiser_id", "name", "currency", "timezone", "display_timezone",
	"country", "status", "role", "create_time",
}

// advertiserInfoBatch is how many IDs /advertiser/info/ accepts per call.
const advertiserInfoBatch = 100

// AdvertiserInfo returns the accounts for ids, in batches of 100 IDs per call.
func (c *Client) AdvertiserInfo(ctx context.Context, ids []string) ([]Advertiser, error) {
	var out []Advertiser
	for start := 0; start < len(ids); start += advertiserInfoBatch {
		batch := ids[start:min(start+advertiserInfoBatch, len(ids))]
		q := url.Values{}
		q.Set("advertiser_ids", jsonArray(batch))
		q.Set("fields", jsonArray(AdvertiserFields))
		// The call spans advertisers, so it counts against the app only.
		res, err := c.do(ctx, call{method: http.MethodGet, path: "advertiser/info", query: q})
		if err != nil {
			return out, err
		}
		var data struct {
			List []Advertiser `json:"list"`
		}
		if err := json.Unmarshal(res.data, &data); err != nil {
			return out, fmt.Errorf("tiktok: advertiser/info (request_id %s): %w", res.requestID, &DecodeError{Row: -1, Field: "list", Err: err})
		}
		out = append(out, data.List...)
		c.locMu.Lock()
		for _, a := range data.List {
			if loc, err := a.Location(); err == nil {
				c.locs[a.ID] = loc
			}
		}
		c.locMu.Unlock()
	}
	return out, nil
}

// AdvertiserLocation returns the advertiser's timezone, from the cache filled
// by AdvertiserInfo or by one /advertiser/info/ call.
func (c *Client) AdvertiserLocation(ctx context.Context, advertiserID string) (*time.Location, error) {
	c.locMu.Lock()
	loc := c.locs[advertiserID]
	c.locMu.Unlock()
	if loc != nil {
		return loc, nil
	}
	advs, err := c.AdvertiserInfo(ctx, []string{advertiserID})
	if err != nil {
		return nil, err
	}
	for i := range advs {
		if advs[i].ID == advertiserID {
			return advs[i].Location()
		}
	}
	return nil, fmt.Errorf("tiktok: advertiser %s not returned by advertiser/info: %w", advertiserID, ErrInvalidRequest)
}

// Campaign is a campaign from /campaign/get/.
type Campaign struct {
	ID              string
	AdvertiserID    string
	Name            string
	ObjectiveType   string
	CampaignType    string
	BudgetMode      string
	Budget          NullDecimal
	OperationStatus string
	// SecondaryStatus is the delivery status, e.g. CAMPAIGN_STATUS_DELETE.
	SecondaryStatus string
	CreateTime      Timestamp
	ModifyTime      Timestamp
	Raw             json.RawMessage
}

// Deleted reports whether the campaign is deleted.
func (c *Campaign) Deleted() bool { return isDeletedStatus(c.SecondaryStatus, c.OperationStatus) }

// UnmarshalJSON decodes a campaign, accepting IDs as strings or numbers.
func (c *Campaign) UnmarshalJSON(b []byte) error {
	var r struct {
		CampaignID      flexString  `json:"campaign_id"`
		AdvertiserID    flexString  `json:"advertiser_id"`
		CampaignName    string      `json:"campaign_name"`
		ObjectiveType   string      `json:"objective_type"`
		CampaignType    string      `json:"campaign_type"`
		BudgetMode      string      `json:"budget_mode"`
		Budget          NullDecimal `json:"budget"`
		OperationStatus string      `json:"operation_status"`
		SecondaryStatus string      `json:"secondary_status"`
		CreateTime      Timestamp   `json:"create_time"`
		ModifyTime      Timestamp   `json:"modify_time"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return err
	}
	*c = Campaign{
		ID: string(r.CampaignID), AdvertiserID: string(r.AdvertiserID), Name: r.CampaignName,
		ObjectiveType: r.ObjectiveType, CampaignType: r.CampaignType, BudgetMode: r.BudgetMode, Budget: r.Budget,
		OperationStatus: r.OperationStatus, SecondaryStatus: r.SecondaryStatus,
		CreateTime: r.CreateTime, ModifyTime: r.ModifyTime, Raw: append(json.RawMessage(nil), b...),
	}
	return nil
}

// AdGroup is an ad group from /adgroup/get/.
type AdGroup struct {
	ID                string
	CampaignID        string
	AdvertiserID      string
	Name              string
	BudgetMode        string
	Budget            NullDecimal
	OptimizationGoal  string
	BillingEvent      string
	PlacementType     string
	ScheduleStartTime Timestamp
	ScheduleEndTime   Timestamp
	OperationStatus   string
	SecondaryStatus   string
	CreateTime        Timestamp
	ModifyTime        Timestamp
	Raw               json.RawMessage
}

// Deleted reports whether the ad group is deleted.
func (g *AdGroup) Deleted() bool { return isDeletedStatus(g.SecondaryStatus, g.OperationStatus) }

// UnmarshalJSON decodes an ad group, accepting IDs as strings or numbers.
func (g *AdGroup) UnmarshalJSON(b []byte) error {
	var r struct {
		AdGroupID         flexString  `json:"adgroup_id"`
		CampaignID        flexString  `json:"campaign_id"`
		AdvertiserID      flexString  `json:"advertiser_id"`
		AdGroupName       string      `json:"adgroup_name"`
		BudgetMode        string      `json:"budget_mode"`
		Budget            NullDecimal `json:"budget"`
		OptimizationGoal  string      `json:"optimization_goal"`
		BillingEvent      string      `json:"billing_event"`
		PlacementType     string      `json:"placement_type"`
		ScheduleStartTime Timestamp   `json:"schedule_start_time"`
		ScheduleEndTime   Timestamp   `json:"schedule_end_time"`
		OperationStatus   string      `json:"operation_status"`
		SecondaryStatus   string      `json:"secondary_status"`
		CreateTime        Timestamp   `json:"create_time"`
		ModifyTime        Timestamp   `json:"modify_time"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return err
	}
	*g = AdGroup{
		ID: string(r.AdGroupID), CampaignID: string(r.CampaignID), AdvertiserID: string(r.AdvertiserID),
		Name: r.AdGroupName, BudgetMode: r.BudgetMode, Budget: r.Budget, OptimizationGoal: r.OptimizationGoal,
		BillingEvent: r.BillingEvent, PlacementType: r.PlacementType,
		ScheduleStartTime: r.ScheduleStartTime, ScheduleEndTime: r.ScheduleEndTime,
		OperationStatus: r.OperationStatus, SecondaryStatus: r.SecondaryStatus,
		CreateTime: r.CreateTime, ModifyTime: r.ModifyTime, Raw: append(json.RawMessage(nil), b...),
	}
	return nil
}

// Ad is an ad from /ad/get/.
type Ad struct {
	ID              string
	AdGroupID       string
	CampaignID      string
	AdvertiserID    string
	Name            string
	AdText          string
	LandingPageURL  string
	CallToAction    string
	VideoID         string
	OperationStatus string
	SecondaryStatus string
	CreateTime      Timestamp
	ModifyTime      Timestamp
	Raw             json.RawMessage
}

// Deleted reports whether the ad is deleted.
func (a *Ad) Deleted() bool { return isDeletedStatus(a.SecondaryStatus, a.OperationStatus) }

// UnmarshalJSON decodes an ad, accepting IDs as strings or numbers.
func (a *Ad) UnmarshalJSON(b []byte) error {
	var r struct {
		AdID            flexString `json:"ad_id"`
		AdGroupID       flexString `json:"adgroup_id"`
		CampaignID      flexString `json:"campaign_id"`
		AdvertiserID    flexString `json:"advertiser_id"`
		AdName          string     `json:"ad_name"`
		AdText          string     `json:"ad_text"`
		LandingPageURL  string     `json:"landing_page_url"`
		CallToAction    string     `json:"call_to_action"`
		VideoID         string     `json:"video_id"`
		OperationStatus string     `json:"operation_status"`
		SecondaryStatus string     `json:"secondary_status"`
		CreateTime      Timestamp  `json:"create_time"`
		ModifyTime      Timestamp  `json:"modify_time"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return err
	}
	*a = Ad{
		ID: string(r.AdID), AdGroupID: string(r.AdGroupID), CampaignID: string(r.CampaignID),
		AdvertiserID: string(r.AdvertiserID), Name: r.AdName, AdText: r.AdText, LandingPageURL: r.LandingPageURL,
		CallToAction: r.CallToAction, VideoID: r.VideoID, OperationStatus: r.OperationStatus,
		SecondaryStatus: r.SecondaryStatus, CreateTime: r.CreateTime, ModifyTime: r.ModifyTime,
		Raw: append(json.RawMessage(nil), b...),
	}
	return nil
}

func isDeletedStatus(secondary, operation string) bool {
	return strings.HasSuffix(secondary, "_DELETE") || operation == "DELETE"
}

// entityKind describes one entity endpoint.
type entityKind struct {
	path      string // e.g. "campaign/get"
	allStatus string // secondary_status value that includes deleted objects
}

var (
	campaignKind = entityKind{path: "campaign/get", allStatus: "CAMPAIGN_STATUS_ALL"}
	adGroupKind  = entityKind{path: "adgroup/get", allStatus: "ADGROUP_STATUS_ALL"}
	adKind       = entityKind{path: "ad/get", allStatus: "AD_STATUS_ALL"}
)

// listEntities pages through an entity endpoint with deleted objects
// included, handing each page to fn. id returns an item's ID for the
// duplicate check.
func listEntities[T any](ctx context.Context, c *Client, k entityKind, advertiserID string, id func(*T) string, fn func([]T) error) error {
	if advertiserID == "" {
		return fmt.Errorf("tiktok: %s: no advertiser_id: %w", k.path, ErrInvalidRequest)
	}
	filtering, _ := json.Marshal(map[string]string{"secondary_status": k.allStatus})
	seen := make(map[string]struct{})
	total, rows := 0, 0
	for page := 1; ; page++ {
		q := url.Values{}
		q.Set("advertiser_id", advertiserID)
		q.Set("filtering", string(filtering))
		q.Set("page", strconv.Itoa(page))
		q.Set("page_size", strconv.Itoa(c.opts.PageSize))
		res, err := c.do(ctx, call{method: http.MethodGet, path: k.path, advertiserID: advertiserID, query: q})
		if err != nil {
			return err
		}
		var data struct {
			List     []T      `json:"list"`
			PageInfo PageInfo `json:"page_info"`
		}
		if err := json.Unmarshal(res.data, &data); err != nil {
			return fmt.Errorf("tiktok: %s page %d for advertiser %s (request_id %s): %w", k.path, page, advertiserID, res.requestID, &DecodeError{Row: -1, Field: "list", Err: err})
		}
		if err := checkPage(k.path, page, c.opts.PageSize, &data.PageInfo, len(data.List), total, rows); err != nil {
			return err
		}
		total = data.PageInfo.TotalNumber
		for i := range data.List {
			key := id(&data.List[i])
			if _, dup := seen[key]; dup {
				return &PaginationDriftError{Path: k.path, Page: page, Reason: fmt.Sprintf("id %s repeated from an earlier page", key)}
			}
			seen[key] = struct{}{}
		}
		rows += len(data.List)
		if err := fn(data.List); err != nil {
			return err
		}
		if page >= data.PageInfo.TotalPage || len(data.List) == 0 {
			if rows != total {
				return &PaginationDriftError{Path: k.path, Page: page, Reason: fmt.Sprintf("received %d items, total_number is %d", rows, total)}
			}
			return nil
		}
	}
}

// StreamCampaigns pages through the advertiser's campaigns, deleted ones
// included, handing each page to fn.
func (c *Client) StreamCampaigns(ctx context.Context, advertiserID string, fn func([]Campaign) error) error {
	return listEntities(ctx, c, campaignKind, advertiserID, func(x *Campaign) string { return x.ID }, fn)
}

// StreamAdGroups pages through the advertiser's ad groups, deleted ones
// included, handing each page to fn.
func (c *Client) StreamAdGroups(ctx context.Context, advertiserID string, fn func([]AdGroup) error) error {
	return listEntities(ctx, c, adGroupKind, advertiserID, func(x *AdGroup) string { return x.ID }, fn)
}

// StreamAds pages through the advertiser's ads, deleted ones included,
// handing each page to fn.
func (c *Client) StreamAds(ctx context.Context, advertiserID string, fn func([]Ad) error) error {
	return listEntities(ctx, c, adKind, advertiserID, func(x *Ad) string { return x.ID }, fn)
}

// Campaigns returns all of the advertiser's campaigns, deleted ones included.
func (c *Client) Campaigns(ctx context.Context, advertiserID string) ([]Campaign, error) {
	return collect(func(fn func([]Campaign) error) error { return c.StreamCampaigns(ctx, advertiserID, fn) })
}

// AdGroups returns all of the advertiser's ad groups, deleted ones included.
func (c *Client) AdGroups(ctx context.Context, advertiserID string) ([]AdGroup, error) {
	return collect(func(fn func([]AdGroup) error) error { return c.StreamAdGroups(ctx, advertiserID, fn) })
}

// Ads returns all of the advertiser's ads, deleted ones included.
func (c *Client) Ads(ctx context.Context, advertiserID string) ([]Ad, error) {
	return collect(func(fn func([]Ad) error) error { return c.StreamAds(ctx, advertiserID, fn) })
}

func collect[T any](stream func(func([]T) error) error) ([]T, error) {
	var out []T
	err := stream(func(p []T) error {
		out = append(out, p...)
		return nil
	})
	return out, err
}

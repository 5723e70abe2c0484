// Package attribution holds the rules that turn a visit, deal or order's
// traffic fields into a touch (TikTok, another channel, or none) with the
// references that find its TikTok campaign, ad group and ad, and the settings
// the attribution views read. docs/attribution.md states the rules in full.
package attribution

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"

	"github.com/adhouse/adhouse/schema"
)

// Channel is what a touch says about where the visitor came from.
type Channel string

// The channels a touch can have.
const (
	// ChannelTikTok is a TikTok ad click: a ttclid, or a TikTok utm_source.
	ChannelTikTok Channel = "tiktok"
	// ChannelOther is any other non-direct source.
	ChannelOther Channel = "other"
	// ChannelNone is no source at all, or "(direct)": never credited.
	ChannelNone Channel = "none"
)

// Touch is the traffic information of one visit, deal or order.
type Touch struct {
	Source, Medium, Campaign, ID, Content, Term string
	TTCLID                                      string
}

// FromURL reads utm_* parameters and ttclid from a landing URL (or a bare
// query string). A URL that does not parse gives an empty touch: landing
// pages are free text, not a reason to fail an import.
func FromURL(raw string) Touch {
	q := raw
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		q = raw[i+1:]
	} else if strings.Contains(raw, "://") || !strings.Contains(raw, "=") {
		return Touch{}
	}
	if i := strings.IndexByte(q, '#'); i >= 0 {
		q = q[:i]
	}
	if strings.Count(q, "&") >= maxQueryParams {
		// url.ParseQuery refuses as many: so does the fast path's model.
		v, _ := url.ParseQuery(q)
		return Touch{
			Source: v.Get("utm_source"), Medium: v.Get("utm_medium"), Campaign: v.Get("utm_campaign"),
			ID: v.Get("utm_id"), Content: v.Get("utm_content"), Term: v.Get("utm_term"), TTCLID: v.Get("ttclid"),
		}
	}
	return fromQuery(q)
}

// maxQueryParams is url.ParseQuery's limit on parameters.
const maxQueryParams = 10000

// fromQuery is url.ParseQuery followed by Get of the seven parameters a touch
// keeps, without building the map: the first value of each, skipping pairs
// with a semicolon or a bad escape as ParseQuery does, and allocating only
// for values that hold escapes. FuzzFromQuery compares the two.
func fromQuery(q string) Touch {
	var t Touch
	var seen uint8
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(k)
		if err != nil {
			continue
		}
		var dst *string
		var bit uint8
		switch k {
		case "utm_source":
			dst, bit = &t.Source, 1
		case "utm_medium":
			dst, bit = &t.Medium, 2
		case "utm_campaign":
			dst, bit = &t.Campaign, 4
		case "utm_id":
			dst, bit = &t.ID, 8
		case "utm_content":
			dst, bit = &t.Content, 16
		case "utm_term":
			dst, bit = &t.Term, 32
		case "ttclid":
			dst, bit = &t.TTCLID, 64
		default:
			continue
		}
		if seen&bit != 0 {
			continue
		}
		if v, err = url.QueryUnescape(v); err != nil {
			continue
		}
		*dst = v
		seen |= bit
	}
	return t
}

// Or fills the touch's empty source fields from o as one unit: a touch with a
// source, medium or campaign keeps them all. A missing ttclid is taken from o
// either way.
func (t Touch) Or(o Touch) Touch {
	if t.Source == "" && t.Medium == "" && t.Campaign == "" && t.ID == "" {
		tt := t.TTCLID
		t = o
		if tt != "" {
			t.TTCLID = tt
		}
	} else if t.TTCLID == "" {
		t.TTCLID = o.TTCLID
	}
	return t
}

// Rules classify touches and pick their entity references.
type Rules struct {
	// TikTokSources are utm_source values (case-insensitive) that mean TikTok.
	TikTokSources []string
	// CampaignParam, AdGroupParam and AdParam name the UTM parameter that
	// carries each level's id or name: utm_campaign, utm_id, utm_content,
	// utm_term, or "" for none.
	CampaignParam, AdGroupParam, AdParam string
}

// Params lists the parameter names Rules accept.
var Params = []string{"utm_campaign", "utm_id", "utm_content", "utm_term", ""}

// Classified is a touch's channel and references.
type Classified struct {
	Channel                        Channel
	CampaignRef, AdGroupRef, AdRef string
}

// Classify decides a touch's channel: TikTok if it has a ttclid or a TikTok
// source; none if it has no source, medium, campaign or ttclid, or its source
// is "(direct)"; other otherwise.
func (r Rules) Classify(t Touch) Classified {
	c := Classified{CampaignRef: r.param(t, r.CampaignParam), AdGroupRef: r.param(t, r.AdGroupParam), AdRef: r.param(t, r.AdParam)}
	src := strings.TrimSpace(t.Source)
	switch {
	case t.TTCLID != "":
		c.Channel = ChannelTikTok
	case src == "" && t.Medium == "" && t.Campaign == "" && t.ID == "", strings.EqualFold(src, "(direct)"):
		c.Channel = ChannelNone
	default:
		c.Channel = ChannelOther
		for _, s := range r.TikTokSources {
			if strings.EqualFold(src, s) {
				c.Channel = ChannelTikTok
				break
			}
		}
	}
	return c
}

func (r Rules) param(t Touch, name string) string {
	switch name {
	case "utm_campaign":
		return t.Campaign
	case "utm_id":
		return t.ID
	case "utm_content":
		return t.Content
	case "utm_term":
		return t.Term
	}
	return ""
}

// Settings are what the attribution views read from attribution_settings.
type Settings struct {
	LookbackDays     int
	MatchBy          string // id, name or id_or_name
	ConversionEvents []string
	// DefaultMargin is the gross margin fraction for order lines without a
	// product cost; nil leaves their cost unknown.
	DefaultMargin *decimal.Decimal
	// RefundedOrderCost is keep (the default) or drop: whether a fully
	// refunded order's goods still cost.
	RefundedOrderCost string
	// FeePerOrder and FeePercent add a fee per order and in percent of its
	// revenue to the file's fee column.
	FeePerOrder, FeePercent decimal.Decimal
	// ReportingCurrency is the ISO 4217 code the reporting views convert
	// every amount into; empty leaves amounts in their own currencies.
	ReportingCurrency string
}

// Save writes the settings as the newest row of attribution_settings.
func Save(ctx context.Context, conn driver.Conn, t schema.Target, s Settings) error {
	database := t.Database
	now := time.Now().UTC()
	q := fmt.Sprintf("INSERT INTO %s.attribution_settings (version, lookback_days, match_by, conversion_events, default_margin, refunded_order_cost, fee_per_order, fee_percent, reporting_currency, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", database)
	refunded := s.RefundedOrderCost
	if refunded == "" {
		refunded = "keep"
	}
	events := s.ConversionEvents
	if events == nil {
		events = []string{}
	}
	var margin any // a typed nil pointer would not bind as NULL
	if s.DefaultMargin != nil {
		margin = *s.DefaultMargin
	}
	if err := conn.Exec(ctx, q, uint64(now.UnixMicro()), uint16(s.LookbackDays), s.MatchBy, events, margin, refunded, s.FeePerOrder, s.FeePercent, s.ReportingCurrency, now); err != nil {
		return fmt.Errorf("saving attribution settings: %w", err)
	}
	return nil
}

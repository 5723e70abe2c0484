package tiktoksim

import (
	"fmt"
	"strconv"
	"time"

	"github.com/adhouse/adhouse/etl/tiktok"
)

// Limits of the ID scheme: IDs encode the position of an entity in the
// account tree, so any entity can be found without storing anything.
const (
	MaxAdvertisers            = 99999
	MaxCampaignsPerAdvertiser = 9999
	MaxAdGroupsPerCampaign    = 999
	MaxAdsPerAdGroup          = 999
)

// profile is an advertiser archetype: a timezone, a currency and how spend is
// written. They cycle over the advertisers, so any account of three or more
// covers a zone behind UTC (Etc/GMT+8, i.e. UTC−8), one ahead (Asia/Tokyo)
// and one with daylight saving time (Europe/Berlin).
type profile struct {
	tz, displayTZ string
	currency      string
	country       string
	scale         int32 // decimals in spend strings
	step          int64 // spend granularity in units of 10^-scale (JPY: whole yen)
	cpmMin        int64 // CPM range in whole currency units
	cpmMax        int64
	aovMin        int64 // order value range in whole currency units
	aovMax        int64
}

var profiles = []profile{
	{tz: "Etc/GMT+8", displayTZ: "America/Los_Angeles", currency: "USD", country: "US", scale: 2, step: 1, cpmMin: 2, cpmMax: 12, aovMin: 15, aovMax: 120},
	{tz: "Asia/Tokyo", displayTZ: "Asia/Tokyo", currency: "JPY", country: "JP", scale: 2, step: 100, cpmMin: 300, cpmMax: 1500, aovMin: 2000, aovMax: 15000},
	{tz: "Europe/Berlin", displayTZ: "Europe/Berlin", currency: "EUR", country: "DE", scale: 2, step: 1, cpmMin: 2, cpmMax: 10, aovMin: 20, aovMax: 150},
	{tz: "America/New_York", displayTZ: "America/New_York", currency: "USD", country: "US", scale: 6, step: 1, cpmMin: 3, cpmMax: 15, aovMin: 10, aovMax: 90},
	{tz: "Asia/Kolkata", displayTZ: "Asia/Kolkata", currency: "INR", country: "IN", scale: 2, step: 1, cpmMin: 40, cpmMax: 300, aovMin: 300, aovMax: 4000},
	{tz: "Etc/GMT-9", displayTZ: "Asia/Seoul", currency: "KRW", country: "KR", scale: 2, step: 100, cpmMin: 1500, cpmMax: 9000, aovMin: 9000, aovMax: 90000},
	{tz: "UTC", displayTZ: "Europe/London", currency: "GBP", country: "GB", scale: 3, step: 1, cpmMin: 2, cpmMax: 9, aovMin: 12, aovMax: 100},
}

// Objectives of simulated campaigns. App campaigns report installs and in-app
// purchase value and "-" for web payments; web campaigns the reverse;
// traffic campaigns neither.
const (
	objApp     = "APP_PROMOTION"
	objWeb     = "WEB_CONVERSIONS"
	objTraffic = "TRAFFIC"
)

var objectives = []string{objApp, objWeb, objTraffic}

// Entity kinds encoded in IDs.
const (
	kindCampaign = '7'
	kindAdGroup  = '8'
	kindAd       = '9'
)

// ref locates an entity in the tree. Unused trailing indexes are -1.
type ref struct {
	adv, camp, group, ad int
}

// AdvertiserID returns the ID of advertiser number i (0-based).
func AdvertiserID(i int) string { return fmt.Sprintf("70%017d", i+1) }

func campaignID(a, c int) string   { return fmt.Sprintf("1%c%05d%04d000000", kindCampaign, a, c) }
func adGroupID(a, c, g int) string { return fmt.Sprintf("1%c%05d%04d%03d000", kindAdGroup, a, c, g) }
func adID(a, c, g, d int) string   { return fmt.Sprintf("1%c%05d%04d%03d%03d", kindAd, a, c, g, d) }

// parseAdvertiserID returns the advertiser index of id, or -1.
func (s *Server) parseAdvertiserID(id string) int {
	if len(id) != 19 || id[:2] != "70" {
		return -1
	}
	n, err := strconv.Atoi(id[2:])
	if err != nil || n < 1 || n > s.cfg.Advertisers {
		return -1
	}
	return n - 1
}

// advertiser is the static description of one simulated account.
type advertiser struct {
	idx     int
	id      string
	name    string
	prof    profile
	loc     *time.Location
	created time.Time
}

func (s *Server) advertiser(i int) *advertiser { return s.advs[i] }

func (s *Server) buildAdvertisers() error {
	s.advs = make([]*advertiser, s.cfg.Advertisers)
	for i := range s.advs {
		p := profiles[i%len(profiles)]
		loc, err := time.LoadLocation(p.tz)
		if err != nil {
			return fmt.Errorf("tiktoksim: timezone %s: %w", p.tz, err)
		}
		s.advs[i] = &advertiser{
			idx:     i,
			id:      AdvertiserID(i),
			name:    fmt.Sprintf("Sim Advertiser %d (%s, %s)", i+1, p.currency, p.tz),
			prof:    p,
			loc:     loc,
			created: s.cfg.StartDate.Time().AddDate(0, 0, -90).Add(time.Duration(s.h(0xad, uint64(i))%86400) * time.Second),
		}
	}
	return nil
}

// lifetime is when an entity exists: [created, deleted). deleted is zero when
// the entity is never deleted.
type lifetime struct {
	created time.Time
	deleted time.Time
}

// alive reports whether the entity delivered at instant t.
func (l lifetime) alive(t time.Time) bool {
	return !t.Before(l.created) && (l.deleted.IsZero() || t.Before(l.deleted))
}

// intersect narrows l to the lifetime of a parent.
func (l lifetime) intersect(p lifetime) lifetime {
	if p.created.After(l.created) {
		l.created = p.created
	}
	if !p.deleted.IsZero() && (l.deleted.IsZero() || p.deleted.Before(l.deleted)) {
		l.deleted = p.deleted
	}
	return l
}

// ownLifetime derives an entity's own create and delete instants from its
// position. Most entities predate the start of the history; some are created
// during it; about one in seven is deleted at some point.
func (s *Server) ownLifetime(tag uint64, r ref) lifetime {
	h := s.h(tag, uint64(r.adv), uint64(r.camp), uint64(r.group+1), uint64(r.ad+1))
	start := s.cfg.StartDate.Time()
	span := max(s.cfg.Days, 1)
	var created time.Time
	if h%10 == 0 {
		// Created during the history.
		created = start.Add(time.Duration((h>>8)%uint64(span*86400)) * time.Second)
	} else {
		created = start.Add(-time.Duration(1+(h>>8)%(60*86400)) * time.Second)
	}
	l := lifetime{created: created}
	if (h>>40)%9 == 0 {
		// Deleted after at least three days of history, up to three weeks
		// after the default clock, so deleted entities have spend to keep.
		from := created
		if from.Before(start) {
			from = start
		}
		from = from.Add(3 * 24 * time.Hour)
		l.deleted = from.Add(time.Duration((h>>20)%uint64((span+21)*86400)) * time.Second)
	}
	return l
}

// lifetimeOf returns the effective lifetime of an entity: its own, narrowed
// by its ancestors' (deleting a campaign stops its ads).
func (s *Server) lifetimeOf(kind byte, r ref) lifetime {
	l := s.ownLifetime(0xca, ref{r.adv, r.camp, -1, -1})
	if kind == kindCampaign {
		return l
	}
	l = s.ownLifetime(0xa9, ref{r.adv, r.camp, r.group, -1}).intersect(l)
	if kind == kindAdGroup {
		return l
	}
	return s.ownLifetime(0xad, r).intersect(l)
}

// objective returns the campaign objective.
func (s *Server) objective(a, c int) string {
	return objectives[s.h(0x0b, uint64(a), uint64(c))%uint64(len(objectives))]
}

// entityStatus returns operation_status and secondary_status as of now.
func entityStatus(l lifetime, now time.Time, prefix string) (op, secondary string) {
	if !l.deleted.IsZero() && !now.Before(l.deleted) {
		return "DELETE", prefix + "_STATUS_DELETE"
	}
	return "ENABLE", prefix + "_STATUS_DELIVERY_OK"
}

// dateIndex numbers days since 1970-01-01, for hashing.
func dateIndex(d tiktok.Date) uint64 {
	return uint64(d.Time().Unix() / 86400)
}

// hourSlot is one hour of delivery in a local day: its label, which
// occurrence of the label it is (1 for the second pass through the hour a
// fall-back day repeats) and when it starts.
type hourSlot struct {
	label, fold int
	start       time.Time
}

// maxSlots is the most hours a local day has (a fall-back day).
const maxSlots = 25

// hourSlots returns the hours of day d in loc in time order: 23 on a
// spring-forward day (the skipped hour has no label), 25 on a fall-back day
// (the repeated hour's label twice, as TikTok's wall-clock labels show it),
// 24 otherwise.
func hourSlots(d tiktok.Date, loc *time.Location) []hourSlot {
	out := make([]hourSlot, 0, maxSlots)
	for h := 0; h < 24; h++ {
		for fold, st := range d.HourStarts(loc, h) {
			out = append(out, hourSlot{label: h, fold: fold, start: st})
		}
	}
	return out
}

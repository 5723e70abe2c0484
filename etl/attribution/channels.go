package attribution

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
)

// SourceCategory is GA4's category of a traffic source (a search engine, a
// social network, a video or a shopping site), which its default channel
// grouping uses.
type SourceCategory string

// GA4's source categories.
const (
	CategorySearch   SourceCategory = "SOURCE_CATEGORY_SEARCH"
	CategorySocial   SourceCategory = "SOURCE_CATEGORY_SOCIAL"
	CategoryVideo    SourceCategory = "SOURCE_CATEGORY_VIDEO"
	CategoryShopping SourceCategory = "SOURCE_CATEGORY_SHOPPING"
)

// Categories maps a source ("google", "facebook.com", "l.facebook.com") to
// its category. Lookups ignore case and fall back from a host to its parent
// domains (m.youtube.com → youtube.com).
type Categories map[string]SourceCategory

// DefaultCategories are the sources most sites see, by category. Google
// publishes the full list GA4 uses; load it with ReadCategories
// (imports.ga4_source_categories) to classify as GA4 does for every source.
func DefaultCategories() Categories {
	c := Categories{}
	for cat, sources := range map[SourceCategory]string{
		CategorySearch: "google bing yahoo duckduckgo baidu yandex ecosia.org naver naver.com ask aol " +
			"startpage.com qwant.com seznam",
		CategorySocial: "facebook facebook.com instagram instagram.com tiktok tiktok.com twitter twitter.com x.com t.co " +
			"linkedin linkedin.com lnkd.in pinterest pinterest.com reddit reddit.com snapchat snapchat.com " +
			"whatsapp whatsapp.com messenger.com threads.net tumblr tumblr.com vk.com weibo.com quora quora.com",
		CategoryVideo:    "youtube youtube.com vimeo vimeo.com twitch.tv dailymotion.com netflix.com",
		CategoryShopping: "amazon amazon.com ebay ebay.com etsy etsy.com walmart.com aliexpress.com shopify.com",
	} {
		for _, s := range strings.Fields(sources) {
			c[s] = cat
		}
	}
	return c
}

// ReadCategories reads GA4's source category list, a CSV with the columns
// source and source_category as Google publishes it, over the defaults.
func ReadCategories(r io.Reader) (Categories, error) {
	c := DefaultCategories()
	cr := csv.NewReader(r)
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("source categories: %w", err)
	}
	if len(head) < 2 || strings.TrimSpace(strings.ToLower(head[0])) != "source" {
		return nil, errors.New("source categories: want the columns source,source_category")
	}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return c, nil
		}
		if err != nil {
			return nil, fmt.Errorf("source categories: line %d: %w", line, err)
		}
		switch cat := SourceCategory(strings.TrimSpace(rec[1])); cat {
		case CategorySearch, CategorySocial, CategoryVideo, CategoryShopping:
			c[strings.ToLower(strings.TrimSpace(rec[0]))] = cat
		default:
			return nil, fmt.Errorf("source categories: line %d: unknown category %q", line, rec[1])
		}
	}
}

// Of returns the category of a source, or "": the source itself, then its
// parent domains, then the site's name (bing for www.bing.com).
func (c Categories) Of(source string) SourceCategory {
	s := strings.ToLower(strings.TrimSpace(source))
	labels := strings.Split(s, ".")
	for i := range labels {
		if cat, ok := c[strings.Join(labels[i:], ".")]; ok {
			return cat
		}
	}
	for i := len(labels) - 2; i >= 0; i-- {
		if suffixLike(labels[i+1:]) {
			return c[labels[i]]
		}
	}
	return ""
}

// GA4's default channel groups.
const (
	GroupDirect           = "Direct"
	GroupCrossNetwork     = "Cross-network"
	GroupPaidShopping     = "Paid Shopping"
	GroupPaidSearch       = "Paid Search"
	GroupPaidSocial       = "Paid Social"
	GroupPaidVideo        = "Paid Video"
	GroupDisplay          = "Display"
	GroupPaidOther        = "Paid Other"
	GroupOrganicShopping  = "Organic Shopping"
	GroupOrganicSocial    = "Organic Social"
	GroupOrganicVideo     = "Organic Video"
	GroupOrganicSearch    = "Organic Search"
	GroupReferral         = "Referral"
	GroupEmail            = "Email"
	GroupAffiliates       = "Affiliates"
	GroupAudio            = "Audio"
	GroupSMS              = "SMS"
	GroupMobilePush       = "Mobile Push Notifications"
	GroupUnassigned       = "Unassigned"
	paidMediumPattern     = `^(.*cp.*|ppc|retargeting|paid.*)$`
	shoppingCampaignRegex = `^(.*(([^a-df-z]|^)shop|shopping).*)$`
)

var (
	paidMedium       = regexp.MustCompile(paidMediumPattern)
	shoppingCampaign = regexp.MustCompile(shoppingCampaignRegex)
	videoMedium      = regexp.MustCompile(`^(.*video.*)$`)
)

// ChannelGroup returns GA4's default channel group for a session's source,
// medium and campaign name, by GA4's rules in GA4's order (the first that
// matches wins). An empty source and medium is Direct, as GA4 reports a
// visit without any source.
func (c Categories) ChannelGroup(source, medium, campaign string) string {
	src := strings.ToLower(strings.TrimSpace(source))
	med := strings.ToLower(strings.TrimSpace(medium))
	camp := strings.ToLower(strings.TrimSpace(campaign))
	cat := c.Of(src)
	paid := paidMedium.MatchString(med)
	shopCampaign := shoppingCampaign.MatchString(camp)
	in := func(s string, set ...string) bool {
		for _, x := range set {
			if s == x {
				return true
			}
		}
		return false
	}
	switch {
	case (src == "(direct)" || src == "") && in(med, "(not set)", "(none)", ""):
		return GroupDirect
	case strings.Contains(camp, "cross-network"):
		return GroupCrossNetwork
	case (cat == CategoryShopping || shopCampaign) && paid:
		return GroupPaidShopping
	case cat == CategorySearch && paid:
		return GroupPaidSearch
	case cat == CategorySocial && paid:
		return GroupPaidSocial
	case cat == CategoryVideo && paid:
		return GroupPaidVideo
	case in(med, "display", "banner", "expandable", "interstitial", "cpm"):
		return GroupDisplay
	case paid:
		return GroupPaidOther
	case cat == CategoryShopping || shopCampaign:
		return GroupOrganicShopping
	case cat == CategorySocial || in(med, "social", "social-network", "social-media", "sm", "social network", "social media"):
		return GroupOrganicSocial
	case cat == CategoryVideo || videoMedium.MatchString(med):
		return GroupOrganicVideo
	case cat == CategorySearch || med == "organic":
		return GroupOrganicSearch
	case in(med, "referral", "app", "link"):
		return GroupReferral
	case in(src, "email", "e-mail", "e_mail", "e mail") || in(med, "email", "e-mail", "e_mail", "e mail"):
		return GroupEmail
	case med == "affiliate":
		return GroupAffiliates
	case med == "audio":
		return GroupAudio
	case src == "sms" || med == "sms":
		return GroupSMS
	case strings.HasSuffix(med, "push") || strings.Contains(med, "mobile") || strings.Contains(med, "notification") || src == "firebase":
		return GroupMobilePush
	}
	return GroupUnassigned
}

// searchEngines names the search engines GA4 reports by name rather than
// by host when it derives a source from the referrer.
var searchEngines = []struct{ domain, name string }{
	{"google", "google"}, {"bing", "bing"}, {"yahoo", "yahoo"}, {"duckduckgo", "duckduckgo"},
	{"baidu", "baidu"}, {"yandex", "yandex"}, {"ecosia", "ecosia.org"}, {"naver", "naver"}, {"seznam", "seznam"},
}

// FromReferrer derives the source and medium of a visit without campaign
// parameters from its page referrer, as GA4 does: a search engine is the
// engine's name with medium organic, any other external site its host with
// medium referral. A referrer on the page's own host (internal navigation),
// or none, gives the empty touch: not a new visit.
func FromReferrer(referrer, page string) Touch {
	ref, err := url.Parse(strings.TrimSpace(referrer))
	if err != nil || ref.Host == "" {
		return Touch{}
	}
	host := strings.TrimPrefix(strings.ToLower(ref.Hostname()), "www.")
	if p, err := url.Parse(page); err == nil && strings.TrimPrefix(strings.ToLower(p.Hostname()), "www.") == host {
		return Touch{}
	}
	labels := strings.Split(host, ".")
	for _, e := range searchEngines {
		for i, l := range labels {
			// The engine's own domain: only a public suffix (com, co.uk,
			// de…) may follow it, so google.example.com is not Google.
			if l == e.domain && i < len(labels)-1 && suffixLike(labels[i+1:]) {
				return Touch{Source: e.name, Medium: "organic"}
			}
		}
	}
	return Touch{Source: host, Medium: "referral"}
}

// suffixLike reports whether labels look like a public suffix: short
// labels such as com, co, uk, org.
func suffixLike(labels []string) bool {
	for _, l := range labels {
		if len(l) > 3 {
			return false
		}
	}
	return len(labels) <= 2
}

package attribution_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/attribution"
)

func TestChannelGroup(t *testing.T) {
	c := attribution.DefaultCategories()
	for _, tc := range []struct{ source, medium, campaign, want string }{
		{"(direct)", "(none)", "", attribution.GroupDirect},
		{"", "", "", attribution.GroupDirect},
		{"tiktok", "paid", "spring", attribution.GroupPaidSocial},
		{"tiktok", "cpc", "", attribution.GroupPaidSocial},
		{"tiktok.com", "referral", "", attribution.GroupOrganicSocial},
		{"google", "cpc", "", attribution.GroupPaidSearch},
		{"google", "organic", "", attribution.GroupOrganicSearch},
		{"www.bing.com", "referral", "", attribution.GroupOrganicSearch},
		{"m.facebook.com", "referral", "", attribution.GroupOrganicSocial},
		{"facebook", "paid_social", "", attribution.GroupPaidSocial},
		{"newsletter", "email", "", attribution.GroupEmail},
		{"partner.example", "referral", "", attribution.GroupReferral},
		{"criteo", "display", "", attribution.GroupDisplay},
		{"criteo", "cpc", "", attribution.GroupPaidOther},
		{"m.youtube.com", "referral", "", attribution.GroupOrganicVideo},
		{"x", "y", "black friday cross-network", attribution.GroupCrossNetwork},
		{"idealo", "cpc", "shopping feed", attribution.GroupPaidShopping},
		{"amazon.com", "referral", "", attribution.GroupOrganicShopping},
		{"awin", "affiliate", "", attribution.GroupAffiliates},
		{"podcast", "audio", "", attribution.GroupAudio},
		{"sms", "text", "", attribution.GroupSMS},
		{"firebase", "notif", "", attribution.GroupMobilePush},
		{"somewhere", "", "", attribution.GroupUnassigned},
	} {
		require.Equal(t, tc.want, c.ChannelGroup(tc.source, tc.medium, tc.campaign), "%+v", tc)
	}
}

func TestFromReferrer(t *testing.T) {
	page := "https://shop.example/product?x=1"
	for ref, want := range map[string]attribution.Touch{
		"https://www.google.com/":             {Source: "google", Medium: "organic"},
		"https://www.google.co.uk/search?q=x": {Source: "google", Medium: "organic"},
		"https://search.yahoo.com/":           {Source: "yahoo", Medium: "organic"},
		"https://duckduckgo.com/":             {Source: "duckduckgo", Medium: "organic"},
		"https://l.facebook.com/l.php?u=x":    {Source: "l.facebook.com", Medium: "referral"},
		"https://www.tiktok.com/@shop":        {Source: "tiktok.com", Medium: "referral"},
		"https://google.partner.example/":     {Source: "google.partner.example", Medium: "referral"},
		"https://blog.example.org/post":       {Source: "blog.example.org", Medium: "referral"},
		"https://shop.example/cart":           {},
		"https://www.shop.example/":           {},
		"":                                    {},
		"not a url":                           {},
	} {
		require.Equal(t, want, attribution.FromReferrer(ref, page), ref)
	}
}

// TestCategoriesAgreeWithGA4: Google's published list (a copy in
// ../shared/realdata, never committed) loads, classifies every source into
// its category's organic group, and the built-in list agrees with it.
func TestCategoriesAgreeWithGA4(t *testing.T) {
	path := filepath.Join("..", "..", "..", "shared", "realdata", "ga4", "velir_ga4_source_categories.csv")
	f, err := os.Open(path)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the real GA4 source categories are missing in CI: %v", err)
		}
		t.Skipf("no ../shared/realdata here: %v", err)
	}
	defer f.Close()
	full, err := attribution.ReadCategories(f)
	require.NoError(t, err)
	organic := map[attribution.SourceCategory]string{
		attribution.CategorySearch: attribution.GroupOrganicSearch, attribution.CategorySocial: attribution.GroupOrganicSocial,
		attribution.CategoryVideo: attribution.GroupOrganicVideo, attribution.CategoryShopping: attribution.GroupOrganicShopping,
	}
	n := 0
	for source, cat := range full {
		if _, builtin := attribution.DefaultCategories()[source]; builtin {
			continue
		}
		require.Equal(t, organic[cat], full.ChannelGroup(source, "referral", ""), source)
		n++
	}
	require.Greater(t, n, 700)
	agree := 0
	for source, cat := range attribution.DefaultCategories() {
		if got, ok := full[source]; ok && !strings.Contains(source, " ") {
			require.Equal(t, got, cat, "built-in %s", source)
			agree++
		}
	}
	t.Logf("%d sources of Google's list classified; %d built-in sources agree with it", n, agree)
}

package tiktok

import (
	"fmt"
	"maps"
	"slices"
)

// Metric names of the BASIC report that the client decodes into typed fields.
const (
	MetricSpend                    = "spend"
	MetricCashSpend                = "cash_spend"
	MetricVoucherSpend             = "voucher_spend"
	MetricImpressions              = "impressions"
	MetricClicks                   = "clicks"
	MetricReach                    = "reach"
	MetricFrequency                = "frequency"
	MetricCTR                      = "ctr"
	MetricCPC                      = "cpc"
	MetricCPM                      = "cpm"
	MetricConversion               = "conversion"
	MetricRealTimeConversion       = "real_time_conversion"
	MetricAppInstall               = "app_install"
	MetricRealTimeAppInstall       = "real_time_app_install"
	MetricCompletePayment          = "complete_payment"
	MetricTotalCompletePaymentRate = "total_complete_payment_rate"
	MetricTotalPurchaseValue       = "total_purchase_value"
	MetricVideoPlayActions         = "video_play_actions"
	MetricVideoWatched2s           = "video_watched_2s"
	MetricVideoWatched6s           = "video_watched_6s"
	MetricVideoViewsP25            = "video_views_p25"
	MetricVideoViewsP50            = "video_views_p50"
	MetricVideoViewsP75            = "video_views_p75"
	MetricVideoViewsP100           = "video_views_p100"
	MetricLikes                    = "likes"
	MetricComments                 = "comments"
	MetricShares                   = "shares"
	MetricFollows                  = "follows"
	MetricProfileVisits            = "profile_visits"
)

// MetricKind says how a metric is decoded and whether it may be aggregated.
type MetricKind int

// Metric kinds.
const (
	// KindCount is a non-negative integer that can be summed across rows
	// (impressions, clicks, installs).
	KindCount MetricKind = iota + 1
	// KindMoney is an exact decimal amount in the advertiser's currency that can
	// be summed within one currency (spend, purchase value).
	KindMoney
	// KindRatio is a value TikTok computed and rounded itself (ctr, cpc, cpm,
	// frequency). It is stored as reported and never summed or averaged;
	// recompute ratios from the additive bases instead.
	KindRatio
	// KindNonAdditiveCount is an integer estimate that must not be summed
	// across rows (reach).
	KindNonAdditiveCount
)

// String returns the kind's name.
func (k MetricKind) String() string {
	switch k {
	case KindCount:
		return "count"
	case KindMoney:
		return "money"
	case KindRatio:
		return "ratio"
	case KindNonAdditiveCount:
		return "non-additive count"
	}
	return fmt.Sprintf("MetricKind(%d)", int(k))
}

// IsDecimal reports whether metrics of this kind decode into a NullDecimal.
func (k MetricKind) IsDecimal() bool { return k == KindMoney || k == KindRatio }

// Metrics holds one report row's metric values. Known metrics have typed
// fields; a metric that was not requested or came back as "-" is not Valid.
// Metrics the client does not know (custom lists, attribute "metrics" such as
// campaign_name) are kept verbatim in Extra rather than dropped.
type Metrics struct {
	Spend        NullDecimal // spend, in the advertiser's currency
	CashSpend    NullDecimal // cash_spend (advertiser level)
	VoucherSpend NullDecimal // voucher_spend (advertiser level)

	Impressions NullUint64
	Clicks      NullUint64
	// Reach is TikTok's estimate of unique users; it is not additive across
	// hours, days or entities.
	Reach NullUint64
	// Frequency, CTR (a percentage), CPC and CPM are TikTok's pre-rounded
	// ratios, kept as reported and never aggregated.
	Frequency NullDecimal
	CTR       NullDecimal
	CPC       NullDecimal
	CPM       NullDecimal

	// Conversion, AppInstall and CompletePayment are attributed to the day of
	// the ad interaction, so they keep growing for past days; the real-time
	// variants are counted on the day of the event.
	Conversion         NullUint64
	RealTimeConversion NullUint64
	AppInstall         NullUint64
	RealTimeAppInstall NullUint64
	CompletePayment    NullUint64
	// TotalCompletePaymentRate is the total purchase VALUE of "Complete
	// Payment" events (money), despite its name.
	TotalCompletePaymentRate NullDecimal
	// TotalPurchaseValue is the in-app purchase value (money).
	TotalPurchaseValue NullDecimal

	VideoPlayActions NullUint64
	VideoWatched2s   NullUint64
	VideoWatched6s   NullUint64
	VideoViewsP25    NullUint64
	VideoViewsP50    NullUint64
	VideoViewsP75    NullUint64
	VideoViewsP100   NullUint64
	Likes            NullUint64
	Comments         NullUint64
	Shares           NullUint64
	Follows          NullUint64
	ProfileVisits    NullUint64

	// Extra holds metrics without a typed field, by name, as the text TikTok
	// sent (the string's content, or the literal of a bare number); JSON null
	// is kept as "-", TikTok's own "no data" marker.
	Extra map[string]string
}

type metricDef struct {
	kind MetricKind
	dec  func(*Metrics) *NullDecimal
	cnt  func(*Metrics) *NullUint64
}

// knownMetrics maps a metric name to its typed field.
var knownMetrics = map[string]metricDef{
	MetricSpend:                    {KindMoney, func(m *Metrics) *NullDecimal { return &m.Spend }, nil},
	MetricCashSpend:                {KindMoney, func(m *Metrics) *NullDecimal { return &m.CashSpend }, nil},
	MetricVoucherSpend:             {KindMoney, func(m *Metrics) *NullDecimal { return &m.VoucherSpend }, nil},
	MetricImpressions:              {KindCount, nil, func(m *Metrics) *NullUint64 { return &m.Impressions }},
	MetricClicks:                   {KindCount, nil, func(m *Metrics) *NullUint64 { return &m.Clicks }},
	MetricReach:                    {KindNonAdditiveCount, nil, func(m *Metrics) *NullUint64 { return &m.Reach }},
	MetricFrequency:                {KindRatio, func(m *Metrics) *NullDecimal { return &m.Frequency }, nil},
	MetricCTR:                      {KindRatio, func(m *Metrics) *NullDecimal { return &m.CTR }, nil},
	MetricCPC:                      {KindRatio, func(m *Metrics) *NullDecimal { return &m.CPC }, nil},
	MetricCPM:                      {KindRatio, func(m *Metrics) *NullDecimal { return &m.CPM }, nil},
	MetricConversion:               {KindCount, nil, func(m *Metrics) *NullUint64 { return &m.Conversion }},
	MetricRealTimeConversion:       {KindCount, nil, func(m *Metrics) *NullUint64 { return &m.RealTimeConversion }},
	MetricAppInstall:               {KindCount, nil, func(m *Metrics) *NullUint64 { return &m.AppInstall }},
	MetricRealTimeAppInstall:       {KindCount, nil, func(m *Metrics) *NullUint64 { return &m.RealTimeAppInstall }},
	MetricCompletePayment:          {KindCount, nil, func(m *Metrics) *NullUint64 { return &m.CompletePayment }},
	MetricTotalCompletePaymentRate: {KindMoney, func(m *Metrics) *NullDecimal { return &m.TotalCompletePaymentRate }, nil},
	MetricTotalPurchaseValue:       {KindMoney, func(m *Metrics) *NullDecimal { return &m.TotalPurchaseValue }, nil},
	MetricVideoPlayActions:         {KindCount, nil, func(m *Metrics) *NullUint64 { return &m.VideoPlayActions }},
	MetricVideoWatched2s:           {KindCount, nil, func(m *Metrics) *NullUint64 { return &m.VideoWatched2s }},
	MetricVideoWatched6s:           {KindCount, nil, func(m *Metrics) *NullUint64 { return &m.VideoWatched6s }},
	MetricVideoViewsP25:            {KindCount, nil, func(m *Metrics) *NullUint64 { return &m.VideoViewsP25 }},
	MetricVideoViewsP50:            {KindCount, nil, func(m *Metrics) *NullUint64 { return &m.VideoViewsP50 }},
	MetricVideoViewsP75:            {KindCount, nil, func(m *Metrics) *NullUint64 { return &m.VideoViewsP75 }},
	MetricVideoViewsP100:           {KindCount, nil, func(m *Metrics) *NullUint64 { return &m.VideoViewsP100 }},
	MetricLikes:                    {KindCount, nil, func(m *Metrics) *NullUint64 { return &m.Likes }},
	MetricComments:                 {KindCount, nil, func(m *Metrics) *NullUint64 { return &m.Comments }},
	MetricShares:                   {KindCount, nil, func(m *Metrics) *NullUint64 { return &m.Shares }},
	MetricFollows:                  {KindCount, nil, func(m *Metrics) *NullUint64 { return &m.Follows }},
	MetricProfileVisits:            {KindCount, nil, func(m *Metrics) *NullUint64 { return &m.ProfileVisits }},
}

// DefaultMetrics is the metric list requested when a ReportQuery names none:
// the additive bases the metrics package needs (spend, impressions, clicks,
// installs, conversions, purchase values), the video and engagement basics,
// reach, and TikTok's own rounded ratios for comparison with Ads Manager.
// cash_spend and voucher_spend are left out because TikTok accepts them only
// at advertiser level.
var DefaultMetrics = []string{
	MetricSpend,
	MetricImpressions,
	MetricClicks,
	MetricReach,
	MetricFrequency,
	MetricCTR,
	MetricCPC,
	MetricCPM,
	MetricConversion,
	MetricRealTimeConversion,
	MetricAppInstall,
	MetricRealTimeAppInstall,
	MetricCompletePayment,
	MetricTotalCompletePaymentRate,
	MetricTotalPurchaseValue,
	MetricVideoPlayActions,
	MetricVideoWatched2s,
	MetricVideoWatched6s,
	MetricVideoViewsP25,
	MetricVideoViewsP50,
	MetricVideoViewsP75,
	MetricVideoViewsP100,
	MetricLikes,
	MetricComments,
	MetricShares,
	MetricFollows,
	MetricProfileVisits,
}

// KnownMetrics returns the names of the metrics with a typed field in Metrics,
// sorted.
func KnownMetrics() []string {
	return slices.Sorted(maps.Keys(knownMetrics))
}

// KindOf returns the kind of a known metric; ok is false for metrics that are
// decoded into Metrics.Extra.
func KindOf(name string) (kind MetricKind, ok bool) {
	d, ok := knownMetrics[name]
	return d.kind, ok
}

// CountField returns the accessor of a known count metric's typed field, or
// nil for other names: code that maps metrics to columns resolves it once,
// not per row.
func CountField(name string) func(*Metrics) *NullUint64 { return knownMetrics[name].cnt }

// DecimalField returns the accessor of a known decimal (money or ratio)
// metric's typed field, or nil for other names.
func DecimalField(name string) func(*Metrics) *NullDecimal { return knownMetrics[name].dec }

// Decimal returns the value of a known decimal metric by name; ok is false
// for unknown names and count metrics.
func (m *Metrics) Decimal(name string) (v NullDecimal, ok bool) {
	d, ok := knownMetrics[name]
	if !ok || d.dec == nil {
		return NullDecimal{}, false
	}
	return *d.dec(m), true
}

// Count returns the value of a known count metric by name; ok is false for
// unknown names and decimal metrics.
func (m *Metrics) Count(name string) (v NullUint64, ok bool) {
	d, ok := knownMetrics[name]
	if !ok || d.cnt == nil {
		return NullUint64{}, false
	}
	return *d.cnt(m), true
}

// SetDecimal sets a known decimal metric by name; it reports false for other
// names. The simulator uses it to build expected rows.
func (m *Metrics) SetDecimal(name string, v NullDecimal) bool {
	d, ok := knownMetrics[name]
	if !ok || d.dec == nil {
		return false
	}
	*d.dec(m) = v
	return true
}

// SetCount sets a known count metric by name; it reports false for other names.
func (m *Metrics) SetCount(name string, v NullUint64) bool {
	d, ok := knownMetrics[name]
	if !ok || d.cnt == nil {
		return false
	}
	*d.cnt(m) = v
	return true
}

// Text returns the metric as TikTok would send it: the decimal or count text
// for known metrics ("-" when missing) or the Extra text. ok is false when the
// metric is neither known nor present in Extra.
func (m *Metrics) Text(name string) (s string, ok bool) {
	if d, known := knownMetrics[name]; known {
		if d.dec != nil {
			return d.dec(m).String(), true
		}
		return d.cnt(m).String(), true
	}
	s, ok = m.Extra[name]
	return s, ok
}

// Equal reports whether two metric sets hold the same values: decimals compare
// numerically ("0.30" equals "0.3"), missing equals missing, and Extra must
// match exactly.
func (m *Metrics) Equal(o *Metrics) bool {
	for _, d := range knownMetrics {
		if d.dec != nil {
			if !d.dec(m).Equal(*d.dec(o)) {
				return false
			}
		} else if *d.cnt(m) != *d.cnt(o) {
			return false
		}
	}
	return maps.Equal(m.Extra, o.Extra)
}

// set decodes one metric value into m.
func (m *Metrics) set(name string, raw []byte) error {
	d, known := knownMetrics[name]
	if !known {
		text, ok, err := scalarText(raw)
		if err != nil {
			return err
		}
		if !ok {
			text = "-"
		}
		if m.Extra == nil {
			m.Extra = make(map[string]string)
		}
		m.Extra[name] = text
		return nil
	}
	return d.set(m, raw)
}

// set decodes raw into the metric's typed field of m.
func (d *metricDef) set(m *Metrics, raw []byte) error {
	if d.dec != nil {
		return d.dec(m).UnmarshalJSON(raw)
	}
	return d.cnt(m).UnmarshalJSON(raw)
}

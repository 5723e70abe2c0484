package metrics

import (
	"fmt"
	"strconv"
)

// InstallSource names which install count feeds an install metric. There is
// no default: every install metric takes one, so the choice shows in the
// caller's code and in the metric's column name.
type InstallSource uint8

// The install sources a Row can carry.
const (
	// AppInstall is TikTok's attributed app_install (install credited to
	// the day of the click or view, changes during the attribution window).
	AppInstall InstallSource = iota
	// RealTimeAppInstall is TikTok's real_time_app_install (credited to the
	// day the install happened).
	RealTimeAppInstall
	// SKANInstall is Apple SKAdNetwork installs, TikTok's skan_app_install.
	SKANInstall
	// MMPInstall is installs reported by the advertiser's mobile measurement
	// partner (AppsFlyer, Adjust, …) for TikTok traffic.
	MMPInstall

	// NumInstallSources is the number of install sources; Row.Installs is
	// indexed by InstallSource.
	NumInstallSources = iota
)

var installNames = [NumInstallSources]string{"app_install", "real_time_app_install", "skan_app_install", "mmp_install"}

// String returns the source's snake_case name as used in column names.
func (s InstallSource) String() string {
	if int(s) < len(installNames) {
		return installNames[s]
	}
	return "invalid_install_source"
}

// Field returns the base Field that holds this source's installs.
func (s InstallSource) Field() Field { return FieldAppInstall + Field(s) }

// RevenueSource names which revenue feeds a revenue metric (ROAS and margin
// ROAS). As with InstallSource, there is no default.
type RevenueSource uint8

// The revenue sources a Row can carry.
const (
	// TikTokRevenue is conversion value as reported by TikTok (for example
	// total_purchase_value or complete_payment value).
	TikTokRevenue RevenueSource = iota
	// GA4Revenue is revenue from the GA4 export attributed to TikTok.
	GA4Revenue
	// ShopRevenue is revenue from ecommerce order exports.
	ShopRevenue
	// CRMRevenue is revenue confirmed in the CRM (closed deals).
	CRMRevenue

	// NumRevenueSources is the number of revenue sources; Row.Revenue is
	// indexed by RevenueSource.
	NumRevenueSources = iota
)

var revenueNames = [NumRevenueSources]string{"tiktok", "ga4", "shop", "crm"}

// String returns the source's snake_case name as used in column names.
func (s RevenueSource) String() string {
	if int(s) < len(revenueNames) {
		return revenueNames[s]
	}
	return "invalid_revenue_source"
}

// Field returns the base Field that holds this source's revenue.
func (s RevenueSource) Field() Field { return FieldTikTokRevenue + Field(s) }

// Field identifies one additive base column of a Row. Fields are what
// metrics are built from and what may be NULL.
type Field uint8

// The additive bases. Reach and frequency are deliberately absent: they are
// not additive, so no aggregate could be correct for them.
const (
	// FieldSpend is ad spend (TikTok spend), money.
	FieldSpend Field = iota
	// FieldImpressions is impressions, a count.
	FieldImpressions
	// FieldClicks is clicks, a count.
	FieldClicks
	// FieldConversions is conversions (TikTok conversion), a count.
	FieldConversions
	// FieldAppInstall is installs of source AppInstall.
	FieldAppInstall
	// FieldRealTimeAppInstall is installs of source RealTimeAppInstall.
	FieldRealTimeAppInstall
	// FieldSKANInstall is installs of source SKANInstall.
	FieldSKANInstall
	// FieldMMPInstall is installs of source MMPInstall.
	FieldMMPInstall
	// FieldTikTokRevenue is revenue of source TikTokRevenue, money.
	FieldTikTokRevenue
	// FieldGA4Revenue is revenue of source GA4Revenue, money.
	FieldGA4Revenue
	// FieldShopRevenue is revenue of source ShopRevenue, money.
	FieldShopRevenue
	// FieldCRMRevenue is revenue of source CRMRevenue, money.
	FieldCRMRevenue
	// FieldCostOfGoods is cost of goods sold for the attributed orders,
	// money.
	FieldCostOfGoods
	// FieldRefunds is refunded revenue, money, entered as a positive amount
	// and subtracted by margin ROAS.
	FieldRefunds
	// FieldFees is payment, marketplace or agency fees, money, subtracted by
	// margin ROAS.
	FieldFees
	// FieldVideoPlays is video plays (TikTok video_play_actions), a count.
	FieldVideoPlays
	// FieldVideoCompletions is video views that reached the end (TikTok
	// video_views_p100), a count.
	FieldVideoCompletions

	// NumFields is the number of base fields.
	NumFields = iota
)

// AllFields is the set of every base field.
const AllFields FieldSet = 1<<NumFields - 1

var fieldNames = [NumFields]string{
	"spend", "impressions", "clicks", "conversions",
	"app_install", "real_time_app_install", "skan_app_install", "mmp_install",
	"revenue_tiktok", "revenue_ga4", "revenue_shop", "revenue_crm",
	"cost_of_goods", "refunds", "fees", "video_plays", "video_completions",
}

// Name returns the field's snake_case base-column name, the name the SQL
// mirror sums, e.g. "spend" or "revenue_ga4".
func (f Field) Name() string {
	if f < NumFields {
		return fieldNames[f]
	}
	return "invalid_field"
}

// String returns Name.
func (f Field) String() string { return f.Name() }

// IsMoney reports whether the field is an amount in the row's currency
// (otherwise it is a count).
func (f Field) IsMoney() bool {
	return f == FieldSpend || (f >= FieldTikTokRevenue && f <= FieldFees)
}

// Scale is the number of decimals the field's exact sum has: AmountScale for
// money, 0 for counts. It is also the output scale of the field's total.
func (f Field) Scale() int32 {
	if f.IsMoney() {
		return AmountScale
	}
	return 0
}

// FieldSet is a set of Fields, one bit per field.
type FieldSet uint32

// Fields returns the set holding fs.
func Fields(fs ...Field) FieldSet {
	var s FieldSet
	for _, f := range fs {
		s |= 1 << f
	}
	return s & AllFields
}

// Has reports whether f is in the set.
func (s FieldSet) Has(f Field) bool { return f < NumFields && s&(1<<f) != 0 }

// Row is one record of additive bases in a single currency — typically one
// TikTok report row (entity × day or hour) joined with its GA4, shop and CRM
// numbers already converted to that currency.
//
// The zero value of every field is a known 0. A value that is missing (TikTok
// "-", a source not imported for that period) is marked with SetNull or Set;
// Add then ignores its value. Row is a plain value type so that callers can
// reuse one Row per input line without allocating.
type Row struct {
	// Currency of every Amount in the row. It may be zero only when the
	// row carries no non-zero money.
	Currency Currency

	Spend       Amount
	Impressions uint64
	Clicks      uint64
	Conversions uint64
	// Installs is indexed by InstallSource, e.g. Installs[SKANInstall].
	Installs [NumInstallSources]uint64
	// Revenue is indexed by RevenueSource, e.g. Revenue[GA4Revenue].
	Revenue     [NumRevenueSources]Amount
	CostOfGoods Amount
	Refunds     Amount
	Fees        Amount
	// VideoPlays and VideoCompletions are the bases of the video completion
	// rate.
	VideoPlays       uint64
	VideoCompletions uint64

	// Null is the set of fields whose value is unknown (SQL NULL). The
	// zero set means every field is known.
	Null FieldSet
}

// SetNull marks f as unknown (NULL) in the row.
func (r *Row) SetNull(f Field) { r.Null |= Fields(f) }

// IsNull reports whether f is marked unknown in the row.
func (r *Row) IsNull(f Field) bool { return r.Null.Has(f) }

// Missing is TikTok's text for a metric it has no value for; Row.Set maps it
// to NULL.
const Missing = "-"

// Set stores the TikTok-style text s in field f: Missing ("-") marks the
// field NULL, money is parsed with ParseAmount, counts as unsigned decimal
// integers. It does not allocate unless it fails; on failure the row is
// unchanged.
func (r *Row) Set(f Field, s string) error {
	if f >= NumFields {
		return fmt.Errorf("metrics: set field %d: no such field", f)
	}
	if s == Missing {
		r.SetNull(f)
		return nil
	}
	if f.IsMoney() {
		m, err := parseMicros(s)
		if err != nil {
			return fmt.Errorf("metrics: set %s to %q: %w", f, s, err)
		}
		r.setMoney(f, Amount{micros: m})
	} else {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return fmt.Errorf("metrics: set %s to %q: %w", f, s, ErrRange)
			}
			return fmt.Errorf("metrics: set %s to %q: %w", f, s, ErrSyntax)
		}
		r.setCount(f, n)
	}
	r.Null &^= Fields(f)
	return nil
}

func (r *Row) setMoney(f Field, a Amount) {
	switch {
	case f == FieldSpend:
		r.Spend = a
	case f >= FieldTikTokRevenue && f <= FieldCRMRevenue:
		r.Revenue[f-FieldTikTokRevenue] = a
	case f == FieldCostOfGoods:
		r.CostOfGoods = a
	case f == FieldRefunds:
		r.Refunds = a
	case f == FieldFees:
		r.Fees = a
	}
}

func (r *Row) setCount(f Field, n uint64) {
	switch {
	case f == FieldImpressions:
		r.Impressions = n
	case f == FieldClicks:
		r.Clicks = n
	case f == FieldConversions:
		r.Conversions = n
	case f == FieldVideoPlays:
		r.VideoPlays = n
	case f == FieldVideoCompletions:
		r.VideoCompletions = n
	case f >= FieldAppInstall && f <= FieldMMPInstall:
		r.Installs[f-FieldAppInstall] = n
	}
}

// Reset clears the row to all-known zeros so that one Row can be reused.
func (r *Row) Reset() { *r = Row{} }

// hasKnownMoney reports whether a non-NULL money field is non-zero.
func (r *Row) hasKnownMoney() bool {
	known := func(f Field, a Amount) bool { return a.micros != 0 && !r.Null.Has(f) }
	if known(FieldSpend, r.Spend) || known(FieldCostOfGoods, r.CostOfGoods) ||
		known(FieldRefunds, r.Refunds) || known(FieldFees, r.Fees) {
		return true
	}
	for i, a := range r.Revenue {
		if known(RevenueSource(i).Field(), a) {
			return true
		}
	}
	return false
}

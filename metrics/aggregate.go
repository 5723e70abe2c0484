package metrics

import (
	"fmt"
	"math/big"
	"math/bits"
)

// Aggregate is the exact running total of the additive bases of any number of
// Rows of one currency. Metrics read from it are ratios of these sums, so the
// result for a group never depends on how its rows were split or ordered.
//
// The zero Aggregate is empty and ready to use. Add and Merge do not
// allocate. An Aggregate holds no pointers, so copying it copies its state;
// it is not safe for concurrent use — give each goroutine its own and Merge
// them.
//
// NULL semantics follow SQL sum(): a base is unknown only while no row has
// given it a value; rows whose field is NULL contribute nothing to that base.
// HasNull tells whether any row's value was missing.
type Aggregate struct {
	currency Currency
	seen     FieldSet // fields with at least one known value
	nulls    FieldSet // fields with at least one NULL value
	rows     uint64
	lo       [NumFields]uint64 // see int128.go for the representation
	hi       [NumFields]int64
}

// CurrencyError is the error for money of two currencies meeting in one
// aggregate. It matches ErrCurrencyMismatch with errors.Is.
type CurrencyError struct {
	Have, Got Currency
}

// Error describes the two currencies.
func (e *CurrencyError) Error() string {
	return fmt.Sprintf("metrics: currency mismatch: aggregate is %s, got %s (convert with an explicit FX table first)", e.Have, e.Got)
}

// Is makes errors.Is(err, ErrCurrencyMismatch) true.
func (e *CurrencyError) Is(target error) bool { return target == ErrCurrencyMismatch }

// Add adds one row. It fails, leaving the aggregate unchanged, when the row's
// currency differs from the aggregate's or when the row has money but no
// currency. It does not allocate.
func (a *Aggregate) Add(r *Row) error {
	// Until the aggregate has a currency every row is checked, so that
	// money without a currency is caught; after that, one comparison.
	if r.Currency != a.currency || a.currency.IsZero() {
		if err := a.adopt(r); err != nil {
			return err
		}
	}
	if r.Null&AllFields != 0 {
		a.addSparse(r)
		return nil
	}
	a.rows++
	a.seen = AllFields
	// Unrolled with constant indexes: this is the per-row hot path. The
	// low words are added without branches; overflow of any of them is
	// collected in one word and repaired afterwards (almost never).
	var ovf int64
	var carry uint64
	m := func(f Field, x int64) {
		s := int64(a.lo[f])
		t := s + x
		a.lo[f] = uint64(t)
		ovf |= (s ^ t) & (x ^ t)
	}
	c := func(f Field, x uint64) {
		var cc uint64
		a.lo[f], cc = bits.Add64(a.lo[f], x, 0)
		carry |= cc
	}
	m(FieldSpend, r.Spend.micros)
	c(FieldImpressions, r.Impressions)
	c(FieldClicks, r.Clicks)
	c(FieldConversions, r.Conversions)
	c(FieldAppInstall, r.Installs[AppInstall])
	c(FieldRealTimeAppInstall, r.Installs[RealTimeAppInstall])
	c(FieldSKANInstall, r.Installs[SKANInstall])
	c(FieldMMPInstall, r.Installs[MMPInstall])
	m(FieldTikTokRevenue, r.Revenue[TikTokRevenue].micros)
	m(FieldGA4Revenue, r.Revenue[GA4Revenue].micros)
	m(FieldShopRevenue, r.Revenue[ShopRevenue].micros)
	m(FieldCRMRevenue, r.Revenue[CRMRevenue].micros)
	m(FieldCostOfGoods, r.CostOfGoods.micros)
	m(FieldRefunds, r.Refunds.micros)
	m(FieldFees, r.Fees.micros)
	c(FieldVideoPlays, r.VideoPlays)
	c(FieldVideoCompletions, r.VideoCompletions)
	if ovf < 0 || carry != 0 {
		a.repair(r)
	}
	return nil
}

// maxRows bounds the row count so that the high words provably fit int64:
// |hi| ≤ rows for any sum of rows values each below 2^64 in magnitude.
const maxRows = 1<<63 - 1

// The unrolled Add and addSparse name every field; these assertions stop
// the build if a field or source is added without updating them.
var (
	_ = [1]struct{}{}[NumFields-17]
	_ = [1]struct{}{}[NumInstallSources-4]
	_ = [1]struct{}{}[NumRevenueSources-4]
)

func (a *Aggregate) addMoney(f Field, x Amount) { addSigned(&a.lo[f], &a.hi[f], x.micros) }

func (a *Aggregate) addCount(f Field, x uint64) { addUnsigned(&a.lo[f], &a.hi[f], x) }

// repair fixes the high words after Add found that some low word overflowed
// while adding r: a low word wrapped iff its new value is below the added
// value (counts) or has the wrong sign for s+x (money, s recovered as t−x).
func (a *Aggregate) repair(r *Row) {
	m := func(f Field, x int64) {
		t := int64(a.lo[f])
		s := t - x
		if (s^t)&(x^t) < 0 {
			a.hi[f] += 1 | x>>63
		}
	}
	c := func(f Field, x uint64) {
		if a.lo[f] < x {
			a.hi[f]++
		}
	}
	m(FieldSpend, r.Spend.micros)
	c(FieldImpressions, r.Impressions)
	c(FieldClicks, r.Clicks)
	c(FieldConversions, r.Conversions)
	for i, n := range r.Installs {
		c(InstallSource(i).Field(), n)
	}
	for i, x := range r.Revenue {
		m(RevenueSource(i).Field(), x.micros)
	}
	m(FieldCostOfGoods, r.CostOfGoods.micros)
	m(FieldRefunds, r.Refunds.micros)
	m(FieldFees, r.Fees.micros)
	c(FieldVideoPlays, r.VideoPlays)
	c(FieldVideoCompletions, r.VideoCompletions)
}

// adopt handles a row whose currency differs from the aggregate's.
func (a *Aggregate) adopt(r *Row) error {
	switch {
	case r.Currency.IsZero():
		if r.hasKnownMoney() {
			return fmt.Errorf("%w: row has money but no currency", ErrCurrency)
		}
		return nil
	case a.currency.IsZero():
		// A currency-less aggregate has only zero money, so it can take
		// any currency.
		a.currency = r.Currency
		return nil
	default:
		return &CurrencyError{Have: a.currency, Got: r.Currency}
	}
}

// addSparse is the slow path for rows with NULL fields: NULL values are
// skipped whatever the row holds in them.
func (a *Aggregate) addSparse(r *Row) {
	null := r.Null & AllFields
	a.rows++
	a.seen |= AllFields &^ null
	a.nulls |= null
	money := func(f Field, x Amount) {
		if null&(1<<f) == 0 {
			a.addMoney(f, x)
		}
	}
	count := func(f Field, x uint64) {
		if null&(1<<f) == 0 {
			a.addCount(f, x)
		}
	}
	money(FieldSpend, r.Spend)
	count(FieldImpressions, r.Impressions)
	count(FieldClicks, r.Clicks)
	count(FieldConversions, r.Conversions)
	for i, n := range r.Installs {
		count(InstallSource(i).Field(), n)
	}
	for i, x := range r.Revenue {
		money(RevenueSource(i).Field(), x)
	}
	money(FieldCostOfGoods, r.CostOfGoods)
	money(FieldRefunds, r.Refunds)
	money(FieldFees, r.Fees)
	count(FieldVideoPlays, r.VideoPlays)
	count(FieldVideoCompletions, r.VideoCompletions)
}

// Merge adds every row of b to a, as if they had been added to a directly.
// Merging is associative and commutative, so partial aggregates built in any
// split and order give identical results. It fails, leaving a unchanged, on
// a currency mismatch or when the total row count would exceed 2^63-1.
func (a *Aggregate) Merge(b *Aggregate) error {
	cur := a.currency
	switch {
	case b.currency.IsZero() || b.currency == a.currency:
	case a.currency.IsZero():
		cur = b.currency
	default:
		return &CurrencyError{Have: a.currency, Got: b.currency}
	}
	if a.rows+b.rows < a.rows || a.rows+b.rows > maxRows {
		return ErrOverflow
	}
	a.currency = cur
	a.rows += b.rows
	a.seen |= b.seen
	a.nulls |= b.nulls
	for f := range Field(NumFields) {
		a.hi[f] += b.hi[f]
		if f.IsMoney() {
			addSigned(&a.lo[f], &a.hi[f], int64(b.lo[f]))
		} else {
			addUnsigned(&a.lo[f], &a.hi[f], b.lo[f])
		}
	}
	return nil
}

// Rows returns how many rows were added, directly or through Merge.
func (a *Aggregate) Rows() uint64 { return a.rows }

// Currency returns the currency of the aggregate's money, or the zero
// Currency when no row with a currency has been added.
func (a *Aggregate) Currency() Currency { return a.currency }

// HasNull reports whether at least one row had f NULL. Its total then covers
// only the rows where f was known; callers that need all-or-nothing totals
// check this.
func (a *Aggregate) HasNull(f Field) bool { return a.nulls.Has(f) }

// Total returns the exact sum of f at the field's scale (6 for money, with
// the aggregate's currency; 0 for counts). It is undefined when no row gave f
// a value.
func (a *Aggregate) Total(f Field) Value {
	n, ok := a.base(f)
	if !ok {
		return Value{}
	}
	if f.IsMoney() {
		return Value{num: n, den: pow10Big[AmountScale], scale: AmountScale, cur: a.currency}
	}
	return Value{num: n, den: pow10Big[0], scale: 0}
}

// Spend returns total spend.
func (a *Aggregate) Spend() Value { return a.Total(FieldSpend) }

// Impressions returns total impressions.
func (a *Aggregate) Impressions() Value { return a.Total(FieldImpressions) }

// Clicks returns total clicks.
func (a *Aggregate) Clicks() Value { return a.Total(FieldClicks) }

// Conversions returns total conversions.
func (a *Aggregate) Conversions() Value { return a.Total(FieldConversions) }

// Installs returns total installs of the given source.
func (a *Aggregate) Installs(src InstallSource) Value { return a.Total(src.Field()) }

// Revenue returns total revenue of the given source.
func (a *Aggregate) Revenue(src RevenueSource) Value { return a.Total(src.Field()) }

// CostOfGoods returns total cost of goods sold.
func (a *Aggregate) CostOfGoods() Value { return a.Total(FieldCostOfGoods) }

// Refunds returns total refunds.
func (a *Aggregate) Refunds() Value { return a.Total(FieldRefunds) }

// Fees returns total fees (payment, marketplace, agency).
func (a *Aggregate) Fees() Value { return a.Total(FieldFees) }

// base returns the raw integer sum of f in its storage unit (micro-units for
// money), or false when f has no known value.
func (a *Aggregate) base(f Field) (*big.Int, bool) {
	if !a.seen.Has(f) {
		return nil, false
	}
	return bigSum(a.lo[f], a.hi[f], f.IsMoney()), true
}

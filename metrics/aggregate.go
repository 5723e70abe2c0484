package metrics

import (
	"fmt"
	"math/big"
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
	currency    Currency
	seen        FieldSet // fields with at least one known value
	nulls       FieldSet // fields with at least one NULL value
	rows        uint64
	spend       i128
	impressions u128
	clicks      u128
	conversions u128
	installs    [NumInstallSources]u128
	revenue     [NumRevenueSources]i128
	costOfGoods i128
	refunds     i128
	fees        i128
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
	a.spend.addInt64(r.Spend.micros)
	a.impressions.addUint64(r.Impressions)
	a.clicks.addUint64(r.Clicks)
	a.conversions.addUint64(r.Conversions)
	for i := range a.installs {
		a.installs[i].addUint64(r.Installs[i])
	}
	for i := range a.revenue {
		a.revenue[i].addInt64(r.Revenue[i].micros)
	}
	a.costOfGoods.addInt64(r.CostOfGoods.micros)
	a.refunds.addInt64(r.Refunds.micros)
	a.fees.addInt64(r.Fees.micros)
	return nil
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
	addI := func(f Field, s *i128, x Amount) {
		if null&(1<<f) == 0 {
			s.addInt64(x.micros)
		}
	}
	addU := func(f Field, s *u128, x uint64) {
		if null&(1<<f) == 0 {
			s.addUint64(x)
		}
	}
	addI(FieldSpend, &a.spend, r.Spend)
	addU(FieldImpressions, &a.impressions, r.Impressions)
	addU(FieldClicks, &a.clicks, r.Clicks)
	addU(FieldConversions, &a.conversions, r.Conversions)
	for i := range a.installs {
		addU(InstallSource(i).Field(), &a.installs[i], r.Installs[i])
	}
	for i := range a.revenue {
		addI(RevenueSource(i).Field(), &a.revenue[i], r.Revenue[i])
	}
	addI(FieldCostOfGoods, &a.costOfGoods, r.CostOfGoods)
	addI(FieldRefunds, &a.refunds, r.Refunds)
	addI(FieldFees, &a.fees, r.Fees)
}

// Merge adds every row of b to a, as if they had been added to a directly.
// Merging is associative and commutative, so partial aggregates built in any
// split and order give identical results. It fails, leaving a unchanged, on
// a currency mismatch or when the total row count would overflow uint64.
func (a *Aggregate) Merge(b *Aggregate) error {
	cur := a.currency
	switch {
	case b.currency.IsZero() || b.currency == a.currency:
	case a.currency.IsZero():
		cur = b.currency
	default:
		return &CurrencyError{Have: a.currency, Got: b.currency}
	}
	if a.rows+b.rows < a.rows {
		return ErrOverflow
	}
	a.currency = cur
	a.rows += b.rows
	a.seen |= b.seen
	a.nulls |= b.nulls
	a.spend.add(b.spend)
	a.impressions.add(b.impressions)
	a.clicks.add(b.clicks)
	a.conversions.add(b.conversions)
	for i := range a.installs {
		a.installs[i].add(b.installs[i])
	}
	for i := range a.revenue {
		a.revenue[i].add(b.revenue[i])
	}
	a.costOfGoods.add(b.costOfGoods)
	a.refunds.add(b.refunds)
	a.fees.add(b.fees)
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
	switch {
	case f == FieldSpend:
		return a.spend.big(), true
	case f == FieldImpressions:
		return a.impressions.big(), true
	case f == FieldClicks:
		return a.clicks.big(), true
	case f == FieldConversions:
		return a.conversions.big(), true
	case f >= FieldAppInstall && f <= FieldMMPInstall:
		return a.installs[f-FieldAppInstall].big(), true
	case f >= FieldTikTokRevenue && f <= FieldCRMRevenue:
		return a.revenue[f-FieldTikTokRevenue].big(), true
	case f == FieldCostOfGoods:
		return a.costOfGoods.big(), true
	case f == FieldRefunds:
		return a.refunds.big(), true
	case f == FieldFees:
		return a.fees.big(), true
	}
	return nil, false
}

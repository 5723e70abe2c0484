package metrics

import (
	"errors"
	"slices"
	"testing"

	"github.com/shopspring/decimal"
)

var (
	usd = MustCurrency("USD")
	eur = MustCurrency("EUR")
)

func amt(s string) Amount { return MustParseAmount(s) }

// campaign is two days of one app campaign: spend 30.50 USD, 25 000
// impressions, 400 clicks, 50 attributed installs, 40 real-time installs.
func campaign() []Row {
	return []Row{
		{
			Currency: usd, Spend: amt("20.000"), Impressions: 20000, Clicks: 300, Conversions: 12,
			Installs:    [NumInstallSources]uint64{AppInstall: 40, RealTimeAppInstall: 32, SKANInstall: 8, MMPInstall: 35},
			Revenue:     [NumRevenueSources]Amount{TikTokRevenue: amt("50.00"), GA4Revenue: amt("41.10"), ShopRevenue: amt("38.00"), CRMRevenue: amt("0")},
			CostOfGoods: amt("10.00"), Refunds: amt("2.00"), Fees: amt("1.50"),
			VideoPlays: 9000, VideoCompletions: 1200,
		},
		{
			Currency: usd, Spend: amt("10.50"), Impressions: 5000, Clicks: 100, Conversions: 3,
			Installs:    [NumInstallSources]uint64{AppInstall: 10, RealTimeAppInstall: 8, SKANInstall: 0, MMPInstall: 9},
			Revenue:     [NumRevenueSources]Amount{TikTokRevenue: amt("11.00"), GA4Revenue: amt("9.90"), ShopRevenue: amt("12.00"), CRMRevenue: amt("5")},
			CostOfGoods: amt("4.00"), Refunds: amt("0"), Fees: amt("0.50"),
			VideoPlays: 2500, VideoCompletions: 310,
		},
	}
}

func aggregateOf(t testing.TB, rows []Row) Aggregate {
	t.Helper()
	var a Aggregate
	for i := range rows {
		if err := a.Add(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func TestMetrics(t *testing.T) {
	a := aggregateOf(t, campaign())
	margin := decimal.RequireFromString("0.35")
	tests := []struct {
		name  string
		got   Value
		want  string
		money bool
	}{
		{"cpi app_install 30.5/50", a.CPI(AppInstall), "0.610000", true},
		{"cpi real_time 30.5/40", a.CPI(RealTimeAppInstall), "0.762500", true},
		{"cpi skan 30.5/8", a.CPI(SKANInstall), "3.812500", true},
		{"cpi mmp 30.5/44", a.CPI(MMPInstall), "0.693182", true},
		{"ipm 50/25000*1000", a.IPM(AppInstall), "2.000000", false},
		{"ipm skan 8/25000*1000", a.IPM(SKANInstall), "0.320000", false},
		{"cpm 30.5/25000*1000", a.CPM(), "1.220000", true},
		{"cpc 30.5/400", a.CPC(), "0.076250", true},
		{"ctr 400/25000", a.CTR(), "0.01600000", false},
		{"click to install 50/400", a.ClickToInstall(AppInstall), "0.12500000", false},
		{"click to install mmp 44/400", a.ClickToInstall(MMPInstall), "0.11000000", false},
		{"roas tiktok 61/30.5", a.ROAS(TikTokRevenue), "2.000000", false},
		{"roas ga4 51/30.5", a.ROAS(GA4Revenue), "1.672131", false},
		{"roas crm 5/30.5", a.ROAS(CRMRevenue), "0.163934", false},
		{"margin roas shop (50-14-2-2)/30.5", a.MarginROAS(ShopRevenue), "1.049180", false},
		{"margin roas crm (5-18)/30.5 negative", a.MarginROAS(CRMRevenue), "-0.426230", false},
		{"margin fraction roas tiktok 61*0.35/30.5", a.MarginFractionROAS(TikTokRevenue, margin), "0.700000", false},
		{"margin fraction roas ga4 51*0.35/30.5", a.MarginFractionROAS(GA4Revenue, margin), "0.585246", false},
		{"margin fraction 10x", a.MarginFractionROAS(TikTokRevenue, decimal.New(10, 0)), "20.000000", false},
		{"cpa 30.5/15", a.CPA(), "2.033333", true},
		{"conversion rate 15/400", a.ConversionRate(), "0.03750000", false},
		{"spend total", a.Spend(), "30.500000", true},
		{"impressions total", a.Impressions(), "25000", false},
		{"clicks total", a.Clicks(), "400", false},
		{"conversions total", a.Conversions(), "15", false},
		{"installs total", a.Installs(SKANInstall), "8", false},
		{"revenue total", a.Revenue(GA4Revenue), "51.000000", true},
		{"cost of goods", a.CostOfGoods(), "14.000000", true},
		{"refunds", a.Refunds(), "2.000000", true},
		{"fees", a.Fees(), "2.000000", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.got.Defined() {
				t.Fatal("not defined")
			}
			if s := tt.got.String(); s != tt.want {
				t.Errorf("= %s, want %s", s, tt.want)
			}
			wantCur := Currency{}
			if tt.money {
				wantCur = usd
			}
			if tt.got.Currency() != wantCur {
				t.Errorf("currency = %q, want %q", tt.got.Currency(), wantCur)
			}
		})
	}
}

func TestMetricsUndefined(t *testing.T) {
	// One row with no impressions, clicks, conversions or spend: every
	// metric with one of those as denominator is undefined, not 0 or Inf.
	var zero Aggregate
	if err := zero.Add(&Row{Currency: usd, Installs: [NumInstallSources]uint64{AppInstall: 3}}); err != nil {
		t.Fatal(err)
	}
	var skanNull Aggregate
	r := Row{Currency: usd, Spend: amt("10"), Impressions: 100, Clicks: 10, Conversions: 1,
		Installs: [NumInstallSources]uint64{AppInstall: 2, SKANInstall: 999}}
	r.SetNull(FieldSKANInstall)
	r.SetNull(FieldCostOfGoods)
	if err := skanNull.Add(&r); err != nil {
		t.Fatal(err)
	}
	var empty Aggregate
	tests := []struct {
		name string
		v    Value
	}{
		{"cpi zero installs", zero.CPI(RealTimeAppInstall)},
		{"ipm zero impressions", zero.IPM(AppInstall)},
		{"cpm zero impressions", zero.CPM()},
		{"cpc zero clicks", zero.CPC()},
		{"ctr zero impressions", zero.CTR()},
		{"click to install zero clicks", zero.ClickToInstall(AppInstall)},
		{"roas zero spend", zero.ROAS(TikTokRevenue)},
		{"margin roas zero spend", zero.MarginROAS(TikTokRevenue)},
		{"margin fraction roas zero spend", zero.MarginFractionROAS(TikTokRevenue, decimal.New(1, 0))},
		{"cpa zero conversions", zero.CPA()},
		{"conversion rate zero clicks", zero.ConversionRate()},
		{"cpi NULL installs", skanNull.CPI(SKANInstall)},
		{"ipm NULL installs", skanNull.IPM(SKANInstall)},
		{"click to install NULL installs", skanNull.ClickToInstall(SKANInstall)},
		{"margin roas NULL cost of goods", skanNull.MarginROAS(TikTokRevenue)},
		{"NULL total", skanNull.Installs(SKANInstall)},
		{"empty cpc", empty.CPC()},
		{"empty spend", empty.Spend()},
		{"invalid source", skanNull.CPI(NumInstallSources)},
		{"invalid revenue source", skanNull.ROAS(RevenueSource(200))},
		{"invalid kind", skanNull.Eval(Metric{})},
		{"invalid kind high", skanNull.Eval(Metric{Kind: 200})},
		{"invalid field total", skanNull.Total(Field(99))},
		{"absurd margin exponent", skanNull.MarginFractionROAS(TikTokRevenue, decimal.New(1, -5000))},
	}
	for _, tt := range tests {
		if tt.v.Defined() {
			t.Errorf("%s: defined as %s, want undefined", tt.name, tt.v)
		}
		if tt.v.String() != "NULL" {
			t.Errorf("%s: String = %q", tt.name, tt.v.String())
		}
	}
	// The known bases of the NULL row still work.
	if got := skanNull.CPI(AppInstall).String(); got != "5.000000" {
		t.Errorf("cpi app_install = %s", got)
	}
	// A zero numerator with a defined denominator is a defined 0.
	if got := zero.CPI(AppInstall).String(); got != "0.000000" {
		t.Errorf("cpi with zero spend = %s", got)
	}
}

func TestNullSemantics(t *testing.T) {
	// SQL sum(): NULLs are skipped; a total is NULL only if all rows are NULL.
	known := Row{Currency: usd, Spend: amt("6"), Installs: [NumInstallSources]uint64{SKANInstall: 3}}
	unknown := Row{Currency: usd, Spend: amt("4"), Installs: [NumInstallSources]uint64{SKANInstall: 77}}
	unknown.SetNull(FieldSKANInstall)
	if !unknown.IsNull(FieldSKANInstall) || unknown.IsNull(FieldSpend) {
		t.Fatal("IsNull wrong")
	}

	var onlyNull Aggregate
	if err := onlyNull.Add(&unknown); err != nil {
		t.Fatal(err)
	}
	if onlyNull.Installs(SKANInstall).Defined() || !onlyNull.HasNull(FieldSKANInstall) {
		t.Fatal("all-NULL installs should be undefined and flagged")
	}

	a := aggregateOf(t, []Row{known, unknown})
	if got := a.Installs(SKANInstall).String(); got != "3" {
		t.Errorf("installs = %s, want 3 (NULL value 77 ignored)", got)
	}
	if got := a.CPI(SKANInstall).String(); got != "3.333333" {
		t.Errorf("cpi = %s, want 10/3", got)
	}
	if !a.HasNull(FieldSKANInstall) || a.HasNull(FieldSpend) {
		t.Error("HasNull wrong")
	}
	if a.Rows() != 2 {
		t.Errorf("Rows = %d", a.Rows())
	}
	// Bits outside AllFields are ignored.
	odd := known
	odd.Null = 1 << 31
	b := aggregateOf(t, []Row{odd})
	if got := b.Installs(SKANInstall).String(); got != "3" {
		t.Errorf("installs with stray Null bit = %s", got)
	}
	odd.Reset()
	if odd != (Row{}) {
		t.Error("Reset did not clear")
	}
}

func TestCurrencyRules(t *testing.T) {
	var a Aggregate
	// A currency-less row without money is fine and sets nothing.
	if err := a.Add(&Row{Impressions: 10}); err != nil {
		t.Fatal(err)
	}
	if !a.Currency().IsZero() {
		t.Fatal("currency set by currency-less row")
	}
	// A currency-less row with money is rejected, unless the money is NULL.
	if err := a.Add(&Row{Spend: amt("1")}); !errors.Is(err, ErrCurrency) {
		t.Fatalf("money without currency: %v", err)
	}
	nullSpend := Row{Spend: amt("1"), Revenue: [NumRevenueSources]Amount{CRMRevenue: amt("2")}}
	nullSpend.SetNull(FieldSpend)
	nullSpend.SetNull(FieldCRMRevenue)
	if err := a.Add(&nullSpend); err != nil {
		t.Fatalf("NULL money without currency: %v", err)
	}
	for _, f := range []Field{FieldSpend, FieldCostOfGoods, FieldRefunds, FieldFees, FieldShopRevenue} {
		var r Row
		switch f {
		case FieldSpend:
			r.Spend = amt("1")
		case FieldCostOfGoods:
			r.CostOfGoods = amt("1")
		case FieldRefunds:
			r.Refunds = amt("1")
		case FieldFees:
			r.Fees = amt("1")
		case FieldShopRevenue:
			r.Revenue[ShopRevenue] = amt("1")
		}
		if err := a.Add(&r); !errors.Is(err, ErrCurrency) {
			t.Errorf("%s without currency: %v", f, err)
		}
	}
	if err := a.Add(&Row{Currency: usd, Spend: amt("2")}); err != nil {
		t.Fatal(err)
	}
	if a.Currency() != usd {
		t.Fatalf("currency = %s", a.Currency())
	}
	before := a
	err := a.Add(&Row{Currency: eur, Spend: amt("3")})
	var ce *CurrencyError
	if !errors.Is(err, ErrCurrencyMismatch) || !errors.As(err, &ce) || ce.Have != usd || ce.Got != eur {
		t.Fatalf("mixing currencies: %v", err)
	}
	if a != before {
		t.Fatal("failed Add changed the aggregate")
	}
	if err.Error() == "" {
		t.Fatal("empty error text")
	}

	// Merge follows the same rules.
	var e Aggregate
	if err := e.Add(&Row{Currency: eur, Spend: amt("3")}); err != nil {
		t.Fatal(err)
	}
	if err := a.Merge(&e); !errors.Is(err, ErrCurrencyMismatch) {
		t.Fatalf("Merge mixing currencies: %v", err)
	}
	if a != before {
		t.Fatal("failed Merge changed the aggregate")
	}
	var none, counts Aggregate
	if err := counts.Add(&Row{Clicks: 5}); err != nil {
		t.Fatal(err)
	}
	if err := none.Merge(&e); err != nil || none.Currency() != eur {
		t.Fatalf("Merge into empty: %v, %s", err, none.Currency())
	}
	if err := none.Merge(&counts); err != nil || none.Currency() != eur {
		t.Fatalf("Merge of currency-less: %v, %s", err, none.Currency())
	}
}

func TestMergeOverflow(t *testing.T) {
	for _, rows := range [][2]uint64{{1<<64 - 1, 1}, {1 << 62, 1 << 62}} {
		a := Aggregate{rows: rows[0]}
		b := Aggregate{rows: rows[1]}
		if err := a.Merge(&b); !errors.Is(err, ErrOverflow) {
			t.Fatalf("Merge of %v rows = %v, want ErrOverflow", rows, err)
		}
	}
	a := Aggregate{rows: 1 << 62}
	b := Aggregate{rows: 1<<62 - 1}
	if err := a.Merge(&b); err != nil {
		t.Fatalf("Merge below the bound: %v", err)
	}
}

func TestAccumulatorsBeyond64Bits(t *testing.T) {
	// Sums beyond int64 micro-units and uint64 counts stay exact.
	big := Row{Currency: usd, Spend: AmountFromMicros(1<<63 - 1), Impressions: 1<<64 - 1, Clicks: 1<<64 - 1}
	neg := Row{Currency: usd, Spend: AmountFromMicros(-1 << 63)}
	a := aggregateOf(t, []Row{big, big, big})
	if got := a.Spend().String(); got != "27670116110564.327421" {
		t.Errorf("spend = %s", got)
	}
	if got := a.Impressions().String(); got != "55340232221128654845" {
		t.Errorf("impressions = %s", got)
	}
	if got := a.CTR().String(); got != "1.00000000" {
		t.Errorf("ctr = %s", got)
	}
	n := aggregateOf(t, []Row{neg, neg, neg, big})
	if got := n.Spend().String(); got != "-18446744073709.551617" {
		t.Errorf("negative spend = %s", got)
	}
	var m Aggregate
	for range 4 {
		if err := m.Merge(&n); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.Spend().String(); got != "-73786976294838.206468" {
		t.Errorf("merged spend = %s", got)
	}
}

func TestNegativeSpendDenominator(t *testing.T) {
	a := aggregateOf(t, []Row{{Currency: usd, Spend: amt("-8"), Revenue: [NumRevenueSources]Amount{TikTokRevenue: amt("1")}}})
	if got := a.ROAS(TikTokRevenue).String(); got != "-0.125000" {
		t.Fatalf("roas = %s", got)
	}
	if got := a.ROAS(TikTokRevenue).WithScale(2).String(); got != "-0.12" {
		t.Fatalf("roas at 2 = %s", got)
	}
}

func TestAddDoesNotAllocate(t *testing.T) {
	rows := campaign()
	withNull := rows[1]
	withNull.SetNull(FieldSKANInstall)
	var a Aggregate
	allocs := testing.AllocsPerRun(1000, func() {
		_ = a.Add(&rows[0])
		_ = a.Add(&withNull)
	})
	if allocs != 0 {
		t.Fatalf("Add allocates %.1f times per call", allocs)
	}
	var b Aggregate
	allocs = testing.AllocsPerRun(1000, func() { _ = b.Merge(&a) })
	if allocs != 0 {
		t.Fatalf("Merge allocates %.1f times per call", allocs)
	}
	g := NewGrouped[int](4)
	allocs = testing.AllocsPerRun(1000, func() {
		_ = g.Add(1, &rows[0])
		_ = g.Add(2, &withNull)
	})
	if allocs != 0 {
		t.Fatalf("Grouped.Add to existing keys allocates %.1f times per call", allocs)
	}
}

func TestDescriptors(t *testing.T) {
	ms := Metrics()
	var names []string
	for _, m := range ms {
		names = append(names, m.Name())
	}
	want := []string{
		"cpi_app_install", "cpi_real_time_app_install", "cpi_skan_app_install", "cpi_mmp_install",
		"ipm_app_install", "ipm_real_time_app_install", "ipm_skan_app_install", "ipm_mmp_install",
		"cpm", "cpc", "ctr",
		"click_to_install_app_install", "click_to_install_real_time_app_install", "click_to_install_skan_app_install", "click_to_install_mmp_install",
		"roas_tiktok", "roas_ga4", "roas_shop", "roas_crm",
		"margin_roas_tiktok", "margin_roas_ga4", "margin_roas_shop", "margin_roas_crm",
		"cpa", "conversion_rate", "video_completion_rate",
	}
	if !slices.Equal(names, want) {
		t.Fatalf("Metrics names =\n%q\nwant\n%q", names, want)
	}

	d, ok := Metric{Kind: KindCPM}.Descriptor()
	if !ok || d.Name != "cpm" || len(d.Numerator) != 1 || d.Numerator[0] != (Term{Field: FieldSpend}) ||
		d.Denominator != FieldImpressions || d.Multiplier != 1000 || d.Scale != 6 || !d.Money || d.MarginFraction {
		t.Fatalf("cpm descriptor = %+v", d)
	}
	d, ok = Metric{Kind: KindMarginROAS, Revenue: GA4Revenue}.Descriptor()
	wantTerms := []Term{{FieldGA4Revenue, false}, {FieldCostOfGoods, true}, {FieldRefunds, true}, {FieldFees, true}}
	if !ok || !slices.Equal(d.Numerator, wantTerms) || d.Denominator != FieldSpend || d.Money {
		t.Fatalf("margin roas descriptor = %+v", d)
	}
	d, ok = Metric{Kind: KindIPM, Installs: SKANInstall}.Descriptor()
	if !ok || d.Numerator[0].Field != FieldSKANInstall || d.Denominator != FieldImpressions || d.Multiplier != 1000 || d.Scale != PerMilleScale {
		t.Fatalf("ipm descriptor = %+v", d)
	}
	m := Metric{Kind: KindMarginFractionROAS, Revenue: ShopRevenue, Margin: decimal.RequireFromString("0.4")}
	d, ok = m.Descriptor()
	if !ok || d.Name != "margin_fraction_roas_shop" || !d.MarginFraction || !d.Margin.Equal(m.Margin) {
		t.Fatalf("margin fraction descriptor = %+v", d)
	}
	if _, ok := (Metric{Kind: 0}).Descriptor(); ok {
		t.Fatal("invalid kind has a descriptor")
	}
	if (Metric{Kind: KindCPI, Installs: 9}).Name() != "" {
		t.Fatal("invalid source has a name")
	}

	scales := map[Kind]int32{
		KindCPI: 6, KindIPM: 6, KindCPM: 6, KindCPC: 6, KindCTR: 8, KindClickToInstall: 8,
		KindROAS: 6, KindMarginROAS: 6, KindMarginFractionROAS: 6, KindCPA: 6, KindConversionRate: 8,
		KindVideoCompletionRate: 8,
	}
	for k, s := range scales {
		if k.Scale() != s {
			t.Errorf("%s scale = %d, want %d", k, k.Scale(), s)
		}
	}
	if Kind(0).Scale() != 0 || Kind(0).String() != "invalid_kind" {
		t.Error("invalid kind")
	}

	// Every descriptor is consistent with the fields it names, and Eval
	// agrees with the named method.
	a := aggregateOf(t, campaign())
	// (1200 + 310) / (9000 + 2500) = 0.131304347…, half-even at 8 decimals.
	if got := a.Eval(Metric{Kind: KindVideoCompletionRate}).String(); got != "0.13130435" {
		t.Errorf("video completion rate = %s, want 0.13130435", got)
	}
	for _, m := range ms {
		d, _ := m.Descriptor()
		money := d.Numerator[0].Field.IsMoney()
		for _, term := range d.Numerator {
			if term.Field.IsMoney() != money {
				t.Errorf("%s mixes money and counts", d.Name)
			}
		}
		if d.Money != (money && !d.Denominator.IsMoney()) {
			t.Errorf("%s Money flag inconsistent", d.Name)
		}
		if d.Scale != m.Kind.Scale() {
			t.Errorf("%s scale", d.Name)
		}
		if !a.Eval(m).Defined() {
			t.Errorf("%s undefined on the sample", d.Name)
		}
	}
}

func TestFieldNames(t *testing.T) {
	seen := map[string]bool{}
	for f := Field(0); f < NumFields; f++ {
		if seen[f.Name()] {
			t.Errorf("duplicate name %s", f)
		}
		seen[f.Name()] = true
		if f.String() != f.Name() {
			t.Errorf("String != Name for %s", f)
		}
	}
	if Field(NumFields).Name() != "invalid_field" || InstallSource(9).String() != "invalid_install_source" || RevenueSource(9).String() != "invalid_revenue_source" {
		t.Error("invalid names")
	}
	if FieldSpend.Scale() != 6 || FieldClicks.Scale() != 0 || !FieldFees.IsMoney() || FieldMMPInstall.IsMoney() {
		t.Error("field kinds")
	}
	if SKANInstall.Field() != FieldSKANInstall || CRMRevenue.Field() != FieldCRMRevenue {
		t.Error("source fields")
	}
	s := Fields(FieldSpend, FieldFees, Field(40))
	if !s.Has(FieldSpend) || !s.Has(FieldFees) || s.Has(FieldClicks) || s.Has(Field(40)) {
		t.Errorf("Fields = %b", s)
	}
}

func TestGrouped(t *testing.T) {
	type key struct {
		Day      string
		Campaign int64
	}
	var g Grouped[key]
	rows := campaign()
	k1, k2 := key{"2024-05-01", 7}, key{"2024-05-02", 7}
	for _, step := range []struct {
		k key
		r *Row
	}{{k1, &rows[0]}, {k2, &rows[1]}, {k1, &rows[1]}} {
		if err := g.Add(step.k, step.r); err != nil {
			t.Fatal(err)
		}
	}
	if g.Len() != 2 || !slices.Equal(g.Keys(), []key{k1, k2}) {
		t.Fatalf("keys = %v", g.Keys())
	}
	a1, ok := g.Get(k1)
	if !ok || a1.Rows() != 2 || a1.CPC().String() != "0.076250" {
		t.Fatalf("k1 = %v rows, cpc %s", a1.Rows(), a1.CPC())
	}
	if _, ok := g.Get(key{}); ok {
		t.Fatal("Get of unknown key")
	}
	var order []key
	for k, a := range g.All() {
		order = append(order, k)
		if !a.CPI(AppInstall).Defined() {
			t.Error("undefined cpi")
		}
		break
	}
	if len(order) != 1 {
		t.Fatal("All did not stop")
	}
	tot, err := g.Total()
	if err != nil || tot.Rows() != 3 {
		t.Fatalf("Total = %d rows, %v", tot.Rows(), err)
	}

	// A failing first row does not create the key.
	if err := g.Add(key{"x", 1}, &Row{Spend: amt("1")}); err == nil || g.Len() != 2 {
		t.Fatalf("bad first row: %v, len %d", err, g.Len())
	}
	// Different currencies in different groups are fine; Total refuses them.
	if err := g.Add(key{"eur", 1}, &Row{Currency: eur, Spend: amt("1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Total(); !errors.Is(err, ErrCurrencyMismatch) {
		t.Fatalf("Total across currencies: %v", err)
	}

	// Merge is all or nothing.
	h := NewGrouped[key](0)
	if err := h.Add(key{"new", 2}, &rows[0]); err != nil {
		t.Fatal(err)
	}
	if err := h.Add(key{"eur", 1}, &Row{Currency: usd, Spend: amt("1")}); err != nil {
		t.Fatal(err)
	}
	lenBefore := g.Len()
	if err := g.Merge(h); !errors.Is(err, ErrCurrencyMismatch) || g.Len() != lenBefore {
		t.Fatalf("conflicting Merge: %v, len %d", err, g.Len())
	}
	ok2 := NewGrouped[key](0)
	if err := ok2.Add(k2, &rows[0]); err != nil {
		t.Fatal(err)
	}
	if err := ok2.Add(key{"new", 2}, &rows[0]); err != nil {
		t.Fatal(err)
	}
	if err := g.Merge(ok2); err != nil {
		t.Fatal(err)
	}
	if a2, _ := g.Get(k2); a2.Rows() != 2 || g.Len() != lenBefore+1 {
		t.Fatalf("after Merge: k2 rows %d, len %d", a2.Rows(), g.Len())
	}
}

func TestRowSet(t *testing.T) {
	var r Row
	r.Currency = usd
	in := map[Field]string{
		FieldSpend: "20.000", FieldImpressions: "4696", FieldClicks: "51", FieldConversions: "3",
		FieldAppInstall: "7", FieldRealTimeAppInstall: "6", FieldSKANInstall: Missing, FieldMMPInstall: "5",
		FieldTikTokRevenue: "12.50", FieldGA4Revenue: "-", FieldShopRevenue: "9", FieldCRMRevenue: "0",
		FieldCostOfGoods: "1.5", FieldRefunds: "0.25", FieldFees: "0.000001",
		FieldVideoPlays: "800", FieldVideoCompletions: "120",
	}
	for f := range Field(NumFields) {
		if err := r.Set(f, in[f]); err != nil {
			t.Fatalf("Set(%s, %q): %v", f, in[f], err)
		}
	}
	want := Row{
		Currency: usd, Spend: amt("20"), Impressions: 4696, Clicks: 51, Conversions: 3,
		Installs:    [NumInstallSources]uint64{7, 6, 0, 5},
		Revenue:     [NumRevenueSources]Amount{amt("12.5"), {}, amt("9"), {}},
		CostOfGoods: amt("1.5"), Refunds: amt("0.25"), Fees: AmountFromMicros(1),
		VideoPlays: 800, VideoCompletions: 120,
		Null: Fields(FieldSKANInstall, FieldGA4Revenue),
	}
	if r != want {
		t.Fatalf("row = %+v\nwant  %+v", r, want)
	}
	// A later known value clears NULL.
	if err := r.Set(FieldSKANInstall, "2"); err != nil || r.IsNull(FieldSKANInstall) || r.Installs[SKANInstall] != 2 {
		t.Fatalf("re-Set: %v, %+v", err, r)
	}
	before := r
	for _, c := range []struct {
		f   Field
		s   string
		err error
	}{
		{FieldSpend, "1.1234567", ErrPrecision},
		{FieldSpend, "x", ErrSyntax},
		{FieldSpend, "", ErrSyntax},
		{FieldClicks, "-3", ErrSyntax},
		{FieldClicks, "1.5", ErrSyntax},
		{FieldClicks, "", ErrSyntax},
		{FieldClicks, "99999999999999999999999", ErrRange},
		{Field(40), "1", nil},
	} {
		err := r.Set(c.f, c.s)
		if err == nil || (c.err != nil && !errors.Is(err, c.err)) {
			t.Errorf("Set(%s, %q) = %v, want %v", c.f, c.s, err, c.err)
		}
	}
	if r != before {
		t.Fatal("failed Set changed the row")
	}
	allocs := testing.AllocsPerRun(100, func() {
		_ = r.Set(FieldSpend, "12.34")
		_ = r.Set(FieldClicks, "1234")
		_ = r.Set(FieldFees, Missing)
	})
	if allocs != 0 {
		t.Fatalf("Set allocates %.1f times", allocs)
	}
}

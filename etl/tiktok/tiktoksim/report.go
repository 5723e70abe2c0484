package tiktoksim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"

	"github.com/shopspring/decimal"

	"github.com/adhouse/adhouse/etl/tiktok"
)

// mval is a metric value: units·10^-scale (a count when scale is 0 and the
// metric is a count), a text attribute, or missing ("-").
type mval struct {
	units uint64
	scale int32
	text  string // attribute metrics (names); units ignored
	isTxt bool
	ok    bool
}

func (v mval) String() string { return string(v.appendTo(nil)) }

// appendTo appends the value as TikTok writes it, without the quotes.
func (v mval) appendTo(dst []byte) []byte {
	switch {
	case !v.ok:
		return append(dst, '-')
	case v.isTxt:
		return append(dst, v.text...)
	}
	return appendUnits(dst, v.units, v.scale)
}

// rowCtx carries what metric functions need about a row.
type rowCtx struct {
	s     *Server
	a     *advertiser
	level tiktok.Level
	row   *simRow
	reach uint64
}

func count(v uint64) mval { return mval{units: v, ok: true} }

func (c *rowCtx) money(v uint64) mval { return mval{units: v, scale: c.a.prof.scale, ok: true} }

// ratio2 returns num·mul/den rounded half up to hundredths, "0.00" when den
// is 0, as TikTok shows ratios of rows without a base.
func ratio2(num, mul, den uint64) mval {
	if den == 0 {
		return mval{scale: 2, ok: true}
	}
	return mval{units: roundDiv(num, mul, den), scale: 2, ok: true}
}

type metricFn struct {
	minLevel int // index in tiktok.Levels of the coarsest level serving it
	maxLevel int // index of the finest level serving it
	fn       func(c *rowCtx) mval
}

func levelIndex(l tiktok.Level) int { return slices.Index(tiktok.Levels, l) }

const (
	lvAdv = iota
	lvCampaign
	lvAdGroup
	lvAd
)

// simMetrics are the metrics the simulator serves. Any other name is
// rejected with 40002, as production does.
var simMetrics = map[string]metricFn{
	tiktok.MetricSpend:        {lvAdv, lvAd, func(c *rowCtx) mval { return c.money(c.row.values.spend) }},
	tiktok.MetricCashSpend:    {lvAdv, lvAdv, func(c *rowCtx) mval { return c.money(c.row.values.spend) }},
	tiktok.MetricVoucherSpend: {lvAdv, lvAdv, func(c *rowCtx) mval { return c.money(0) }},
	tiktok.MetricImpressions:  {lvAdv, lvAd, func(c *rowCtx) mval { return count(c.row.values.imp) }},
	tiktok.MetricClicks:       {lvAdv, lvAd, func(c *rowCtx) mval { return count(c.row.values.clk) }},
	tiktok.MetricReach:        {lvAdv, lvAd, func(c *rowCtx) mval { return count(c.reach) }},
	tiktok.MetricFrequency:    {lvAdv, lvAd, func(c *rowCtx) mval { return ratio2(c.row.values.imp, 100, c.reach) }},
	tiktok.MetricCTR:          {lvAdv, lvAd, func(c *rowCtx) mval { return ratio2(c.row.values.clk, 10000, c.row.values.imp) }},
	tiktok.MetricCPC: {lvAdv, lvAd, func(c *rowCtx) mval {
		return ratio2(c.row.values.spend, 100, pow10(c.a.prof.scale)*c.row.values.clk)
	}},
	tiktok.MetricCPM: {lvAdv, lvAd, func(c *rowCtx) mval {
		return ratio2(c.row.values.spend, 100000, pow10(c.a.prof.scale)*c.row.values.imp)
	}},
	tiktok.MetricConversion:         {lvAdv, lvAd, func(c *rowCtx) mval { return count(c.row.values.conv) }},
	tiktok.MetricRealTimeConversion: {lvAdv, lvAd, func(c *rowCtx) mval { return count(c.row.values.rtConv) }},
	tiktok.MetricAppInstall: {lvAdv, lvAd, func(c *rowCtx) mval {
		return mval{units: c.row.values.install, ok: c.row.values.hasApp}
	}},
	tiktok.MetricRealTimeAppInstall: {lvAdv, lvAd, func(c *rowCtx) mval {
		return mval{units: c.row.values.rtInstall, ok: c.row.values.hasApp}
	}},
	tiktok.MetricTotalPurchaseValue: {lvAdv, lvAd, func(c *rowCtx) mval {
		return mval{units: c.row.values.purchValue, scale: c.a.prof.scale, ok: c.row.values.hasApp}
	}},
	tiktok.MetricCompletePayment: {lvAdv, lvAd, func(c *rowCtx) mval {
		return mval{units: c.row.values.cp, ok: c.row.values.hasWeb}
	}},
	tiktok.MetricTotalCompletePaymentRate: {lvAdv, lvAd, func(c *rowCtx) mval {
		return mval{units: c.row.values.cpValue, scale: c.a.prof.scale, ok: c.row.values.hasWeb}
	}},
	tiktok.MetricVideoPlayActions: {lvAdv, lvAd, func(c *rowCtx) mval { return count(c.row.values.vplay) }},
	tiktok.MetricVideoWatched2s:   {lvAdv, lvAd, func(c *rowCtx) mval { return count(c.row.values.w2s) }},
	tiktok.MetricVideoWatched6s:   {lvAdv, lvAd, func(c *rowCtx) mval { return count(c.row.values.w6s) }},
	tiktok.MetricVideoViewsP25:    {lvAdv, lvAd, func(c *rowCtx) mval { return count(c.row.values.p25) }},
	tiktok.MetricVideoViewsP50:    {lvAdv, lvAd, func(c *rowCtx) mval { return count(c.row.values.p50) }},
	tiktok.MetricVideoViewsP75:    {lvAdv, lvAd, func(c *rowCtx) mval { return count(c.row.values.p75) }},
	tiktok.MetricVideoViewsP100:   {lvAdv, lvAd, func(c *rowCtx) mval { return count(c.row.values.p100) }},
	tiktok.MetricLikes:            {lvAdv, lvAd, func(c *rowCtx) mval { return count(c.row.values.likes) }},
	tiktok.MetricComments:         {lvAdv, lvAd, func(c *rowCtx) mval { return count(c.row.values.comments) }},
	tiktok.MetricShares:           {lvAdv, lvAd, func(c *rowCtx) mval { return count(c.row.values.shares) }},
	tiktok.MetricFollows:          {lvAdv, lvAd, func(c *rowCtx) mval { return count(c.row.values.follows) }},
	tiktok.MetricProfileVisits:    {lvAdv, lvAd, func(c *rowCtx) mval { return count(c.row.values.visits) }},
	// Metrics the client has no typed field for (they land in Extra).
	"cost_per_conversion": {lvAdv, lvAd, func(c *rowCtx) mval {
		return ratio2(c.row.values.spend, 100, pow10(c.a.prof.scale)*c.row.values.conv)
	}},
	"conversion_rate": {lvAdv, lvAd, func(c *rowCtx) mval { return ratio2(c.row.values.conv, 10000, c.row.values.clk) }},
	"average_video_play": {lvAdv, lvAd, func(c *rowCtx) mval {
		return mval{units: 100 + c.s.h(0xa7, hashString(c.row.id), dateIndex(c.row.date), uint64(c.row.hour+1+24*c.row.fold))%300, scale: 2, ok: true}
	}},
	"campaign_name": {lvCampaign, lvAd, func(c *rowCtx) mval {
		r := c.row.ref
		return mval{text: campaignName(r.adv, r.camp, c.s.objective(r.adv, r.camp)), isTxt: true, ok: true}
	}},
	"adgroup_name": {lvAdGroup, lvAd, func(c *rowCtx) mval {
		r := c.row.ref
		return mval{text: adGroupName(r.adv, r.camp, r.group), isTxt: true, ok: true}
	}},
	"ad_name": {lvAd, lvAd, func(c *rowCtx) mval {
		r := c.row.ref
		return mval{text: adName(r.adv, r.camp, r.group, r.ad), isTxt: true, ok: true}
	}},
	"campaign_id": {lvAdGroup, lvAd, func(c *rowCtx) mval {
		return mval{text: campaignID(c.row.ref.adv, c.row.ref.camp), isTxt: true, ok: true}
	}},
	"adgroup_id": {lvAd, lvAd, func(c *rowCtx) mval {
		return mval{text: adGroupID(c.row.ref.adv, c.row.ref.camp, c.row.ref.group), isTxt: true, ok: true}
	}},
}

// SupportedMetrics returns the metric names the simulator serves, sorted.
func SupportedMetrics() []string {
	out := make([]string, 0, len(simMetrics))
	for k := range simMetrics {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// reportParams is a validated report request.
type reportParams struct {
	adv         *advertiser
	level       tiktok.Level
	gran        tiktok.Granularity
	start, end  tiktok.Date
	metrics     []string
	fns         []metricFn
	withDeleted bool
}

// parseReport validates a report request: the synchronous report's query,
// or (async) the fields of a report task, which has no date-range cap,
// accepts only ID filters and includes deleted entities.
func (s *Server) parseReport(q map[string][]string, async bool) (*reportParams, *apiError) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	var p reportParams
	a, aerr := s.advertiserParam(q)
	if aerr != nil {
		return nil, aerr
	}
	p.adv = a
	if rt := get("report_type"); rt != "BASIC" {
		return nil, errParam("report_type: %q is not supported (only BASIC).", rt)
	}
	if st := get("service_type"); st != "" && st != "AUCTION" {
		return nil, errParam("service_type: %q is not supported (only AUCTION).", st)
	}
	p.level = tiktok.Level(get("data_level"))
	if !p.level.Valid() {
		return nil, errParam("data_level: invalid value %q.", get("data_level"))
	}
	var dims []string
	if err := json.Unmarshal([]byte(get("dimensions")), &dims); err != nil || len(dims) != 2 {
		return nil, errParam("dimensions: a JSON array of the ID dimension and one time dimension is required.")
	}
	for _, d := range dims {
		switch {
		case d == p.level.IDDimension():
		case d == string(tiktok.Daily) || d == string(tiktok.Hourly):
			if p.gran != "" {
				return nil, errParam("dimensions: only one time dimension is allowed.")
			}
			p.gran = tiktok.Granularity(d)
		default:
			return nil, errParam("dimensions: %q is invalid for data_level %s.", d, p.level)
		}
	}
	if p.gran == "" {
		return nil, errParam("dimensions: stat_time_day or stat_time_hour is required.")
	}
	if err := json.Unmarshal([]byte(get("metrics")), &p.metrics); err != nil || len(p.metrics) == 0 {
		return nil, errParam("metrics: a JSON array of metric names is required.")
	}
	li := levelIndex(p.level)
	for _, m := range p.metrics {
		fn, ok := simMetrics[m]
		if !ok || li < fn.minLevel || li > fn.maxLevel {
			return nil, errParam("metrics: %q is invalid for data_level %s.", m, p.level)
		}
		p.fns = append(p.fns, fn)
	}
	var err error
	if p.start, err = tiktok.ParseDate(get("start_date")); err != nil {
		return nil, errParam("start_date: required, format YYYY-MM-DD.")
	}
	if p.end, err = tiktok.ParseDate(get("end_date")); err != nil {
		return nil, errParam("end_date: required, format YYYY-MM-DD.")
	}
	if p.end.Before(p.start) {
		return nil, errParam("end_date must not be earlier than start_date.")
	}
	days := p.start.DaysUntil(p.end) + 1
	if days > p.gran.MaxDays() && !async {
		if p.gran == tiktok.Hourly {
			return nil, errParam("The time range of an hourly report (stat_time_hour) cannot exceed 1 day.")
		}
		return nil, errParam("The time range of a daily report (stat_time_day) cannot exceed 30 days.")
	}
	if raw := get("filtering"); raw != "" {
		var filters []struct {
			FieldName   string `json:"field_name"`
			FilterType  string `json:"filter_type"`
			FilterValue string `json:"filter_value"`
		}
		if err := json.Unmarshal([]byte(raw), &filters); err != nil {
			return nil, errParam("filtering: must be a JSON array of {field_name, filter_type, filter_value}.")
		}
		for _, f := range filters {
			if async {
				switch f.FieldName {
				case "campaign_ids", "adgroup_ids", "ad_ids":
					return nil, errParam("filtering: %s is not implemented by the simulator.", f.FieldName)
				}
				return nil, errParam("filtering: field_name %q is not supported in asynchronous reports (only campaign_ids, adgroup_ids and ad_ids).", f.FieldName)
			}
			if f.FieldName != p.level.StatusField() || p.level.StatusField() == "" {
				return nil, errParam("filtering: field_name %q is invalid for data_level %s.", f.FieldName, p.level)
			}
			var vals []string
			if f.FilterType != "IN" || json.Unmarshal([]byte(f.FilterValue), &vals) != nil || len(vals) == 0 {
				return nil, errParam("filtering: %s needs filter_type IN and a JSON-array string filter_value.", f.FieldName)
			}
			for _, v := range vals {
				switch v {
				case "STATUS_ALL":
					p.withDeleted = true
				case "STATUS_NOT_DELETE":
				default:
					return nil, errParam("filtering: unsupported %s value %q.", f.FieldName, v)
				}
			}
		}
	}
	if async {
		p.withDeleted = true
	}
	return &p, nil
}

func (s *Server) handleReport(r *request) ([]byte, *apiError) {
	p, aerr := s.parseReport(r.query, false)
	if aerr != nil {
		return nil, aerr
	}
	page, size, aerr := paging(r.query)
	if aerr != nil {
		return nil, aerr
	}
	if n := s.Faults().QueryTooLargeDays; n > 0 && p.start.DaysUntil(p.end)+1 > n {
		s.faults.tooLarge.Add(1)
		return nil, &apiError{code: tiktok.CodeQueryTooLarge, msg: "Query too large. Please reduce the time range or the number of objects."}
	}
	f := s.Faults()
	for _, d := range f.FailingDays {
		if !d.Before(p.start) && !d.After(p.end) && (len(f.FailingAdvertisers) == 0 || slices.Contains(f.FailingAdvertisers, p.adv.id)) {
			return nil, &apiError{code: tiktok.CodeProcessingError, msg: "Processing error. Please retry later."}
		}
	}
	maxAds := 0
	// The advertiser level has no status filter and covers deleted ads too.
	if m := s.cfg.SyncMaxAds; m > 0 && s.adCount(p.adv, r.now, p.withDeleted || p.level == tiktok.LevelAdvertiser, m) >= m {
		// Production keeps the most recent ads and says so in a header.
		maxAds = m
		r.throttle = fmt.Sprintf("Number of ad ids is equal or more than %s, only return the top %[1]s id's results, sorting by create time desc order.", kilo(m))
	}
	rows := s.window(windowKey{adv: p.adv.idx, level: p.level, gran: p.gran, start: p.start, end: p.end, withDeleted: p.withDeleted, now: r.now.UnixNano(), maxAds: maxAds})
	if n := s.cfg.SyncMaxRows; n > 0 && len(rows) > n {
		s.faults.tooLarge.Add(1)
		return nil, &apiError{code: tiktok.CodeQueryTooLarge, msg: "Query too large. Please reduce the time range or the number of objects."}
	}
	from, to, totalNumber, totalPage := pageBounds(len(rows), page, size, r.drift)
	if r.drift && page > 1 {
		s.faults.drift.Add(1)
	}
	var b bytes.Buffer
	b.Grow((to - from) * (64 + 24*len(p.metrics)))
	b.WriteString(`{"list":[`)
	idDim := p.level.IDDimension()
	for i := from; i < to; i++ {
		if i > from {
			b.WriteByte(',')
		}
		row := &rows[i]
		c := rowCtx{s: s, a: p.adv, level: p.level, row: row, reach: s.reach(row)}
		b.WriteString(`{"dimensions":{"`)
		b.WriteString(idDim)
		b.WriteString(`":"`)
		b.WriteString(row.id)
		b.WriteString(`","`)
		b.WriteString(string(p.gran))
		b.WriteString(`":"`)
		b.WriteString(statTime(row))
		b.WriteString(`"},"metrics":{`)
		for j, name := range p.metrics {
			if j > 0 {
				b.WriteByte(',')
			}
			// Names were validated against simMetrics and values are digits
			// or generated names, so no escaping is needed.
			b.WriteByte('"')
			b.WriteString(name)
			b.WriteString(`":"`)
			b.Write(p.fns[j].fn(&c).appendTo(b.AvailableBuffer()))
			b.WriteByte('"')
		}
		b.WriteString(`}}`)
	}
	b.WriteString(`],`)
	writePageInfo(&b, page, size, totalNumber, totalPage)
	b.WriteString(`}`)
	return b.Bytes(), nil
}

// statTime formats a row's stat_time_day/stat_time_hour.
func statTime(r *simRow) string {
	h := max(r.hour, 0)
	return r.date.String() + " " + string([]byte{byte('0' + h/10), byte('0' + h%10)}) + ":00:00"
}

// Truth returns exactly the rows that /report/integrated/get/ serves at the
// current clock for the advertiser, level and granularity between from and
// to (inclusive local dates, any length), with DefaultMetrics and deleted
// entities included (STATUS_ALL), as the client decodes them: decimals with
// the scale TikTok writes, "-" as NULL, UTC instants from the advertiser's
// timezone. Rows are ordered by date, hour, then entity ID.
func (s *Server) Truth(advertiserID string, level tiktok.Level, g tiktok.Granularity, from, to tiktok.Date) ([]tiktok.ReportRow, error) {
	return s.TruthQuery(tiktok.ReportQuery{AdvertiserID: advertiserID, Level: level, Granularity: g, Start: from, End: to})
}

// TruthQuery is Truth for a full ReportQuery: its Metrics (nil means
// DefaultMetrics) and ExcludeDeleted are honoured, its date range may exceed
// the per-request caps, and Location/PageSize are ignored. No fault is
// injected and no request is counted.
func (s *Server) TruthQuery(q tiktok.ReportQuery) ([]tiktok.ReportRow, error) {
	i := s.parseAdvertiserID(q.AdvertiserID)
	if i < 0 {
		return nil, fmt.Errorf("tiktoksim: unknown advertiser %q", q.AdvertiserID)
	}
	if !q.Level.Valid() || !q.Granularity.Valid() {
		return nil, fmt.Errorf("tiktoksim: invalid level %q or granularity %q", q.Level, q.Granularity)
	}
	if q.End.Before(q.Start) {
		return nil, fmt.Errorf("tiktoksim: end %s before start %s", q.End, q.Start)
	}
	metrics := q.Metrics
	if len(metrics) == 0 {
		metrics = tiktok.DefaultMetrics
	}
	li := levelIndex(q.Level)
	fns := make([]metricFn, len(metrics))
	for j, m := range metrics {
		fn, ok := simMetrics[m]
		if !ok || li < fn.minLevel || li > fn.maxLevel {
			return nil, fmt.Errorf("tiktoksim: metric %q is not served at %s", m, q.Level)
		}
		fns[j] = fn
	}
	a := s.advs[i]
	now := s.Now()
	var out []tiktok.ReportRow
	for _, w := range tiktok.Windows(q.Start, q.End, q.Granularity, 0) {
		rows := s.window(windowKey{adv: i, level: q.Level, gran: q.Granularity, start: w.Start, end: w.End, withDeleted: !q.ExcludeDeleted, now: now.UnixNano()})
		for k := range rows {
			out = append(out, s.truthRow(a, q.Level, q.Granularity, &rows[k], metrics, fns))
		}
	}
	return out, nil
}

func (s *Server) truthRow(a *advertiser, level tiktok.Level, g tiktok.Granularity, row *simRow, metrics []string, fns []metricFn) tiktok.ReportRow {
	out := tiktok.ReportRow{
		AdvertiserID: a.id, Level: level, Granularity: g, EntityID: row.id,
		Date: row.date, Hour: max(row.hour, 0), Fold: row.fold, Timezone: a.loc.String(),
	}
	out.StartUTC = row.date.In(a.loc, out.Hour).UTC()
	if row.fold > 0 {
		out.StartUTC = row.date.HourStarts(a.loc, out.Hour)[row.fold].UTC()
	}
	c := rowCtx{s: s, a: a, level: level, row: row, reach: s.reach(row)}
	for j, name := range metrics {
		v := fns[j].fn(&c)
		kind, known := tiktok.KindOf(name)
		switch {
		case !known:
			if out.Metrics.Extra == nil {
				out.Metrics.Extra = make(map[string]string)
			}
			out.Metrics.Extra[name] = v.String()
		case kind.IsDecimal():
			nd := tiktok.NullDecimal{}
			if v.ok {
				nd = tiktok.NewNullDecimal(decimal.NewFromBigInt(new(big.Int).SetUint64(v.units), -v.scale))
			}
			out.Metrics.SetDecimal(name, nd)
		default:
			nu := tiktok.NullUint64{}
			if v.ok {
				nu = tiktok.NewNullUint64(v.units)
			}
			out.Metrics.SetCount(name, nu)
		}
	}
	return out
}

// TruthTotals sums a column of Truth rows: for tests that check that levels
// add up. It returns the total of a decimal metric and whether any row had it.
func TruthTotals(rows []tiktok.ReportRow, metric string) (decimal.Decimal, bool) {
	total := decimal.Zero
	any := false
	for i := range rows {
		if v, ok := rows[i].Metrics.Decimal(metric); ok && v.Valid {
			total = total.Add(v.Decimal)
			any = true
		} else if n, ok := rows[i].Metrics.Count(metric); ok && n.Valid {
			total = total.Add(decimal.NewFromUint64(n.Uint64))
			any = true
		}
	}
	return total, any
}

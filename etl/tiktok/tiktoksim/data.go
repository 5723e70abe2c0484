package tiktoksim

import (
	"math/bits"
	"sort"
	"strconv"
	"time"

	"github.com/adhouse/adhouse/etl/tiktok"
)

// Values are a pure function of (seed, entity, local date, local hour, clock):
// nothing is stored, any scale can be served, and a rerun with the same seed
// serves the same bytes. Every value is an integer (money in units of
// 10^-scale of the currency), so sums over hours, ads, ad groups and campaigns
// are exact by construction: a daily row is the sum of its hourly rows, an ad
// group the sum of its ads, and so on up to the advertiser.

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// h hashes the seed with vals.
func (s *Server) h(vals ...uint64) uint64 {
	x := s.seed
	for _, v := range vals {
		x = mix(x ^ v)
	}
	return x
}

// rng is a splitmix64 stream.
type rng struct{ x uint64 }

func (r *rng) next() uint64 {
	r.x += 0x9e3779b97f4a7c15
	z := r.x
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// n returns a value in [0, k) (Lemire's multiply-shift: no division).
func (r *rng) n(k uint64) uint64 {
	hi, _ := bits.Mul64(r.next(), k)
	return hi
}

// draws deals out uniform 16-bit draws, four from each word of a stream:
// an ad-hour makes some 35 draws, all below 2^16 but one, and a word apiece
// was a third of the value model's cost.
type draws struct {
	u [36]uint16
	i int
}

func (d *draws) fill(r *rng) {
	for i := 0; i < len(d.u); i += 4 {
		w := r.next()
		d.u[i], d.u[i+1], d.u[i+2], d.u[i+3] = uint16(w), uint16(w>>16), uint16(w>>32), uint16(w>>48)
	}
}

// n returns a value in [0, k), k ≤ 2^16.
func (d *draws) n(k uint64) uint64 {
	v := uint64(d.u[d.i]) * k >> 16
	d.i++
	return v
}

// frac returns n·num/den with stochastic rounding of the remainder, so small
// counts still produce the occasional click or conversion. Callers keep
// n·num far below 2^64 (hourly counts times rates).
func (d *draws) frac(n, num, den uint64) uint64 {
	p := n * num
	var q uint64
	// Constant divisors compile to multiplications; these are the only
	// denominators the value model uses.
	switch den {
	case 100:
		q = p / 100
	case 1000:
		q = p / 1000
	case 10000:
		q = p / 10000
	default:
		q = p / den
	}
	// Rounded up with probability rem/den, without a branch: the outcome
	// is random, and a mispredicted branch per draw cost more than the
	// rest of the value model.
	return q + (d.n(den)-(p-q*den))>>63
}

// diurnal is the share (percent of peak) of delivery by local hour.
var diurnal = [24]uint64{22, 15, 11, 9, 9, 12, 20, 34, 48, 58, 64, 70, 76, 74, 72, 73, 76, 82, 90, 97, 100, 92, 70, 42}

// adParams are the per-ad constants of the value model.
type adParams struct {
	key       uint64
	objective string
	life      lifetime
	base      uint64 // impressions per hour at peak
	ctrBp     uint64 // click-through rate, basis points
	cpmUnits  uint64 // CPM in units of 10^-scale
	cvrBp     uint64 // conversions per click, basis points
	irBp      uint64 // installs per click, basis points
	step      uint64
	aovMin    uint64 // whole currency units
	aovSpan   uint64
	cent      uint64 // units per 1/100 of the currency
}

func pow10(n int32) uint64 {
	p := uint64(1)
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}

func (s *Server) adParams(a *advertiser, r ref) adParams {
	key := s.h(0xad5, uint64(r.adv), uint64(r.camp), uint64(r.group), uint64(r.ad))
	g := rng{key}
	p := a.prof
	unit := pow10(p.scale)
	cpm := uint64(p.cpmMin)*unit + g.n(uint64(p.cpmMax-p.cpmMin+1)*unit)
	cent := uint64(1)
	if p.scale > 2 {
		cent = pow10(p.scale - 2)
	}
	return adParams{
		key:       key,
		objective: s.objective(r.adv, r.camp),
		life:      s.lifetimeOf(kindAd, r),
		base:      20 + g.n(600),
		ctrBp:     40 + g.n(260),
		cpmUnits:  cpm,
		cvrBp:     200 + g.n(1500),
		irBp:      800 + g.n(2500),
		step:      uint64(p.step),
		aovMin:    uint64(p.aovMin) * unit,
		aovSpan:   uint64(p.aovMax-p.aovMin+1) * unit,
		cent:      cent,
	}
}

// cell is one ad's delivery in one local hour. Attributed values (conv,
// install, cp, cpValue, purchaseValue) are final values; what the API serves is
// scaled by the maturity of the hour at the clock (see Server.maturity).
type cell struct {
	imp, clk, spend                          uint64
	vplay, w2s, w6s, p25, p50, p75, p100     uint64
	likes, comments, shares, follows, visits uint64
	rtConv, rtInstall                        uint64
	conv, install, cp, cpValue, purchValue   uint64
}

// cell computes an ad's hour (the fold-th occurrence of the local hour
// label); ok is false when the ad did not deliver.
func (s *Server) cell(p *adParams, day uint64, hour, fold int) (c cell, ok bool) {
	r := rng{s.h(0xce11, p.key, day, uint64(hour+24*fold))}
	var d draws
	d.fill(&r)
	if d.n(9) == 0 {
		return c, false
	}
	c.imp = p.base*diurnal[hour]/100*(70+d.n(61))/100 + d.n(3)
	if c.imp == 0 {
		return c, false
	}
	c.clk = d.frac(c.imp, p.ctrBp, 10000)
	c.spend = d.frac(c.imp, p.cpmUnits, 1000)
	if p.step > 1 {
		c.spend -= c.spend % p.step
	}
	c.vplay = d.frac(c.imp, 40+d.n(50), 100)
	c.w2s = d.frac(c.vplay, 30+d.n(30), 100)
	c.w6s = d.frac(c.w2s, 20+d.n(30), 100)
	c.p25 = d.frac(c.w2s, 60+d.n(30), 100)
	c.p50 = d.frac(c.p25, 50+d.n(40), 100)
	c.p75 = d.frac(c.p50, 50+d.n(40), 100)
	c.p100 = d.frac(c.p75, 40+d.n(50), 100)
	c.likes = d.frac(c.imp, d.n(300), 10000)
	c.comments = d.frac(c.likes, d.n(20), 100)
	c.shares = d.frac(c.likes, d.n(30), 100)
	c.follows = d.frac(c.clk, d.n(5), 100)
	c.visits = d.frac(c.clk, d.n(15), 100)
	c.rtConv = d.frac(c.clk, p.cvrBp, 10000)
	c.conv = d.frac(c.clk, p.cvrBp, 10000)
	aov := p.aovMin + r.n(p.aovSpan)/p.cent*p.cent
	switch p.objective {
	case objApp:
		c.install = d.frac(c.clk, p.irBp, 10000)
		c.rtInstall = d.frac(c.clk, p.irBp, 10000)
		purchases := d.frac(c.install, 300+d.n(1200), 10000)
		c.purchValue = purchases * aov
	case objWeb:
		c.cp = d.frac(c.conv, 3000+d.n(4000), 10000)
		c.cpValue = c.cp * aov
	}
	return c, true
}

// maturity returns how much (per mille) of the final attributed value an
// hour ending at end shows at the clock now. Attribution credits conversions
// to the interaction hour and keeps adding them for days; the curve is
// monotonic in now, so numbers only ever grow between pulls.
func (s *Server) maturity(end, now time.Time) uint64 {
	days := s.cfg.RestatementDays
	if days <= 0 {
		return 1000
	}
	window := time.Duration(days) * 24 * time.Hour
	age := now.Sub(end)
	if age >= window {
		return 1000
	}
	if age < 0 {
		age = 0
	}
	return 300 + uint64(700*int64(age/time.Hour)/int64(window/time.Hour))
}

// agg sums cells. hasApp/hasWeb record whether any contributing ad belongs to
// an app or web campaign; the metrics of the other kind are "-" otherwise.
type agg struct {
	cell
	n              int
	hasApp, hasWeb bool
}

func (g *agg) add(c *cell, objective string, permille uint64) {
	g.n++
	g.imp += c.imp
	g.clk += c.clk
	g.spend += c.spend
	g.vplay += c.vplay
	g.w2s += c.w2s
	g.w6s += c.w6s
	g.p25 += c.p25
	g.p50 += c.p50
	g.p75 += c.p75
	g.p100 += c.p100
	g.likes += c.likes
	g.comments += c.comments
	g.shares += c.shares
	g.follows += c.follows
	g.visits += c.visits
	g.rtConv += c.rtConv
	g.conv += c.conv * permille / 1000
	switch objective {
	case objApp:
		g.hasApp = true
		g.install += c.install * permille / 1000
		g.rtInstall += c.rtInstall
		g.purchValue += c.purchValue * permille / 1000
	case objWeb:
		g.hasWeb = true
		g.cp += c.cp * permille / 1000
		g.cpValue += c.cpValue * permille / 1000
	}
}

// simRow is one served report row before formatting.
type simRow struct {
	kind   byte // 0 for advertiser level
	ref    ref
	id     string
	date   tiktok.Date
	hour   int // -1 for daily rows
	fold   int // 1 for the second occurrence of a repeated hour
	values agg
}

// windowKey identifies a computed report window.
type windowKey struct {
	adv         int
	level       tiktok.Level
	gran        tiktok.Granularity
	start, end  tiktok.Date
	withDeleted bool
	now         int64
	maxAds      int // keep only the most recently created ads (0: all)
}

// window computes (or fetches from the cache) all rows of a report window
// at the clock now, in the order they are served: by time, then entity ID.
func (s *Server) window(k windowKey) []simRow {
	if rows, ok := s.cache.get(k); ok {
		return rows
	}
	rows := s.computeWindow(k)
	s.cache.put(k, rows)
	return rows
}

func (s *Server) computeWindow(k windowKey) []simRow {
	a := s.advertiser(k.adv)
	now := time.Unix(0, k.now)
	type dayInfo struct {
		date  tiktok.Date
		idx   uint64
		slots []hourSlot
	}
	var days []dayInfo
	for d := k.start; !d.After(k.end); d = d.AddDays(1) {
		if d.Before(s.cfg.StartDate) {
			continue
		}
		di := dayInfo{date: d, idx: dateIndex(d)}
		for _, sl := range hourSlots(d, a.loc) {
			if sl.start.Add(time.Hour).After(now) {
				break // hours that have not ended yet have no data
			}
			di.slots = append(di.slots, sl)
		}
		if len(di.slots) > 0 {
			days = append(days, di)
		}
	}

	// The level's entities in ID order, and each ad's entity at the level.
	cfg := s.cfg
	var ents []simRow
	type adInfo struct {
		p   adParams
		ent int
	}
	var ads []adInfo
	var keep map[ref]bool
	if k.maxAds > 0 {
		// The advertiser level has no status filter and covers deleted ads.
		keep = s.recentAds(k.adv, now, k.withDeleted || k.level == tiktok.LevelAdvertiser, k.maxAds)
	}
	for c := 0; c < cfg.CampaignsPerAdvertiser; c++ {
		for g := 0; g < cfg.AdGroupsPerCampaign; g++ {
			for d := 0; d < cfg.AdsPerAdGroup; d++ {
				r := ref{k.adv, c, g, d}
				var e simRow
				switch k.level {
				case tiktok.LevelAdvertiser:
					e = simRow{id: a.id, ref: ref{k.adv, -1, -1, -1}}
				case tiktok.LevelCampaign:
					e = simRow{kind: kindCampaign, id: campaignID(k.adv, c), ref: ref{k.adv, c, -1, -1}}
				case tiktok.LevelAdGroup:
					e = simRow{kind: kindAdGroup, id: adGroupID(k.adv, c, g), ref: ref{k.adv, c, g, -1}}
				default:
					e = simRow{kind: kindAd, id: adID(k.adv, c, g, d), ref: r}
				}
				if len(ents) == 0 || ents[len(ents)-1].id != e.id {
					ents = append(ents, e)
				}
				if e.kind != 0 && !k.withDeleted && s.deletedAt(e.kind, e.ref, now) {
					continue // a deleted entity's rows are hidden without STATUS_ALL
				}
				if e.kind == kindAd && cfg.PurgeDeletedAds && s.deletedAt(kindAd, r, now) {
					continue // purged: gone from ad-level reports, still in the totals
				}
				if keep != nil && !keep[r] {
					continue // truncated away, with its share of every level
				}
				ads = append(ads, adInfo{p: s.adParams(a, r), ent: len(ents) - 1})
			}
		}
	}

	// Rows are produced day by day (and hour by hour) over entities in ID
	// order, which is the order they are served in.
	perEnt := 1
	if k.gran == tiktok.Hourly {
		perEnt = maxSlots
	}
	buckets := make([]agg, len(ents)*perEnt)
	// Room for a row per entity and slot: nearly every entity delivers, and
	// growing a slice of million rows by doubling cost a third of the
	// window's time.
	most := 0
	for _, di := range days {
		most += len(ents) * min(perEnt, len(di.slots))
	}
	out := make([]simRow, 0, most)
	for _, di := range days {
		for i := range ads {
			ad := &ads[i]
			if s.h(0xd1, ad.p.key, di.idx)%11 == 0 {
				continue // the ad did not run that day
			}
			for j, sl := range di.slots {
				if !ad.p.life.alive(sl.start) {
					continue
				}
				cl, ok := s.cell(&ad.p, di.idx, sl.label, sl.fold)
				if !ok {
					continue
				}
				slot := ad.ent * perEnt
				if perEnt == maxSlots {
					slot += j
				}
				buckets[slot].add(&cl, ad.p.objective, s.maturity(sl.start.Add(time.Hour), now))
			}
		}
		slots := 1
		if perEnt == maxSlots {
			slots = len(di.slots)
		}
		for j := 0; j < slots; j++ {
			// The two occurrences of a repeated hour come as a pair of rows
			// for every entity that delivered in either, the one without
			// delivery as zeros: with one label for both, only the pair
			// says which occurrence a row is.
			partner := -1
			if perEnt == maxSlots {
				if di.slots[j].fold == 1 {
					partner = j - 1
				} else if j+1 < slots && di.slots[j+1].fold == 1 {
					partner = j + 1
				}
			}
			for e := range ents {
				b := &buckets[e*perEnt+j]
				if b.n == 0 && (partner < 0 || buckets[e*perEnt+partner].n == 0) {
					continue
				}
				row := ents[e]
				row.date, row.hour, row.values = di.date, -1, *b
				if perEnt == maxSlots {
					row.hour, row.fold = di.slots[j].label, di.slots[j].fold
				}
				out = append(out, row)
			}
		}
		clear(buckets)
	}
	return out
}

// deletedAt reports whether the entity is deleted at now.
func (s *Server) deletedAt(kind byte, r ref, now time.Time) bool {
	l := s.lifetimeOf(kind, r)
	return !l.deleted.IsZero() && !now.Before(l.deleted)
}

// reach returns the row's estimated unique reach: a deterministic share of its
// impressions, not a sum, because reach does not add up across rows.
func (s *Server) reach(r *simRow) uint64 {
	imp := r.values.imp
	if imp == 0 {
		return 0
	}
	pct := 55 + s.h(0x7eac, hashString(r.id), dateIndex(r.date), uint64(r.hour+1+24*r.fold))%41
	return max(1, imp*pct/100)
}

func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// roundDiv returns num/den rounded half up (den > 0), with a 128-bit
// intermediate so that large money sums cannot overflow.
func roundDiv(num, mul, den uint64) uint64 {
	hi, lo := bits.Mul64(num, mul)
	// (num·mul + den/2) / den
	lo2, carry := bits.Add64(lo, den/2, 0)
	hi += carry
	if hi >= den {
		return ^uint64(0)
	}
	q, _ := bits.Div64(hi, lo2, den)
	return q
}

// formatUnits formats units·10^-scale with exactly scale decimals.
func formatUnits(units uint64, scale int32) string {
	return string(appendUnits(nil, units, scale))
}

// appendUnits appends formatUnits(units, scale) to dst, which a page of a
// thousand rows of thirty metrics does without a string for each.
func appendUnits(dst []byte, units uint64, scale int32) []byte {
	if scale <= 0 {
		return strconv.AppendUint(dst, units, 10)
	}
	var buf [48]byte
	digits := strconv.AppendUint(buf[:0], units, 10)
	for int32(len(digits)) <= scale {
		digits = append([]byte{'0'}, digits...)
	}
	cut := len(digits) - int(scale)
	dst = append(dst, digits[:cut]...)
	dst = append(dst, '.')
	return append(dst, digits[cut:]...)
}

// adCount counts the advertiser's ads that exist at now (deleted ones only
// withDeleted), stopping at limit.
func (s *Server) adCount(a *advertiser, now time.Time, withDeleted bool, limit int) int {
	c := s.cfg
	if c.CampaignsPerAdvertiser*c.AdGroupsPerCampaign*c.AdsPerAdGroup < limit {
		return 0 // cannot reach the limit
	}
	n := 0
	for ci := 0; ci < c.CampaignsPerAdvertiser; ci++ {
		for g := 0; g < c.AdGroupsPerCampaign; g++ {
			for d := 0; d < c.AdsPerAdGroup; d++ {
				l := s.lifetimeOf(kindAd, ref{a.idx, ci, g, d})
				if l.created.After(now) || (!withDeleted && !l.deleted.IsZero() && !now.Before(l.deleted)) {
					continue
				}
				if n++; n >= limit {
					return n
				}
			}
		}
	}
	return n
}

// recentAds returns the n most recently created ads that exist at now, as
// the truncated synchronous report keeps them.
func (s *Server) recentAds(adv int, now time.Time, withDeleted bool, n int) map[ref]bool {
	type adAt struct {
		r       ref
		created time.Time
	}
	var all []adAt
	c := s.cfg
	for ci := 0; ci < c.CampaignsPerAdvertiser; ci++ {
		for g := 0; g < c.AdGroupsPerCampaign; g++ {
			for d := 0; d < c.AdsPerAdGroup; d++ {
				r := ref{adv, ci, g, d}
				l := s.lifetimeOf(kindAd, r)
				if l.created.After(now) || (!withDeleted && !l.deleted.IsZero() && !now.Before(l.deleted)) {
					continue
				}
				all = append(all, adAt{r, l.created})
			}
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if !all[i].created.Equal(all[j].created) {
			return all[i].created.After(all[j].created)
		}
		return adID(all[i].r.adv, all[i].r.camp, all[i].r.group, all[i].r.ad) > adID(all[j].r.adv, all[j].r.camp, all[j].r.group, all[j].r.ad)
	})
	keep := make(map[ref]bool, n)
	for _, a := range all[:min(n, len(all))] {
		keep[a.r] = true
	}
	return keep
}

// kilo writes 20000 as "20k", as TikTok's header does.
func kilo(n int) string {
	if n%1000 == 0 {
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

package extract

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"

	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/schema"
)

// DefaultReconcileTolerance is how far, in the account currency, a level's
// spend on one day may differ from the advertiser total before the day counts
// as out of balance: one cent. TikTok writes each row's spend rounded to the
// currency's minor unit, so a level of many rows can drift from the total by
// up to half a minor unit per row; accounts with many ads may need more
// (sync.reconcile_tolerance). Impressions and clicks are counts and must match
// exactly.
const DefaultReconcileTolerance = "0.01"

//go:embed sql/reconcile_level.sql
var reconcileLevelSQL string

//go:embed sql/imbalances.sql
var imbalancesSQL string

// Cause is the likely reason a level does not add up to the advertiser
// totals; docs/operating.md ("Reconciliation") says what to do about each.
type Cause string

// The causes [Imbalances] tells apart.
const (
	// CauseDeleted: the level has less than the account on every day out of
	// balance. Usually delivery of deleted entities that TikTok no longer
	// reports at that level (it purges old deleted ads), or a window of the
	// level that failed.
	CauseDeleted Cause = "deleted entities"
	// CauseTiming: the level has more than the account on every day out of
	// balance. Usually the levels were pulled at different times around a
	// restatement, or the advertiser-level window failed.
	CauseTiming Cause = "restatement or pull timing"
	// CauseCurrency: the level's rows are in another currency than the account.
	CauseCurrency Cause = "currency"
	// CauseMixed: some days more, some less.
	CauseMixed Cause = "mixed"
)

// Imbalance is one advertiser's level (at one granularity) whose sums differ
// from the advertiser-level totals on some days beyond the tolerance.
type Imbalance struct {
	AdvertiserID string
	Level        string // campaign, adgroup or ad
	Granularity  string // daily or hourly
	// Currency is the account currency the amounts are in.
	Currency string
	// Days out of balance, the first and the last of them.
	Days     int
	From, To tiktok.Date
	// Spend, Impressions and Clicks are Σ(level − advertiser) over those
	// days: negative when the level reports less than the account.
	Spend       decimal.Decimal
	Impressions int64
	Clicks      int64
	Cause       Cause
}

// String is the one-line summary runs print and log.
func (im Imbalance) String() string {
	return fmt.Sprintf("advertiser %s %s level (%s): %d days out of balance (%s..%s), spend %s %s, impressions %+d, clicks %+d; likely %s",
		im.AdvertiserID, im.Level, im.Granularity, im.Days, im.From, im.To, im.SpendText(), im.Currency,
		im.Impressions, im.Clicks, im.Cause)
}

// SpendText is the spend difference with its sign and at least two
// decimals unless whole ("-123.40", "+5", "-13244").
func (im Imbalance) SpendText() string {
	s := im.Spend.String()
	if i := strings.IndexByte(s, '.'); i >= 0 && len(s)-i-1 < 2 {
		s += "0"
	}
	if im.Spend.IsPositive() {
		return "+" + s
	}
	return s
}

// ReconcileQuery selects what [Imbalances] reports.
type ReconcileQuery struct {
	Target schema.Target
	// Advertisers limits the report; empty means every advertiser.
	Advertisers []string
	// From and To limit the local days; zero means unbounded.
	From, To tiktok.Date
	// Tolerance is the spend difference per day that is still rounding.
	Tolerance decimal.Decimal
	// Now: days from today on, in each advertiser's timezone, are not judged,
	// because today's figures change between the pulls of the levels.
	Now time.Time
}

// Imbalances reads the reconciliation table and sums, per advertiser, level
// and granularity, the finished days out of balance. It reads only the
// warehouse.
func Imbalances(ctx context.Context, conn driver.Conn, q ReconcileQuery) ([]Imbalance, error) {
	from, to := "1970-01-01", "2149-06-06"
	if !q.From.IsZero() {
		from = q.From.String()
	}
	if !q.To.IsZero() {
		to = q.To.String()
	}
	quoted := make([]string, len(q.Advertisers))
	for i, a := range q.Advertisers {
		quoted[i] = "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(a) + "'"
	}
	params := map[string]string{
		"tolerance": q.Tolerance.Abs().String(), "from": from, "to": to,
		"advertisers": "[" + strings.Join(quoted, ",") + "]",
	}
	rows, err := conn.Query(withParams(ctx, params), fmt.Sprintf(imbalancesSQL, q.Target.Database))
	if err != nil {
		return nil, fmt.Errorf("reading the reconciliation: %w", err)
	}
	defer rows.Close()
	var out []Imbalance
	type signs struct{ below, above, currency bool }
	var seen []signs
	locs := map[string]*time.Location{}
	for rows.Next() {
		var (
			adv, gran, level, cur, spendS, advSpendS, tz, advCur string
			day                                                  time.Time
			imp, advImp, clk, advClk                             uint64
		)
		if err := rows.Scan(&adv, &gran, &level, &day, &cur, &spendS, &advSpendS, &imp, &advImp, &clk, &advClk, &tz, &advCur); err != nil {
			return nil, fmt.Errorf("reading the reconciliation: %w", err)
		}
		loc, ok := locs[tz]
		if !ok {
			if loc, err = time.LoadLocation(tz); err != nil || tz == "" {
				loc = time.UTC
			}
			locs[tz] = loc
		}
		d := tiktok.DateOf(day)
		if !q.Now.IsZero() && !d.Before(tiktok.DateOf(q.Now.In(loc))) {
			continue
		}
		spend, err := decimal.NewFromString(spendS)
		if err != nil {
			return nil, fmt.Errorf("reconciliation advertiser %s %s: spend %q: %w", adv, d, spendS, err)
		}
		advSpend, err := decimal.NewFromString(advSpendS)
		if err != nil {
			return nil, fmt.Errorf("reconciliation advertiser %s %s: advertiser spend %q: %w", adv, d, advSpendS, err)
		}
		n := len(out)
		if n == 0 || out[n-1].AdvertiserID != adv || out[n-1].Level != level || out[n-1].Granularity != gran {
			currency := advCur
			if currency == "" {
				currency = cur
			}
			out = append(out, Imbalance{AdvertiserID: adv, Level: level, Granularity: gran, Currency: currency, From: d})
			seen = append(seen, signs{})
			n++
		}
		im, sg := &out[n-1], &seen[n-1]
		diff := spend.Sub(advSpend)
		im.Days++
		im.To = d
		im.Spend = im.Spend.Add(diff)
		im.Impressions += int64(imp) - int64(advImp)
		im.Clicks += int64(clk) - int64(advClk)
		switch {
		case diff.IsNegative() || (diff.IsZero() && imp <= advImp && clk <= advClk):
			sg.below = true
		default:
			sg.above = true
		}
		if cur != "" && advCur != "" && cur != advCur {
			sg.currency = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the reconciliation: %w", err)
	}
	for i := range out {
		switch sg := seen[i]; {
		case sg.currency:
			out[i].Cause = CauseCurrency
		case sg.below && !sg.above:
			out[i].Cause = CauseDeleted
		case sg.above && !sg.below:
			out[i].Cause = CauseTiming
		default:
			out[i].Cause = CauseMixed
		}
	}
	return out, nil
}

// reconcile records, per day, each level's sums of spend, impressions and
// clicks next to the advertiser-level totals. TikTok documents that levels
// need not add up; we record the difference, report it, never hide it.
func (s *Syncer) reconcile(ctx context.Context, advertiserID string, g tiktok.Granularity, from, to tiktok.Date, levels []tiktok.Level) error {
	hasAdvertiser := false
	for _, l := range levels {
		hasAdvertiser = hasAdvertiser || l == tiktok.LevelAdvertiser
	}
	if !hasAdvertiser {
		return nil
	}
	params := map[string]string{"adv": advertiserID, "from": from.String(), "to": to.String()}
	for _, l := range levels {
		if l == tiktok.LevelAdvertiser {
			continue
		}
		params["version"] = fmt.Sprint(load.NewVersion())
		q := fmt.Sprintf(reconcileLevelSQL, s.opts.Target.Database, g.Name(), l.Name())
		if err := s.conn.Exec(withParams(ctx, params), q); err != nil {
			return fmt.Errorf("advertiser %s: reconciliation of %s %s %s..%s: %w", advertiserID, l.Name(), g.Name(), from, to, err)
		}
	}
	return nil
}

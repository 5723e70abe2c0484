// Package crm parses CRM deal exports (CSV, columns named in the
// configuration; HubSpot deals exports by default) into load_crm_deals.
package crm

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/adhouse/adhouse/etl/attribution"
	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/ingest"
	"github.com/adhouse/adhouse/etl/load"
)

// Deal is one CRM deal as staged.
type Deal struct {
	ID              string
	Created, Closed *time.Time
	CloseDate       *time.Time
	Stage           string
	Won             bool
	Amount          *decimal.Decimal
	Currency        string
	Touch           attribution.Touch
	Class           attribution.Classified
}

var columns = []string{"deal_id", "created_at", "closed_at", "close_date", "stage", "is_won", "amount", "currency",
	"utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "ttclid",
	"channel", "campaign_ref", "adgroup_ref", "ad_ref"}

// AppendValues implements load.Row.
func (d *Deal) AppendValues(dst []any) []any {
	t := &d.Touch
	won := uint8(0)
	if d.Won {
		won = 1
	}
	return append(dst, d.ID, d.Created, d.Closed, d.CloseDate, d.Stage, won, d.Amount, d.Currency,
		t.Source, t.Medium, t.Campaign, t.Content, t.Term, t.TTCLID,
		string(d.Class.Channel), d.Class.CampaignRef, d.Class.AdGroupRef, d.Class.AdRef)
}

// Format is a CRM deals CSV with a column mapping.
type Format struct {
	Columns config.CRMColumns
	Rules   attribution.Rules
}

// Source implements ingest.Format.
func (Format) Source() string { return "crm" }

// Name implements ingest.Format.
func (Format) Name() string { return "crm-csv" }

// Tables implements ingest.Format.
func (Format) Tables() []load.Table { return []load.Table{{Name: "load_crm_deals", Columns: columns}} }

// Parse implements ingest.Format. A deal id twice in one file fails it: the
// file would contradict itself.
func (f Format) Parse(ctx context.Context, in *ingest.Input, sink ingest.Sink) error {
	c, err := ingest.NewCSV(in.Name, in.Reader())
	if err != nil {
		return err
	}
	m := f.Columns
	id, err := c.Require(m.ID)
	if err != nil {
		return err
	}
	amount, err := c.Require(m.Amount)
	if err != nil {
		return err
	}
	closed, err := c.Require(m.Closed)
	if err != nil {
		return err
	}
	cur := c.Col(m.Currency)
	if cur < 0 && m.DefaultCurrency == "" {
		if _, err := c.Require(m.Currency); err != nil {
			return fmt.Errorf("%w (or set imports.crm.default_currency)", err)
		}
	}
	opt := func(name string) int {
		if name == "" {
			return -1
		}
		return c.Col(name)
	}
	created, stage, won := opt(m.Created), opt(m.Stage), opt(m.Won)
	utm := [6]int{opt(m.UTMSource), opt(m.UTMMedium), opt(m.UTMCampaign), opt(m.UTMContent), opt(m.UTMTerm), opt(m.TTCLID)}
	seen := map[uint64]int64{}
	seed := maphash.MakeSeed()
	for {
		ok, err := c.Next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		d := &Deal{ID: strings.TrimSpace(c.Get(id)), Stage: c.Get(stage)}
		if d.ID == "" {
			return c.Fail(id, errors.New("required"))
		}
		h := maphash.String(seed, d.ID)
		if first, dup := seen[h]; dup {
			return c.Fail(id, fmt.Errorf("%w: deal already on line %d", ingest.ErrDuplicate, first))
		}
		seen[h] = c.Line()
		if s := c.Get(created); s != "" {
			t, _, err := ingest.Time(s)
			if err != nil {
				return c.Fail(created, err)
			}
			d.Created = &t
		}
		if s := c.Get(closed); s != "" {
			t, day, err := ingest.Time(s)
			if err != nil {
				return c.Fail(closed, err)
			}
			d.Closed, d.CloseDate = &t, &day
		}
		if d.Amount, err = ingest.OptionalMoney(strings.TrimSpace(c.Get(amount))); err != nil {
			return c.Fail(amount, err)
		}
		if d.Amount != nil && d.Amount.IsNegative() {
			return c.Fail(amount, errors.New("negative deal amount (a refund or credit note is not a won deal)"))
		}
		d.Currency = m.DefaultCurrency
		if s := c.Get(cur); s != "" || cur >= 0 {
			if s == "" && m.DefaultCurrency != "" {
				s = m.DefaultCurrency
			}
			if d.Currency, err = ingest.Currency(s); err != nil {
				return c.Fail(cur, err)
			}
		}
		if s := c.Get(won); s != "" {
			if d.Won, err = ingest.Bool(s); err != nil {
				return c.Fail(won, err)
			}
		} else {
			for _, w := range m.WonStages {
				if strings.EqualFold(d.Stage, w) {
					d.Won = true
				}
			}
		}
		d.Touch = attribution.Touch{Source: c.Get(utm[0]), Medium: c.Get(utm[1]), Campaign: c.Get(utm[2]),
			Content: c.Get(utm[3]), Term: c.Get(utm[4]), TTCLID: c.Get(utm[5])}
		d.Class = f.Rules.Classify(d.Touch)
		if err := sink.Emit(ctx, 0, c.Line(), d); err != nil {
			return err
		}
	}
}

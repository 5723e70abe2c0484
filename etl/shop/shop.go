// Package shop parses ecommerce exports: Shopify's orders CSV, a generic
// orders CSV with a column mapping, and a product cost file, into the
// load_shop_orders, load_shop_order_lines and load_product_costs tables.
package shop

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/adhouse/adhouse/etl/attribution"
	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/ingest"
	"github.com/adhouse/adhouse/etl/load"
)

// Order is one order as staged, from the first row of its group.
type Order struct {
	ID string
	// Ref is the shop's own order id (Shopify's Id column, or a generic
	// file's order_ref column), which GA4 purchases may carry as
	// transaction_id.
	Ref                                                        string
	Created, Date                                              time.Time
	Status                                                     string
	Cancelled                                                  bool
	Currency                                                   string
	Subtotal, Shipping, Taxes, Total, Discount, Refunded, Fees decimal.Decimal
	SourceName                                                 string
	Touch                                                      attribution.Touch
	Class                                                      attribution.Classified
}

var orderColumns = []string{"order_id", "order_ref", "created_at", "order_date", "financial_status", "cancelled", "currency",
	"subtotal", "shipping", "taxes", "total", "discount", "refunded", "fees", "source_name",
	"utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "ttclid",
	"channel", "campaign_ref", "adgroup_ref", "ad_ref"}

// AppendValues implements load.Row.
func (o *Order) AppendValues(dst []any) []any {
	t := &o.Touch
	var cancelled uint8
	if o.Cancelled {
		cancelled = 1
	}
	return append(dst, o.ID, o.Ref, o.Created, o.Date, o.Status, cancelled, o.Currency,
		o.Subtotal, o.Shipping, o.Taxes, o.Total, o.Discount, o.Refunded, o.Fees, o.SourceName,
		t.Source, t.Medium, t.Campaign, t.Content, t.Term, t.TTCLID,
		string(o.Class.Channel), o.Class.CampaignRef, o.Class.AdGroupRef, o.Class.AdRef)
}

// Line is one line item.
type Line struct {
	OrderID, SKU, Name string
	Quantity           int64
	Price              decimal.Decimal
}

var lineColumns = []string{"order_id", "sku", "name", "quantity", "price"}

// AppendValues implements load.Row.
func (l *Line) AppendValues(dst []any) []any {
	return append(dst, l.OrderID, l.SKU, l.Name, l.Quantity, l.Price)
}

var orderTables = []load.Table{
	{Name: "load_shop_orders", Columns: orderColumns},
	{Name: "load_shop_order_lines", Columns: lineColumns},
}

// mapping is the column layout of an orders file, resolved against its header.
type mapping struct {
	id, created, currency, subtotal, shipping, taxes, total, discount, refunded, fees int
	status, cancelled, source, sku, name, quantity, price, landing, notes, ref        int
	utm                                                                               [6]int
}

// Orders parses an orders CSV: a Shopify export when the header has Shopify's
// columns (Name, Lineitem quantity, Financial Status), otherwise a generic
// file through Columns.
type Orders struct {
	Columns config.OrderColumns
	Rules   attribution.Rules
}

// Source implements ingest.Format.
func (Orders) Source() string { return "orders" }

// Name implements ingest.Format.
func (Orders) Name() string { return "orders-csv" }

// Tables implements ingest.Format.
func (Orders) Tables() []load.Table { return orderTables }

// Parse implements ingest.Format. Rows of one order must be adjacent (as both
// exports write them); an order id that comes back later fails the file.
func (f Orders) Parse(ctx context.Context, in *ingest.Input, sink ingest.Sink) error {
	c, err := ingest.NewCSV(in.Name, in.Reader())
	if err != nil {
		return err
	}
	m, err := f.resolve(c)
	if err != nil {
		return err
	}
	seen := map[uint64]int64{}
	seed := maphash.MakeSeed()
	var cur string
	for {
		ok, err := c.Next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		id := strings.TrimSpace(c.Get(m.id))
		if id == "" {
			return c.Fail(m.id, errors.New("required"))
		}
		if id != cur {
			h := maphash.String(seed, id)
			if first, dup := seen[h]; dup {
				return c.Fail(m.id, fmt.Errorf("%w: order already on line %d", ingest.ErrDuplicate, first))
			}
			seen[h] = c.Line()
			cur = id
			o, err := f.order(c, &m, id)
			if err != nil {
				return err
			}
			if err := sink.Emit(ctx, 0, c.Line(), o); err != nil {
				return err
			}
		}
		if m.price >= 0 || m.quantity >= 0 || m.sku >= 0 {
			l, err := line(c, &m, id)
			if err != nil {
				return err
			}
			if l != nil {
				if err := sink.Emit(ctx, 1, c.Line(), l); err != nil {
					return err
				}
			}
		}
	}
}

func (f Orders) resolve(c *ingest.CSV) (mapping, error) {
	shopify := c.Col("Name") >= 0 && c.Col("Lineitem quantity") >= 0 && c.Col("Financial Status") >= 0
	var names config.OrderColumns
	if shopify {
		names = config.OrderColumns{ID: "Name", Created: "Created at", Currency: "Currency", Revenue: "Subtotal",
			Shipping: "Shipping", Taxes: "Taxes", Total: "Total", Discount: "Discount Amount", Refunded: "Refunded Amount",
			Status: "Financial Status", Cancelled: "Cancelled at", SKU: "Lineitem sku", Quantity: "Lineitem quantity",
			Price: "Lineitem price", LandingSite: "Landing Site"}
	} else {
		names = f.Columns
	}
	col := func(n string) int {
		if n == "" {
			return -1
		}
		return c.Col(n)
	}
	m := mapping{
		id: col(names.ID), created: col(names.Created), currency: col(names.Currency), subtotal: col(names.Revenue),
		shipping: col(names.Shipping), taxes: col(names.Taxes), total: col(names.Total), discount: col(names.Discount),
		refunded: col(names.Refunded), fees: col(names.Fees), status: col(names.Status), cancelled: col(names.Cancelled),
		sku: col(names.SKU), quantity: col(names.Quantity), price: col(names.Price), landing: col(names.LandingSite),
		utm:  [6]int{col(names.UTMSource), col(names.UTMMedium), col(names.UTMCampaign), col(names.UTMContent), col(names.UTMTerm), col(names.TTCLID)},
		name: -1, source: -1, notes: -1, ref: c.Col("order_ref"),
	}
	if shopify {
		m.name, m.source, m.notes, m.ref = c.Col("Lineitem name"), c.Col("Source"), c.Col("Note Attributes"), c.Col("Id")
	}
	for n, i := range map[string]int{names.ID: m.id, names.Created: m.created, names.Currency: m.currency, names.Revenue: m.subtotal} {
		if i < 0 {
			if _, err := c.Require(n); err != nil {
				return m, err
			}
		}
	}
	return m, nil
}

func (f Orders) order(c *ingest.CSV, m *mapping, id string) (*Order, error) {
	o := &Order{ID: id, Ref: strings.TrimSpace(c.Get(m.ref)), Status: strings.ToLower(strings.TrimSpace(c.Get(m.status))), SourceName: c.Get(m.source)}
	var err error
	if o.Created, o.Date, err = ingest.Time(c.Get(m.created)); err != nil {
		return nil, c.Fail(m.created, err)
	}
	if o.Currency, err = ingest.Currency(c.Get(m.currency)); err != nil {
		return nil, c.Fail(m.currency, err)
	}
	if s := c.Get(m.subtotal); s == "" {
		return nil, c.Fail(m.subtotal, errors.New("required on the first row of an order"))
	}
	for _, x := range []struct {
		i   int
		dst *decimal.Decimal
	}{{m.subtotal, &o.Subtotal}, {m.shipping, &o.Shipping}, {m.taxes, &o.Taxes}, {m.total, &o.Total},
		{m.discount, &o.Discount}, {m.refunded, &o.Refunded}, {m.fees, &o.Fees}} {
		if *x.dst, err = ingest.ZeroMoney(strings.TrimSpace(c.Get(x.i))); err != nil {
			return nil, c.Fail(x.i, err)
		}
	}
	if o.Refunded.IsNegative() {
		return nil, c.Fail(m.refunded, errors.New("refunds are entered as positive amounts"))
	}
	if o.Subtotal.IsNegative() {
		return nil, c.Fail(m.subtotal, errors.New("negative order revenue; enter refunds in the refunded column"))
	}
	if s := c.Get(m.cancelled); s != "" {
		if _, _, err := ingest.Time(s); err != nil {
			if b, berr := ingest.Bool(s); berr == nil {
				o.Cancelled = b
			} else {
				return nil, c.Fail(m.cancelled, errors.New("not a time or true/false"))
			}
		} else {
			o.Cancelled = true
		}
	}
	if o.Status == "voided" {
		o.Cancelled = true
	}
	o.Touch = attribution.Touch{Source: c.Get(m.utm[0]), Medium: c.Get(m.utm[1]), Campaign: c.Get(m.utm[2]),
		Content: c.Get(m.utm[3]), Term: c.Get(m.utm[4]), TTCLID: c.Get(m.utm[5])}
	o.Touch = o.Touch.Or(attribution.FromURL(c.Get(m.landing))).Or(noteTouch(c.Get(m.notes)))
	o.Class = f.Rules.Classify(o.Touch)
	return o, nil
}

// noteTouch reads UTM parameters and ttclid from Shopify note attributes,
// written one "key: value" per line by attribution apps and checkout scripts.
func noteTouch(notes string) attribution.Touch {
	var t attribution.Touch
	for _, l := range strings.Split(notes, "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "utm_source":
			t.Source = v
		case "utm_medium":
			t.Medium = v
		case "utm_campaign":
			t.Campaign = v
		case "utm_content":
			t.Content = v
		case "utm_term":
			t.Term = v
		case "utm_id":
			t.ID = v
		case "ttclid":
			t.TTCLID = v
		}
	}
	return t
}

// MaxQuantity bounds a line's quantity: quantity × unit cost must stay
// within the money columns (Decimal(38, 6)) of the finance export, and no
// order line holds a billion items.
const MaxQuantity = 1_000_000_000

func line(c *ingest.CSV, m *mapping, id string) (*Line, error) {
	l := &Line{OrderID: id, SKU: strings.TrimSpace(c.Get(m.sku)), Name: c.Get(m.name), Quantity: 1}
	q, p := strings.TrimSpace(c.Get(m.quantity)), strings.TrimSpace(c.Get(m.price))
	if q == "" && p == "" && l.SKU == "" {
		return nil, nil
	}
	if q != "" {
		n, err := strconv.ParseInt(q, 10, 64)
		if err != nil || n < 0 {
			return nil, c.Fail(m.quantity, errors.New("not a whole number of items"))
		}
		if n > MaxQuantity {
			return nil, c.Fail(m.quantity, fmt.Errorf("more than %d items on one line", MaxQuantity))
		}
		l.Quantity = n
	}
	var err error
	if l.Price, err = ingest.ZeroMoney(p); err != nil {
		return nil, c.Fail(m.price, err)
	}
	return l, nil
}

// Cost is one product cost: from ValidFrom on, one unit of SKU costs UnitCost.
type Cost struct {
	SKU       string
	UnitCost  decimal.Decimal
	Currency  string
	ValidFrom time.Time
}

// AppendValues implements load.Row.
func (k *Cost) AppendValues(dst []any) []any {
	return append(dst, k.SKU, k.UnitCost, k.Currency, k.ValidFrom)
}

// Costs parses a product cost CSV with columns sku, unit_cost, currency and
// valid_from (a date; empty means since always).
type Costs struct{}

// Source implements ingest.Format.
func (Costs) Source() string { return "costs" }

// Name implements ingest.Format.
func (Costs) Name() string { return "costs-csv" }

// Tables implements ingest.Format.
func (Costs) Tables() []load.Table {
	return []load.Table{{Name: "load_product_costs", Columns: []string{"sku", "unit_cost", "currency", "valid_from"}}}
}

// Parse implements ingest.Format. The same SKU, currency and valid_from twice
// fails the file.
func (Costs) Parse(ctx context.Context, in *ingest.Input, sink ingest.Sink) error {
	c, err := ingest.NewCSV(in.Name, in.Reader())
	if err != nil {
		return err
	}
	idx := map[string]int{}
	for _, n := range []string{"sku", "unit_cost", "currency"} {
		if idx[n], err = c.Require(n); err != nil {
			return err
		}
	}
	from := c.Col("valid_from")
	seen := map[string]int64{}
	for {
		ok, err := c.Next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		k := &Cost{SKU: strings.TrimSpace(c.Get(idx["sku"])), ValidFrom: time.Unix(0, 0).UTC()}
		if k.SKU == "" {
			return c.Fail(idx["sku"], errors.New("required"))
		}
		if k.UnitCost, err = ingest.Money(strings.TrimSpace(c.Get(idx["unit_cost"]))); err != nil {
			return c.Fail(idx["unit_cost"], err)
		}
		if k.UnitCost.IsNegative() {
			return c.Fail(idx["unit_cost"], errors.New("a cost cannot be negative"))
		}
		if k.Currency, err = ingest.Currency(c.Get(idx["currency"])); err != nil {
			return c.Fail(idx["currency"], err)
		}
		if s := c.Get(from); s != "" {
			if _, k.ValidFrom, err = ingest.Time(s); err != nil {
				return c.Fail(from, err)
			}
		}
		key := k.SKU + "\x00" + k.Currency + "\x00" + k.ValidFrom.Format(time.DateOnly)
		if first, dup := seen[key]; dup {
			return c.Fail(idx["sku"], fmt.Errorf("%w: the same SKU, currency and valid_from already on line %d", ingest.ErrDuplicate, first))
		}
		seen[key] = c.Line()
		if err := sink.Emit(ctx, 0, c.Line(), k); err != nil {
			return err
		}
	}
}

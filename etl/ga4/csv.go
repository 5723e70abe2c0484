package ga4

import (
	"context"
	"errors"
	"strconv"

	"github.com/adhouse/adhouse/etl/attribution"
	"github.com/adhouse/adhouse/etl/ingest"
	"github.com/adhouse/adhouse/etl/load"
)

// CSV is a flattened export: one column per field, nested names joined by
// dots or underscores (collected_traffic_source.manual_source), page_location
// and ga_session_id as columns of their own.
type CSV struct{ Options }

// Source implements ingest.Format.
func (CSV) Source() string { return "ga4" }

// Name implements ingest.Format.
func (CSV) Name() string { return "ga4-csv" }

// Tables implements ingest.Format.
func (CSV) Tables() []load.Table { return NDJSON{}.Tables() }

// Parse implements ingest.Format.
func (f CSV) Parse(ctx context.Context, in *ingest.Input, sink ingest.Sink) error {
	c, err := ingest.NewCSV(in.Name, in.Reader())
	if err != nil {
		return err
	}
	groups := newChannelGroups(f.Options)
	req := map[string]int{}
	for _, n := range []string{"event_date", "event_timestamp", "event_name", "user_pseudo_id"} {
		if req[n], err = c.Require(n); err != nil {
			return err
		}
	}
	col := func(names ...string) int {
		for _, n := range names {
			if i := c.Col(n); i >= 0 {
				return i
			}
		}
		return -1
	}
	userID, session, page, referrer := col("user_id"), col("ga_session_id"), col("page_location"), col("page_referrer")
	currency, refund := col("currency", "event_params_currency"), col("ecommerce_refund_value", "refund_value")
	cts := [6]int{col("collected_traffic_source_manual_source"), col("collected_traffic_source_manual_medium"),
		col("collected_traffic_source_manual_campaign_name"), col("collected_traffic_source_manual_campaign_id"),
		col("collected_traffic_source_manual_content"), col("collected_traffic_source_manual_term")}
	slc := [4]int{col("session_traffic_source_last_click_manual_campaign_source"), col("session_traffic_source_last_click_manual_campaign_medium"),
		col("session_traffic_source_last_click_manual_campaign_campaign_name"), col("session_traffic_source_last_click_manual_campaign_campaign_id")}
	ts := [3]int{col("traffic_source_source"), col("traffic_source_medium"), col("traffic_source_name")}
	revenue, tx := col("ecommerce_purchase_revenue", "purchase_revenue"), col("ecommerce_transaction_id", "transaction_id")
	for {
		ok, err := c.Next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		ev := new(Event)
		if ev.Date, err = Date(c.Get(req["event_date"])); err != nil {
			return c.Fail(req["event_date"], err)
		}
		if ev.Timestamp, err = Micros(c.Get(req["event_timestamp"])); err != nil {
			return c.Fail(req["event_timestamp"], err)
		}
		if ev.Name = c.Get(req["event_name"]); ev.Name == "" {
			return c.Fail(req["event_name"], errors.New("required"))
		}
		ev.UserPseudoID, ev.UserID, ev.PageLocation, ev.PageReferrer = c.Get(req["user_pseudo_id"]), c.Get(userID), c.Get(page), c.Get(referrer)
		if s := c.Get(currency); s != "" {
			if ev.Currency, err = ingest.Currency(s); err != nil {
				return c.Fail(currency, err)
			}
		}
		if s := c.Get(refund); s != "" {
			d, err := Revenue(s)
			if err != nil {
				return c.Fail(refund, err)
			}
			ev.RefundValue = &d
		}
		if s := c.Get(session); s != "" {
			if ev.SessionID, err = strconv.ParseInt(s, 10, 64); err != nil {
				return c.Fail(session, errors.New("not an integer"))
			}
		}
		ev.Collected = attribution.Touch{Source: c.Get(cts[0]), Medium: c.Get(cts[1]), Campaign: c.Get(cts[2]), ID: c.Get(cts[3]), Content: c.Get(cts[4]), Term: c.Get(cts[5])}
		ev.SessionLastClick = attribution.Touch{Source: c.Get(slc[0]), Medium: c.Get(slc[1]), Campaign: c.Get(slc[2]), ID: c.Get(slc[3])}
		ev.TrafficSource = attribution.Touch{Source: c.Get(ts[0]), Medium: c.Get(ts[1]), Campaign: c.Get(ts[2])}
		ev.TransactionID = c.Get(tx)
		if s := c.Get(revenue); s != "" {
			d, err := Revenue(s)
			if err != nil {
				return c.Fail(revenue, err)
			}
			ev.PurchaseRevenue = &d
		}
		ev.finish(f.Options, groups)
		if err := sink.Emit(ctx, 0, c.Line(), ev); err != nil {
			return err
		}
	}
}

-- GA4 as GA4 counts it: the referrer that gives a visit without campaign
-- parameters its source, the default channel group, and refunds.
{{alter "load_ga4_events" "ADD COLUMN IF NOT EXISTS page_referrer String COMMENT 'event_params.page_referrer: the source of a visit without campaign parameters' AFTER page_location, ADD COLUMN IF NOT EXISTS channel_group LowCardinality(String) COMMENT 'GA4 default channel group of the touch (Direct, Paid Social, Organic Search…)' AFTER channel, ADD COLUMN IF NOT EXISTS refund_value Nullable(Decimal(18, 6)) COMMENT 'ecommerce.refund_value of a refund event' AFTER purchase_revenue"}}

-- Shopify's numeric order id, which GA4 purchases carry as transaction_id.
{{alter "load_shop_orders" "ADD COLUMN IF NOT EXISTS order_ref String COMMENT 'the shop''s own order id (Shopify Id), matched against GA4 transaction_id' AFTER order_id"}}

-- Finance rules a team chooses (docs/attribution.md, "Finance rules").
{{alter "attribution_settings" "ADD COLUMN IF NOT EXISTS refunded_order_cost LowCardinality(String) DEFAULT 'keep' COMMENT 'keep or drop: the cost of goods of a fully refunded order', ADD COLUMN IF NOT EXISTS fee_per_order Decimal(18, 6) DEFAULT 0 COMMENT 'a fee per order, added to the file''s fee column', ADD COLUMN IF NOT EXISTS fee_percent Decimal(9, 6) DEFAULT 0 COMMENT 'a fee in percent of order revenue, added to the file''s fee column'"}}

-- Exchange rates: one unit of base costs rate units of quote on rate_date.
CREATE TABLE IF NOT EXISTS {{local "load_fx_rates"}}{{onCluster}}
(
    file_key     String,
    load_version UInt64,
    line         UInt64,
    rate_date    Date,
    base         LowCardinality(String),
    quote        LowCardinality(String),
    rate         Decimal(38, 12)
)
ENGINE = {{engine "ReplacingMergeTree" ""}}
ORDER BY (file_key, load_version, line);
{{distributed "load_fx_rates" "cityHash64(file_key)"}}

-- The import views: the newest committed version of each imported file, the
-- GA4 touches and conversions, and the attribution joins that credit TikTok
-- entities (rules: docs/attribution.md). Re-created by every `adhouse
-- migrate`; migration 0002 created the first version of them.
{{range $v := pairs "ga4_events" "ga4" "crm_deals" "crm" "shop_orders" "orders" "shop_order_lines" "orders" "product_costs" "costs" "fx_rates" "fx"}}
CREATE OR REPLACE VIEW {{$.DB}}.{{index $v 0}}_committed{{onCluster}} AS
SELECT * EXCEPT (load_version)
FROM {{$.DB}}.load_{{index $v 0}} FINAL
WHERE (file_key, load_version) {{globalIn}} (
    SELECT file_key, max(version) FROM {{$.DB}}.import_commits WHERE source = '{{index $v 1}}' GROUP BY file_key
);
{{end}}
-- The same deal, order, or SKU cost (per currency and date) in several files
-- (overlapping daily exports): the newest committed file wins, then the
-- later line.
CREATE OR REPLACE VIEW {{$.DB}}.ga4_events{{onCluster}} AS
SELECT * FROM {{$.DB}}.ga4_events_committed;

CREATE OR REPLACE VIEW {{$.DB}}.crm_deals{{onCluster}} AS
SELECT d.* FROM {{$.DB}}.crm_deals_committed AS d
INNER JOIN (SELECT file_key, max(version) AS version FROM {{$.DB}}.import_commits WHERE source = 'crm' GROUP BY file_key) AS c USING (file_key)
ORDER BY deal_id, c.version DESC, d.line DESC
LIMIT 1 BY deal_id;

CREATE OR REPLACE VIEW {{$.DB}}.shop_orders{{onCluster}} AS
SELECT o.* FROM {{$.DB}}.shop_orders_committed AS o
INNER JOIN (SELECT file_key, max(version) AS version FROM {{$.DB}}.import_commits WHERE source = 'orders' GROUP BY file_key) AS c USING (file_key)
ORDER BY order_id, c.version DESC, o.line DESC
LIMIT 1 BY order_id;

CREATE OR REPLACE VIEW {{$.DB}}.shop_order_lines{{onCluster}} AS
SELECT l.* FROM {{$.DB}}.shop_order_lines_committed AS l
INNER JOIN (SELECT order_id, file_key FROM {{$.DB}}.shop_orders) AS o ON l.order_id = o.order_id AND l.file_key = o.file_key;

CREATE OR REPLACE VIEW {{$.DB}}.product_costs{{onCluster}} AS
SELECT p.* FROM {{$.DB}}.product_costs_committed AS p
INNER JOIN (SELECT file_key, max(version) AS version FROM {{$.DB}}.import_commits WHERE source = 'costs' GROUP BY file_key) AS c USING (file_key)
ORDER BY sku, currency, valid_from, c.version DESC, p.line DESC
LIMIT 1 BY sku, currency, valid_from;

-- Exchange rates: per day and pair, the newest committed file wins.
CREATE OR REPLACE VIEW {{$.DB}}.fx_rates{{onCluster}} AS
SELECT r.* FROM {{$.DB}}.fx_rates_committed AS r
INNER JOIN (SELECT file_key, max(version) AS version FROM {{$.DB}}.import_commits WHERE source = 'fx' GROUP BY file_key) AS c USING (file_key)
ORDER BY rate_date, base, quote, c.version DESC, r.line DESC
LIMIT 1 BY rate_date, base, quote;

CREATE OR REPLACE VIEW {{$.DB}}.attribution_config{{onCluster}} AS
SELECT
    argMax(lookback_days, version)     AS lookback_days,
    argMax(match_by, version)          AS match_by,
    argMax(conversion_events, version) AS conversion_events,
    -- a tuple, so that a newer NULL (the margin switched off) wins: argMax
    -- skips NULL values, a tuple holding one is not NULL
    argMax(tuple(default_margin), version).1 AS default_margin,
    argMax(refunded_order_cost, version) AS refunded_order_cost,
    argMax(fee_per_order, version)       AS fee_per_order,
    argMax(fee_percent, version)         AS fee_percent,
    argMax(reporting_currency, version)  AS reporting_currency
FROM {{$.DB}}.attribution_settings;

-- Touches: GA4 events that carry a non-direct source: campaign parameters
-- (channel tiktok or other) or, for a visit without them, an external
-- referrer (organic search, social, referral: channel other).
CREATE OR REPLACE VIEW {{$.DB}}.ga4_touches{{onCluster}} AS
SELECT user_pseudo_id, event_timestamp AS touch_time, file_key, line, channel, channel_group,
       touch_source, touch_medium, campaign_ref, adgroup_ref, ad_ref, ttclid
FROM {{$.DB}}.ga4_events
WHERE channel != 'none' AND user_pseudo_id != '';

-- GA4 refunds by transaction: the daily and intraday exports hold the same
-- event, so a refund counts once per event identity; a refund without a
-- value refunds the whole purchase, as in GA4.
CREATE OR REPLACE VIEW {{$.DB}}.ga4_refunds{{onCluster}} AS
SELECT transaction_id, sum(ifNull(refund_value, 0)) AS refunded, countIf(isNull(refund_value)) > 0 AS refunded_in_full
FROM (
    SELECT transaction_id, refund_value FROM {{$.DB}}.ga4_events
    WHERE event_name = 'refund' AND transaction_id != ''
    ORDER BY user_pseudo_id, event_timestamp, ga_session_id, transaction_id, file_key, line
    LIMIT 1 BY user_pseudo_id, event_timestamp, ga_session_id, transaction_id
)
GROUP BY transaction_id;

-- Conversions: events named in attribution_settings.conversion_events, one
-- per transaction_id (the first), else one per event identity (user, time,
-- name, session: the same event in the daily and the intraday export), with
-- the purchase's refunds subtracted and in the event's own currency.
CREATE OR REPLACE VIEW {{$.DB}}.ga4_conversions{{onCluster}} AS
SELECT
    c.conversion_key AS conversion_key, c.user_pseudo_id AS user_pseudo_id, c.conversion_date AS conversion_date,
    c.conversion_time AS conversion_time, c.event_name AS event_name, c.transaction_id AS transaction_id,
    if(r.refunded_in_full, CAST(0, 'Nullable(Decimal(18, 6))'),
       CAST(c.revenue - ifNull(r.refunded, 0), 'Nullable(Decimal(18, 6))')) AS revenue,
    ifNull(r.refunded, 0) AS refunded, c.currency AS currency, c.file_key AS file_key, c.line AS line
FROM (
    SELECT
        if(transaction_id = '',
           concat('ga4ev:', user_pseudo_id, ':', toString(toUnixTimestamp64Micro(event_timestamp)), ':', event_name, ':', toString(ga_session_id)),
           concat('ga4tx:', transaction_id)) AS conversion_key,
        user_pseudo_id, event_date AS conversion_date, event_timestamp AS conversion_time,
        event_name, transaction_id, purchase_revenue AS revenue, currency, file_key, line
    FROM {{$.DB}}.ga4_events
    WHERE has((SELECT conversion_events FROM {{$.DB}}.attribution_config), event_name)
    ORDER BY conversion_key, event_timestamp, file_key, line
    LIMIT 1 BY conversion_key
) AS c
LEFT JOIN {{$.DB}}.ga4_refunds AS r ON c.transaction_id = r.transaction_id AND c.transaction_id != ''
SETTINGS join_use_nulls = 1;

-- Per conversion: the last non-direct touch (time, then file and line break
-- ties) and every TikTok touch, both within the lookback window before it.
CREATE OR REPLACE VIEW {{$.DB}}.ga4_conversion_paths{{onCluster}} AS
SELECT
    c.conversion_key AS conversion_key,
    any(c.user_pseudo_id) AS user_pseudo_id,
    any(c.conversion_date) AS conversion_date,
    any(c.conversion_time) AS conversion_time,
    any(c.revenue) AS revenue,
    any(c.currency) AS currency,
    any(c.transaction_id) AS transaction_id,
    argMaxIf(tuple(t.channel, t.campaign_ref, t.adgroup_ref, t.ad_ref, t.ttclid, t.channel_group),
             tuple(t.touch_time, t.file_key, t.line),
             (t.channel != '' AND t.touch_time <= c.conversion_time
              AND t.touch_time >= c.conversion_time - toIntervalDay(s.lookback_days)) AS in_window) AS last_touch,
    arraySort(groupUniqArrayIf(tuple(t.campaign_ref, t.adgroup_ref, t.ad_ref, t.ttclid),
                               in_window AND t.channel = 'tiktok')) AS tiktok_touches
FROM {{$.DB}}.ga4_conversions AS c
CROSS JOIN {{$.DB}}.attribution_config AS s
LEFT JOIN {{$.DB}}.ga4_touches AS t ON c.user_pseudo_id = t.user_pseudo_id
GROUP BY c.conversion_key
SETTINGS join_use_nulls = 0;

-- Order cost of goods: each line at the unit cost of its SKU in the order's
-- currency valid on the order day (the latest valid_from on or before it);
-- without one, at price x (1 - default_margin) rounded half-even to 6
-- decimals; without a default margin the order's cost is unknown (NULL).
-- With refunded_order_cost = drop, a fully refunded order costs nothing
-- (its goods came back).
CREATE OR REPLACE VIEW {{$.DB}}.shop_order_costs{{onCluster}} AS
SELECT
    o.order_id AS order_id,
    if(any(s.refunded_order_cost) = 'drop' AND any(o.refunded) >= any(o.subtotal) AND any(o.subtotal) > 0,
       CAST(0, 'Nullable(Decimal(38, 6))'),
       if(count() = 0 OR countIf(isNull(line_cost)) > 0, NULL, sum(assumeNotNull(line_cost)))) AS cost_of_goods
FROM (
    SELECT o.order_id AS order_id, l.quantity AS quantity, l.price AS price, p.sku AS cost_sku, p.unit_cost AS unit_cost,
        if(cost_sku != '', CAST(quantity * CAST(unit_cost, 'Decimal(38, 6)'), 'Nullable(Decimal(38, 6))'),
           if(isNull(s.default_margin), NULL,
              CAST(roundBankers(quantity * CAST(price, 'Decimal(38, 6)') * (1 - assumeNotNull(s.default_margin)), 6), 'Nullable(Decimal(38, 6))'))) AS line_cost
    FROM (SELECT l.order_id AS order_id, l.sku AS sku, l.quantity AS quantity, l.price AS price, o.currency AS currency, o.order_date AS order_date
          FROM {{$.DB}}.shop_order_lines AS l INNER JOIN {{$.DB}}.shop_orders AS o USING (order_id)) AS l
    INNER JOIN {{$.DB}}.shop_orders AS o USING (order_id)
    ASOF LEFT JOIN {{$.DB}}.product_costs AS p ON l.sku = p.sku AND l.currency = p.currency AND l.order_date >= p.valid_from
    CROSS JOIN {{$.DB}}.attribution_config AS s
    SETTINGS join_use_nulls = 0
) AS x
RIGHT JOIN {{$.DB}}.shop_orders AS o USING (order_id)
CROSS JOIN {{$.DB}}.attribution_config AS s
GROUP BY o.order_id;

-- An order's GA4 purchase: the conversion whose transaction_id is the
-- order's id, its number without "#", or the shop's own order id, with that
-- conversion's path (how an order without campaign parameters finds the
-- visit that brought it).
CREATE OR REPLACE VIEW {{$.DB}}.shop_order_sessions{{onCluster}} AS
SELECT o.order_id AS order_id, argMin(p.last_touch, p.conversion_time) AS last_touch, min(p.conversion_key) AS conversion_key
FROM (
    SELECT order_id, arrayJoin(arrayDistinct(arrayFilter(x -> x != '', [order_id, order_ref, replaceRegexpOne(order_id, '^#', '')]))) AS tx
    FROM {{$.DB}}.shop_orders
) AS o
INNER JOIN {{$.DB}}.ga4_conversion_paths AS p ON p.transaction_id = o.tx
WHERE p.transaction_id != ''
GROUP BY o.order_id;

-- How each order was attributed (docs/attribution.md, "Orders"): its own
-- campaign parameters or click id, its GA4 purchase's session, or nothing.
CREATE OR REPLACE VIEW {{$.DB}}.attribution_order_routes{{onCluster}} AS
SELECT o.order_id AS order_id, o.order_date AS order_date, o.currency AS currency, o.subtotal AS revenue,
    multiIf(o.channel = 'tiktok' AND o.campaign_ref = '' AND o.adgroup_ref = '' AND o.ad_ref = '', 'order_ttclid',
            o.channel = 'tiktok', 'order_utm',
            o.channel = 'other', 'order_other_channel',
            p.order_id = '', 'unattributed',
            p.last_touch.1 = 'tiktok', 'ga4_session_tiktok',
            'ga4_session_other') AS route,
    route IN ('order_ttclid', 'order_utm', 'ga4_session_tiktok') AS credits_tiktok
FROM {{$.DB}}.shop_orders AS o
LEFT JOIN {{$.DB}}.shop_order_sessions AS p USING (order_id)
WHERE o.cancelled = 0 AND o.financial_status IN ('paid', 'partially_paid', 'partially_refunded', 'refunded')
SETTINGS join_use_nulls = 0;

-- Every credit a TikTok reference earns, before matching to entities. Money
-- is Decimal(38, 6) in the credit's own currency.
CREATE OR REPLACE VIEW {{$.DB}}.attribution_credits{{onCluster}} AS
SELECT 'ga4_last_click' AS credit, conversion_key, conversion_date AS credit_date, currency,
       CAST(revenue, 'Nullable(Decimal(38, 6))') AS revenue,
       CAST(0, 'Nullable(Decimal(38, 6))') AS cost_of_goods, CAST(0, 'Decimal(38, 6)') AS refunds, CAST(0, 'Decimal(38, 6)') AS fees,
       last_touch.2 AS campaign_ref, last_touch.3 AS adgroup_ref, last_touch.4 AS ad_ref, last_touch.5 AS ttclid
FROM {{$.DB}}.ga4_conversion_paths WHERE last_touch.1 = 'tiktok'
UNION ALL
SELECT 'ga4_assisted', conversion_key, conversion_date, currency,
       CAST(revenue, 'Nullable(Decimal(38, 6))'), CAST(0, 'Nullable(Decimal(38, 6))'), CAST(0, 'Decimal(38, 6)'), CAST(0, 'Decimal(38, 6)'),
       touch.1, touch.2, touch.3, touch.4
FROM {{$.DB}}.ga4_conversion_paths ARRAY JOIN tiktok_touches AS touch WHERE last_touch.1 = 'other'
UNION ALL
SELECT 'crm', concat('crm:', deal_id), assumeNotNull(close_date), currency,
       CAST(amount, 'Nullable(Decimal(38, 6))'), CAST(0, 'Nullable(Decimal(38, 6))'), CAST(0, 'Decimal(38, 6)'), CAST(0, 'Decimal(38, 6)'),
       campaign_ref, adgroup_ref, ad_ref, ttclid
FROM {{$.DB}}.crm_deals WHERE is_won = 1 AND channel = 'tiktok' AND isNotNull(close_date)
UNION ALL
SELECT 'shop', concat('shop:', o.order_id), o.order_date, o.currency,
       CAST(o.subtotal, 'Nullable(Decimal(38, 6))'), CAST(c.cost_of_goods, 'Nullable(Decimal(38, 6))'),
       CAST(o.refunded, 'Decimal(38, 6)'),
       CAST(o.fees + s.fee_per_order + roundBankers(CAST(o.subtotal, 'Decimal(38, 6)') * s.fee_percent / 100, 6), 'Decimal(38, 6)'),
       if(r.route = 'ga4_session_tiktok', p.last_touch.2, o.campaign_ref), if(r.route = 'ga4_session_tiktok', p.last_touch.3, o.adgroup_ref),
       if(r.route = 'ga4_session_tiktok', p.last_touch.4, o.ad_ref), if(r.route = 'ga4_session_tiktok', p.last_touch.5, o.ttclid)
FROM {{$.DB}}.shop_orders AS o
INNER JOIN {{$.DB}}.attribution_order_routes AS r USING (order_id)
LEFT JOIN {{$.DB}}.shop_order_costs AS c USING (order_id)
LEFT JOIN {{$.DB}}.shop_order_sessions AS p USING (order_id)
CROSS JOIN {{$.DB}}.attribution_config AS s
WHERE r.credits_tiktok
SETTINGS join_use_nulls = 0;

-- How a UTM reference finds a TikTok entity: by id, or by a name that exactly
-- one entity of the level carries.
CREATE OR REPLACE VIEW {{$.DB}}.entity_refs{{onCluster}} AS
SELECT 'campaign' AS level, 'id' AS kind, campaign_id AS ref, advertiser_id, campaign_id, '' AS adgroup_id, '' AS ad_id
FROM {{$.DB}}.campaigns FINAL
UNION ALL
SELECT 'campaign', 'name', campaign_name, any(advertiser_id), any(campaign_id), '', ''
FROM {{$.DB}}.campaigns FINAL WHERE campaign_name != '' GROUP BY campaign_name HAVING uniqExact(advertiser_id, campaign_id) = 1
UNION ALL
SELECT 'adgroup', 'id', adgroup_id, advertiser_id, campaign_id, adgroup_id, ''
FROM {{$.DB}}.adgroups FINAL
UNION ALL
SELECT 'adgroup', 'name', adgroup_name, any(advertiser_id), any(campaign_id), any(adgroup_id), ''
FROM {{$.DB}}.adgroups FINAL WHERE adgroup_name != '' GROUP BY adgroup_name HAVING uniqExact(advertiser_id, adgroup_id) = 1
UNION ALL
SELECT 'ad', 'id', ad_id, advertiser_id, campaign_id, adgroup_id, ad_id
FROM {{$.DB}}.ads FINAL
UNION ALL
SELECT 'ad', 'name', ad_name, any(advertiser_id), any(campaign_id), any(adgroup_id), any(ad_id)
FROM {{$.DB}}.ads FINAL WHERE ad_name != '' GROUP BY ad_name HAVING uniqExact(advertiser_id, ad_id) = 1;

-- The first GA4 touch of a ttclid that names a campaign, ad group or ad lends
-- its references to credits that carry only that ttclid.
CREATE OR REPLACE VIEW {{$.DB}}.ttclid_refs{{onCluster}} AS
SELECT ttclid, argMin(tuple(campaign_ref, adgroup_ref, ad_ref), tuple(touch_time, file_key, line)) AS refs
FROM {{$.DB}}.ga4_touches
WHERE ttclid != '' AND (campaign_ref != '' OR adgroup_ref != '' OR ad_ref != '')
GROUP BY ttclid;

-- Credits with their TikTok entity: the most specific match wins (ad, then ad
-- group, then campaign); an unmatched credit keeps empty ids.
CREATE OR REPLACE VIEW {{$.DB}}.attribution_matched{{onCluster}} AS
WITH (SELECT match_by FROM {{$.DB}}.attribution_config) AS mb
SELECT
    x.credit AS credit, x.conversion_key AS conversion_key, x.credit_date AS credit_date, x.currency AS currency,
    x.revenue AS revenue, x.cost_of_goods AS cost_of_goods, x.refunds AS refunds, x.fees AS fees,
    x.campaign_ref AS campaign_ref, x.adgroup_ref AS adgroup_ref, x.ad_ref AS ad_ref, x.ttclid AS ttclid,
    multiIf(ad.ad_id != '', ad.advertiser_id, ag.adgroup_id != '', ag.advertiser_id, cp.advertiser_id) AS advertiser_id,
    multiIf(ad.ad_id != '', ad.campaign_id, ag.adgroup_id != '', ag.campaign_id, cp.campaign_id) AS campaign_id,
    multiIf(ad.ad_id != '', ad.adgroup_id, ag.adgroup_id) AS adgroup_id,
    ad.ad_id AS ad_id
FROM (
    SELECT c.*,
        if(c.campaign_ref = '' AND c.adgroup_ref = '' AND c.ad_ref = '', t.refs, tuple(c.campaign_ref, c.adgroup_ref, c.ad_ref)) AS eff
    FROM {{$.DB}}.attribution_credits AS c
    LEFT JOIN {{$.DB}}.ttclid_refs AS t ON c.ttclid = t.ttclid AND c.ttclid != ''
) AS x
LEFT JOIN (SELECT * FROM {{$.DB}}.entity_refs WHERE level = 'ad' AND (kind = mb OR mb = 'id_or_name') ORDER BY ref, kind = 'id' DESC LIMIT 1 BY ref) AS ad
    ON x.eff.3 = ad.ref
LEFT JOIN (SELECT * FROM {{$.DB}}.entity_refs WHERE level = 'adgroup' AND (kind = mb OR mb = 'id_or_name') ORDER BY ref, kind = 'id' DESC LIMIT 1 BY ref) AS ag
    ON x.eff.2 = ag.ref
LEFT JOIN (SELECT * FROM {{$.DB}}.entity_refs WHERE level = 'campaign' AND (kind = mb OR mb = 'id_or_name') ORDER BY ref, kind = 'id' DESC LIMIT 1 BY ref) AS cp
    ON x.eff.1 = cp.ref
SETTINGS join_use_nulls = 0;
{{range $l := levels}}{{if $l.Key}}
-- Per {{$l.Name}} and day, side by side with TikTok's own numbers: sums only,
-- ratios come from queries/ and the export. An attributed conversion counts
-- once per {{$l.Name}} even when several touches of it assisted.
CREATE OR REPLACE VIEW {{$.DB}}.attribution_{{$l.Name}}_daily{{onCluster}} AS
SELECT
    advertiser_id,{{range $l.IDs}} {{.}},{{end}} stat_date, currency,
    sumOrNull(spend) AS spend,
    sum(tiktok_conversions) AS tiktok_conversions,
    sum(tiktok_purchases) AS tiktok_purchases,
    sumOrNull(revenue_tiktok) AS revenue_tiktok,
    sum(ga4_last_click_conversions) AS ga4_last_click_conversions,
    sum(revenue_ga4_last_click) AS revenue_ga4_last_click,
    sum(ga4_assisted_conversions) AS ga4_assisted_conversions,
    sum(revenue_ga4_assisted) AS revenue_ga4_assisted,
    sum(crm_deals) AS crm_deals,
    sum(revenue_crm) AS revenue_crm,
    sum(shop_orders) AS shop_orders,
    sum(revenue_shop) AS revenue_shop,
    if(countIf(cogs_unknown) > 0, NULL, sum(cost_of_goods)) AS cost_of_goods,
    sum(refunds) AS refunds,
    sum(fees) AS fees
FROM (
    SELECT advertiser_id,{{range $l.IDs}} {{.}},{{end}} stat_date, currency,
        CAST(spend, 'Nullable(Decimal(38, 6))') AS spend,
        ifNull(conversion, 0) AS tiktok_conversions, ifNull(complete_payment, 0) AS tiktok_purchases,
        CAST(complete_payment_value, 'Nullable(Decimal(38, 6))') AS revenue_tiktok,
        0 AS ga4_last_click_conversions, CAST(0, 'Decimal(38, 6)') AS revenue_ga4_last_click,
        0 AS ga4_assisted_conversions, CAST(0, 'Decimal(38, 6)') AS revenue_ga4_assisted,
        0 AS crm_deals, CAST(0, 'Decimal(38, 6)') AS revenue_crm,
        0 AS shop_orders, CAST(0, 'Decimal(38, 6)') AS revenue_shop,
        CAST(0, 'Decimal(38, 6)') AS cost_of_goods, 0 AS cogs_unknown, CAST(0, 'Decimal(38, 6)') AS refunds, CAST(0, 'Decimal(38, 6)') AS fees
    FROM {{$.DB}}.{{$l.Name}}_stats_daily
    UNION ALL
    SELECT advertiser_id,{{range $l.IDs}} {{.}},{{end}} credit_date, currency,
        NULL, 0, 0, NULL,
        credit = 'ga4_last_click', if(credit = 'ga4_last_click', ifNull(revenue, 0), 0),
        credit = 'ga4_assisted', if(credit = 'ga4_assisted', ifNull(revenue, 0), 0),
        credit = 'crm', if(credit = 'crm', ifNull(revenue, 0), 0),
        credit = 'shop', if(credit = 'shop', ifNull(revenue, 0), 0),
        ifNull(cost_of_goods, 0), isNull(cost_of_goods), refunds, fees
    FROM (SELECT * FROM {{$.DB}}.attribution_matched ORDER BY credit, conversion_key, advertiser_id,{{range $l.IDs}} {{.}},{{end}} ttclid
          LIMIT 1 BY credit, conversion_key, advertiser_id{{range $l.IDs}}, {{.}}{{end}})
)
GROUP BY advertiser_id,{{range $l.IDs}} {{.}},{{end}} stat_date, currency;
{{end}}{{end}}

-- Rates that convert one currency into another: each imported rate, and its
-- inverse pair (to divide by); on a day with both, the imported direction
-- wins. metrics.ExchangeRates.Convert follows the same rule.
CREATE OR REPLACE VIEW {{$.DB}}.fx_conversions{{onCluster}} AS
SELECT rate_date, from_currency, to_currency, rate, inverse
FROM (
    SELECT rate_date, base AS from_currency, quote AS to_currency, rate, 0 AS inverse FROM {{$.DB}}.fx_rates
    UNION ALL
    SELECT rate_date, quote, base, rate, 1 FROM {{$.DB}}.fx_rates
)
ORDER BY rate_date, from_currency, to_currency, inverse
LIMIT 1 BY rate_date, from_currency, to_currency;
{{range $l := levels}}{{if $l.Key}}
-- Per {{$l.Name}} and day in attribution_settings.reporting_currency: each
-- currency's amounts of the day convert at the day's rate, or the latest of
-- the {{rateMaxAge}} days before (metrics.RateMaxAge), and then add up. An amount
-- without a rate is unknown (NULL), and so is the day's total of that
-- column; source_currencies lists what was converted. Empty without a
-- reporting currency.
CREATE OR REPLACE VIEW {{$.DB}}.attribution_{{$l.Name}}_daily_reporting{{onCluster}} AS
SELECT
    advertiser_id,{{range $l.IDs}} {{.}},{{end}} stat_date, any(rc) AS currency,
{{- range attributionMoney}}
    if(max(unknown_{{.}}){{if eq . "cost_of_goods"}} OR countIf(isNull({{.}})) > 0{{end}}, NULL, sumOrNull(converted_{{.}})) AS {{.}},
{{- end}}
{{- range attributionCounts}}
    sum({{.}}) AS {{.}},
{{- end}}
    arraySort(groupUniqArray(source_currency)) AS source_currencies
FROM (
    SELECT a.*,
        ifNull(r.rate, 1) AS rate, ifNull(r.inverse, 0) AS inverse,
        isNull(r.rate) OR a.stat_date > r.rate_date + {{rateMaxAge}} AS no_rate,
{{- range attributionMoney}}
        {{fxConverted .}} AS converted_{{.}},
        {{fxUnknown .}} AS unknown_{{.}},
{{- end}}
        a.source_currency AS source_currency
    FROM (
        SELECT *, currency AS source_currency, (SELECT reporting_currency FROM {{$.DB}}.attribution_config) AS rc
        FROM {{$.DB}}.attribution_{{$l.Name}}_daily
    ) AS a
    ASOF LEFT JOIN {{$.DB}}.fx_conversions AS r
        ON a.source_currency = r.from_currency AND a.rc = r.to_currency AND a.stat_date >= r.rate_date
    WHERE a.rc != ''
    SETTINGS join_use_nulls = 1
)
GROUP BY advertiser_id,{{range $l.IDs}} {{.}},{{end}} stat_date;
{{end}}{{end}}

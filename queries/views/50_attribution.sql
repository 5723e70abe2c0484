-- BI: TikTok-reported, GA4 last-click, GA4 assisted, CRM and shop results side
-- by side per level and local day, with each ROAS (rules: docs/attribution.md).
-- Ratios come from queries.AttributionRatios through MetricSQL, so they equal
-- the Go metrics digit for digit.
{{range $l := drillLevels}}
CREATE OR REPLACE VIEW {{$.DB}}.bi_attribution_{{$l.Name}}_daily{{onCluster}}{{definer}} AS
SELECT
    a.*,
    ifNull(c.campaign_name, '') AS campaign_name,
{{attributionRatioColumns "    "}},
    if(isNull(cost_of_goods), NULL, revenue_shop - cost_of_goods - refunds - fees) AS gross_margin
FROM {{$.DB}}.attribution_{{$l.Name}}_daily AS a
LEFT JOIN (SELECT advertiser_id, campaign_id, campaign_name FROM {{$.DB}}.campaigns FINAL) AS c
    ON a.advertiser_id = c.advertiser_id AND a.campaign_id = c.campaign_id
SETTINGS join_use_nulls = 1
COMMENT 'BI: attribution comparison per {{$l.Name}} and local day';

CREATE OR REPLACE VIEW {{$.DB}}.bi_attribution_{{$l.Name}}_daily_reporting{{onCluster}}{{definer}} AS
SELECT
    a.*,
    ifNull(c.campaign_name, '') AS campaign_name,
{{attributionRatioColumns "    "}},
    if(isNull(cost_of_goods) OR isNull(revenue_shop) OR isNull(refunds) OR isNull(fees), NULL, revenue_shop - cost_of_goods - refunds - fees) AS gross_margin
FROM {{$.DB}}.attribution_{{$l.Name}}_daily_reporting AS a
LEFT JOIN (SELECT advertiser_id, campaign_id, campaign_name FROM {{$.DB}}.campaigns FINAL) AS c
    ON a.advertiser_id = c.advertiser_id AND a.campaign_id = c.campaign_id
SETTINGS join_use_nulls = 1
COMMENT 'BI: attribution comparison per {{$l.Name}} and local day, every amount in the reporting currency (empty without one)';
{{end}}

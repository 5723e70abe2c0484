-- Campaign → ad group → ad drill-down. Each level's numbers are TikTok's own
-- report at that level (the campaign, ad group and ad statistics tables), so
-- every row matches Ads Manager; a BI tool filters level and the parent id to
-- drill down. depth is 1 for campaigns, 2 for ad groups, 3 for ads; ids and
-- names below the row's level are ''.
CREATE OR REPLACE VIEW {{.DB}}.bi_drilldown_daily{{onCluster}}{{definer}} AS
{{- range $i, $l := drillLevels}}{{if $i}}
UNION ALL{{end}}
SELECT
    '{{$l.Name}}' AS level,
    toUInt8({{add $i 1}}) AS depth,
    advertiser_id,
    advertiser_name,
    campaign_id,
    campaign_name,
    {{if ge $i 1}}adgroup_id{{else}}'' AS adgroup_id{{end}},
    {{if ge $i 1}}adgroup_name{{else}}'' AS adgroup_name{{end}},
    {{if ge $i 2}}ad_id{{else}}'' AS ad_id{{end}},
    {{if ge $i 2}}ad_name{{else}}'' AS ad_name{{end}},
    stat_date,
    timezone,
    currency,
{{- range sumColumns}}
    {{.}},
{{- end}}
    {{join metricNames ",\n    "}}
FROM {{$.DB}}.bi_{{$l.Name}}_daily
{{- end}}
COMMENT 'BI: campaign > ad group > ad drill-down by local day; filter level and the parent id';

-- The same drill-down over a period, with metrics as ratios of the period's
-- sums: SELECT * FROM bi_drilldown(date_from = '2024-05-01', date_to = '2024-05-31').
CREATE OR REPLACE VIEW {{.DB}}.bi_drilldown{{onCluster}}{{definer}} AS
SELECT
    level,
    depth,
    advertiser_id,
    advertiser_name,
    campaign_id,
    campaign_name,
    adgroup_id,
    adgroup_name,
    ad_id,
    ad_name,
    timezone,
    currency,
    date_from,
    date_to,
{{- range sumColumns}}
    {{.}},
{{- end}}
{{metricColumns "    "}}
FROM
(
    SELECT
        level,
        depth,
        advertiser_id,
        any(advertiser_name) AS advertiser_name,
        campaign_id,
        any(campaign_name) AS campaign_name,
        adgroup_id,
        any(adgroup_name) AS adgroup_name,
        ad_id,
        any(ad_name) AS ad_name,
        any(timezone) AS timezone,
        currency,
        {date_from:Date} AS date_from,
        {date_to:Date} AS date_to,
{{- range $i, $c := sumColumns}}{{if $i}},{{end}}
        sum({{$c}}) AS {{$c}}
{{- end}}
    FROM {{.DB}}.bi_drilldown_daily
    WHERE stat_date BETWEEN {date_from:Date} AND {date_to:Date}
    GROUP BY level, depth, advertiser_id, campaign_id, adgroup_id, ad_id, currency
)
COMMENT 'BI: the drill-down over a period: bi_drilldown(date_from = ..., date_to = ...), metrics as ratios of the period sums';

-- Performance views: one per level (advertiser, campaign, adgroup, ad) and
-- grain (daily, hourly), named bi_<level>_<grain>. Flat and pre-joined with
-- the advertiser's and entities' names, one row per entity and local day (or
-- hour), with every additive sum and every metric.
--
-- They read the one-committed-copy statistics views, so a re-load never makes
-- them drift. Metrics are ratios of the sums at the row's grain; to report a
-- longer period, sum the sum columns and recompute (queries.MetricSQL), never
-- average the metric columns.
{{range $g := grains}}{{range $l := levels}}
CREATE OR REPLACE VIEW {{$.DB}}.bi_{{$l.Name}}_{{$g}}{{onCluster}}{{definer}} AS
SELECT
    s.advertiser_id AS advertiser_id,
    adv.advertiser_name AS advertiser_name,
{{- range entities $l}}
    s.{{.ID}} AS {{.ID}},
    {{.Alias}}.{{.NameColumn}} AS {{.NameColumn}},
{{- end}}
    s.stat_date AS stat_date,
{{- if eq $g "hourly"}}
    s.stat_hour AS stat_hour,
    s.stat_time_utc AS stat_time_utc,
{{- end}}
    s.timezone AS timezone,
    s.currency AS currency,
{{- range sumColumns}}
    s.{{.}} AS {{.}},
{{- end}}
{{metricColumns "    "}}
FROM
(
    SELECT
        advertiser_id,
{{- range $l.IDs}}
        {{.}},
{{- end}}
        stat_date,
{{- if eq $g "hourly"}}
        stat_hour,
        stat_time_utc,
{{- end}}
        timezone,
        currency,
{{- range $i, $c := sumColumns}}{{if $i}},{{end}}
        sum({{$c}}) AS {{$c}}
{{- end}}
    FROM {{$.DB}}.{{statsView $l.Name $g}}
    GROUP BY advertiser_id,{{range $l.IDs}} {{.}},{{end}} stat_date,{{if eq $g "hourly"}} stat_hour, stat_time_utc,{{end}} timezone, currency
) AS s
LEFT JOIN (SELECT advertiser_id, name AS advertiser_name FROM {{$.DB}}.advertisers FINAL) AS adv
    ON adv.advertiser_id = s.advertiser_id
{{- range entities $l}}
LEFT JOIN (SELECT advertiser_id, {{.ID}}, {{.NameColumn}} FROM {{$.DB}}.{{.Table}} FINAL) AS {{.Alias}}
    ON {{.Alias}}.advertiser_id = s.advertiser_id AND {{.Alias}}.{{.ID}} = s.{{.ID}}
{{- end}}
COMMENT 'BI: {{$l.Name}} performance by local {{if eq $g "hourly"}}hour{{else}}day{{end}}, pre-joined names, sums and every metric (ratio of sums at this grain)';
{{end}}{{end}}

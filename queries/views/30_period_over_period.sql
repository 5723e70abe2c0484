-- Period over period: bi_<level>_weekly (ISO weeks, Monday first) and
-- bi_<level>_monthly, one row per entity and period with the period's sums
-- and metrics, the previous period's (prev_*, NULL when the entity had no
-- row then) and the change (*_delta = this − previous; NULL when either is).
-- Periods are of local days in the advertiser's timezone; the current period
-- may be partial: days_with_data says how many days it holds.
--
-- They sum the daily BI tables (bi_<level>_daily, materialised; on a cluster
-- views of the live definitions), which already carry the names: no version
-- filter and no entity join on read.
{{range $p := periods}}{{range $l := levels}}
CREATE OR REPLACE VIEW {{$.DB}}.bi_{{$l.Name}}_{{$p.Name}}{{onCluster}}{{definer}} AS
WITH p AS
(
    SELECT
        advertiser_id,
        any(advertiser_name) AS advertiser_name,
{{- range entities $l}}
        {{.ID}},
        any({{.NameColumn}}) AS {{.NameColumn}},
{{- end}}
        {{$p.Start}}(stat_date) AS period_start,
        {{$p.Add}}(period_start, 1) AS next_start,
        any(timezone) AS timezone,
        currency,
        uniqExact(stat_date) AS days_with_data,
{{- range $i, $c := sumColumns}}{{if $i}},{{end}}
        sum({{$c}}) AS {{$c}}
{{- end}}
    FROM {{$.DB}}.bi_{{$l.Name}}_daily
    GROUP BY advertiser_id,{{range $l.IDs}} {{.}},{{end}} period_start, currency
)
SELECT
    cur.advertiser_id AS advertiser_id,
    cur.advertiser_name AS advertiser_name,
{{- range entities $l}}
    cur.{{.ID}} AS {{.ID}},
    cur.{{.NameColumn}} AS {{.NameColumn}},
{{- end}}
    cur.period_start AS period_start,
    {{$p.Add}}(cur.period_start, 1) - 1 AS period_end,
    {{$p.Add}}(cur.period_start, -1) AS prev_period_start,
    cur.timezone AS timezone,
    cur.currency AS currency,
    cur.days_with_data AS days_with_data,
{{- range sumColumns}}
    cur.{{.}} AS {{.}},
{{- end}}
{{metricColumnsOver "cur." "" "    "}},
{{- range sumColumns}}
    prev.{{.}} AS prev_{{.}},
{{- end}}
{{metricColumnsOver "prev." "prev_" "    "}},
{{- range sumColumns}}
    cur.{{.}} - prev.{{.}} AS {{.}}_delta,
{{- end}}
{{- range $i, $m := metricNames}}{{if $i}},{{end}}
    {{$m}} - prev_{{$m}} AS {{$m}}_delta
{{- end}}
FROM p AS cur
LEFT JOIN p AS prev
    ON prev.advertiser_id = cur.advertiser_id{{range $l.IDs}} AND prev.{{.}} = cur.{{.}}{{end}}
    AND prev.currency = cur.currency AND prev.next_start = cur.period_start
COMMENT 'BI: {{$l.Name}} {{$p.Name}} over {{$p.Name}}: sums and metrics of the period, prev_* of the one before, *_delta the change';
{{end}}{{end}}

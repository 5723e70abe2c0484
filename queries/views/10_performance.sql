-- Performance views: one per level (advertiser, campaign, adgroup, ad) and
-- grain (daily, hourly), named bi_<level>_<grain>. Flat and pre-joined with
-- the advertiser's and entities' names, one row per entity and local day (or
-- hour), with every additive sum and every metric.
--
-- They read the one-committed-copy statistics (the daily ones through the
-- rollups of 05_rollups.sql where a build of the committed window exists), so
-- a re-load never makes them drift. Metrics are ratios of the sums at the row's grain; to report a
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
{{- if eq $g "hourly"}}
    FROM {{$.DB}}.{{statsView $l.Name $g}}
{{- else}}
    FROM
    (
        SELECT
            advertiser_id,{{range $l.IDs}} {{.}},{{end}} stat_date, timezone, currency,
{{- range sumColumns}}
            {{.}},
{{- end}}
            'rollup' AS source,
            build_version AS version
        FROM {{$.DB}}.{{rollupTable $l.Name}}
        UNION ALL
        SELECT
            advertiser_id,{{range $l.IDs}} {{.}},{{end}} stat_date, timezone, currency,
{{- range sumColumns}}
            {{.}},
{{- end}}
            'live' AS source,
            load_version AS version
        FROM {{$.DB}}.{{statsTable $l.Name $g}}
    )
    -- One set decides every (advertiser, day): the complete rollup build of
    -- the window committed now, or else that window's batches, summed live.
    -- A build counts one second after its marker, when its rows are surely in
    -- any snapshot a query takes.
    WHERE (advertiser_id, stat_date, source, version) IN (
        SELECT advertiser_id, stat_date, if(build = 0, 'live', 'rollup'), arrayJoin(if(build = 0, batch_versions, [build]))
        FROM
        (
            SELECT c.advertiser_id AS advertiser_id, c.stat_date AS stat_date, c.batch_versions AS batch_versions, ifNull(b.build, 0) AS build
            FROM
            (
                SELECT advertiser_id, stat_date, max(window_version) AS committed_version, argMax(batch_versions, window_version) AS batch_versions
                FROM {{$.DB}}.load_commits
                WHERE table_name = '{{statsTable $l.Name $g}}'
                GROUP BY advertiser_id, stat_date
            ) AS c
            LEFT JOIN
            (
                SELECT advertiser_id, stat_date, window_version, max(build_version) AS build
                FROM {{$.DB}}.rollup_builds
                WHERE rollup_name = '{{rollupTable $l.Name}}' AND built_at < now64(3) - toIntervalSecond(1)
                GROUP BY advertiser_id, stat_date, window_version
            ) AS b
            ON b.advertiser_id = c.advertiser_id AND b.stat_date = c.stat_date AND b.window_version = c.committed_version
        )
    )
{{- end}}
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

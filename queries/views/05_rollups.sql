-- Rollups: the daily performance views' sums, materialised per entity and
-- local day by queries.Refresh, never by a materialized view on the load_*
-- tables (a re-load would be counted twice there).
--
-- A build reads one committed window version of one (advertiser, day) and
-- writes its rows under a fresh build_version; only then does it record the
-- build in rollup_builds. bi_<level>_daily serves an (advertiser, day) from a
-- rollup build only when that build was made from the window version
-- load_commits holds as committed now, and computes it live from the load_*
-- rows otherwise: a stale, missing, partial or duplicated build is never
-- read, so a re-load makes the view slower until the next refresh, never
-- wrong.
{{range $l := levels}}
CREATE TABLE IF NOT EXISTS {{local (rollupTable $l.Name)}}{{onCluster}}
(
    advertiser_id  String,
{{- range $l.IDs}}
    {{.}} String,
{{- end}}
    stat_date      Date COMMENT 'day in the advertiser timezone',
    timezone       LowCardinality(String),
    currency       LowCardinality(String),
{{- range sumColumns}}
    {{.}} {{sumType .}},
{{- end}}
    window_version UInt64 COMMENT 'the committed window (load_commits) the sums were built from',
    build_version  UInt64 COMMENT 'the refresh that wrote the row; rollup_builds names the complete ones',
    built_at       DateTime64(3, 'UTC')
)
ENGINE = {{engine "MergeTree" ""}}
PARTITION BY toYYYYMM(stat_date)
ORDER BY (advertiser_id, stat_date{{range $l.IDs}}, {{.}}{{end}}, build_version)
COMMENT 'the sums of bi_{{$l.Name}}_daily, materialised by queries.Refresh; read through bi_{{$l.Name}}_daily only';
{{distributed (rollupTable $l.Name) "cityHash64(advertiser_id)"}}
{{end}}
CREATE TABLE IF NOT EXISTS {{local "rollup_builds"}}{{onCluster}}
(
    rollup_name    LowCardinality(String) COMMENT 'the rollup table, e.g. rollup_campaign_daily',
    advertiser_id  String,
    stat_date      Date,
    window_version UInt64 COMMENT 'the committed window (load_commits) the build was made from',
    build_version  UInt64 COMMENT 'the rows of the rollup that make up the build',
    row_count      UInt64,
    built_at       DateTime64(3, 'UTC') COMMENT 'written after every row of the build'
)
ENGINE = {{engine "ReplacingMergeTree" "window_version"}}
ORDER BY (rollup_name, advertiser_id, stat_date)
COMMENT 'complete rollup builds: which build of which window version each rollup holds for an advertiser and day';
{{distributed "rollup_builds" "cityHash64(advertiser_id)"}}

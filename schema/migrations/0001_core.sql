-- Entities: the latest state of each advertiser, campaign, ad group and ad,
-- keyed by id (ReplacingMergeTree on load_version: read with FINAL or argMax).
-- Deleted entities are kept, so history of spend on deleted ads stays joinable.
-- History of changes IS kept: each *_history table has one row per distinct
-- modify_time of an entity, filled by a materialized view; re-loading the same
-- state replaces itself, so history never duplicates.

CREATE TABLE IF NOT EXISTS {{local "advertisers"}}{{onCluster}}
(
    advertiser_id    String,
    name             String,
    currency         LowCardinality(String),
    timezone         LowCardinality(String) COMMENT 'IANA zone report days are in (Etc/GMT+8 means UTC-8)',
    display_timezone LowCardinality(String),
    country          LowCardinality(String),
    status           LowCardinality(String),
    create_time      Nullable(DateTime('UTC')),
{{- template "entity_load" }}
)
ENGINE = {{engine "ReplacingMergeTree" "load_version"}}
ORDER BY advertiser_id;
{{distributed "advertisers" "cityHash64(advertiser_id)"}}

CREATE TABLE IF NOT EXISTS {{local "campaigns"}}{{onCluster}}
(
    advertiser_id    String,
    campaign_id      String,
    campaign_name    String,
    objective_type   LowCardinality(String),
    budget           Nullable(Decimal(18, 6)),
    budget_mode      LowCardinality(String),
    operation_status LowCardinality(String),
    secondary_status LowCardinality(String),
    is_deleted       UInt8,
    create_time      Nullable(DateTime('UTC')),
    modify_time      Nullable(DateTime('UTC')),
{{- template "entity_load" }}
)
ENGINE = {{engine "ReplacingMergeTree" "load_version"}}
ORDER BY (advertiser_id, campaign_id);
{{distributed "campaigns" "cityHash64(advertiser_id)"}}

CREATE TABLE IF NOT EXISTS {{local "adgroups"}}{{onCluster}}
(
    advertiser_id     String,
    campaign_id       String,
    adgroup_id        String,
    adgroup_name      String,
    optimization_goal LowCardinality(String),
    budget            Nullable(Decimal(18, 6)),
    budget_mode       LowCardinality(String),
    operation_status  LowCardinality(String),
    secondary_status  LowCardinality(String),
    is_deleted        UInt8,
    create_time       Nullable(DateTime('UTC')),
    modify_time       Nullable(DateTime('UTC')),
{{- template "entity_load" }}
)
ENGINE = {{engine "ReplacingMergeTree" "load_version"}}
ORDER BY (advertiser_id, adgroup_id);
{{distributed "adgroups" "cityHash64(advertiser_id)"}}

CREATE TABLE IF NOT EXISTS {{local "ads"}}{{onCluster}}
(
    advertiser_id    String,
    campaign_id      String,
    adgroup_id       String,
    ad_id            String,
    ad_name          String,
    landing_page_url String,
    operation_status LowCardinality(String),
    secondary_status LowCardinality(String),
    is_deleted       UInt8,
    create_time      Nullable(DateTime('UTC')),
    modify_time      Nullable(DateTime('UTC')),
{{- template "entity_load" }}
)
ENGINE = {{engine "ReplacingMergeTree" "load_version"}}
ORDER BY (advertiser_id, ad_id);
{{distributed "ads" "cityHash64(advertiser_id)"}}
{{range $e := entities}}
CREATE TABLE IF NOT EXISTS {{local (printf "%s_history" $e.Name)}}{{onCluster}} AS {{local $e.Table}}
ENGINE = {{engine "ReplacingMergeTree" "load_version"}}
ORDER BY (advertiser_id, {{$e.ID}}, ifNull(modify_time, toDateTime(0, 'UTC')))
SETTINGS allow_nullable_key = 1;
{{distributed (printf "%s_history" $e.Name) "cityHash64(advertiser_id)"}}
CREATE MATERIALIZED VIEW IF NOT EXISTS {{local (printf "%s_history_mv" $e.Name)}}{{onCluster}}
TO {{local (printf "%s_history" $e.Name)}}
AS SELECT * FROM {{local $e.Table}};
{{end}}
-- Statistics, one table per level and granularity. Every load of a window
-- writes rows under fresh load_version numbers and then records in
-- load_commits which versions make up each (advertiser, day). The views
-- <level>_stats_<granularity> show only committed versions, so a repeated
-- load, a partial load cut short by an outage, or a re-load in which a row
-- vanished all leave exactly one clean copy in every answer.
{{range $g := grains}}{{range $l := levels}}
CREATE TABLE IF NOT EXISTS {{local (statsTable $l.Name $g)}}{{onCluster}}
(
    advertiser_id          String,
{{- range $l.IDs}}
    {{.}} String,
{{- end}}
{{- if eq $g "hourly"}}{{template "hourly_time"}}{{else}}{{template "daily_time"}}{{end}}
{{- template "stat_metrics"}}
)
-- Plain MergeTree: versions, not merges, decide what is visible. (A
-- Replacing engine keyed on the UTC hour could merge away one of two local
-- hours that a daylight-saving change maps to the same instant.)
ENGINE = {{engine "MergeTree" ""}}
PARTITION BY toYYYYMM(stat_date)
ORDER BY (advertiser_id, stat_date{{if $l.Key}}, {{$l.Key}}{{end}}{{if eq $g "hourly"}}, stat_time_utc{{end}}, load_version);
{{distributed (statsTable $l.Name $g) "cityHash64(advertiser_id)"}}
{{end}}{{end}}
CREATE TABLE IF NOT EXISTS {{local "load_commits"}}{{onCluster}}
(
    table_name     LowCardinality(String),
    advertiser_id  String,
    stat_date      Date,
    window_version UInt64 COMMENT 'assigned when the window load began; the newest window wins',
    batch_versions Array(UInt64) COMMENT 'load_version of every batch that made up the window',
    row_count      UInt64 COMMENT 'rows of this day in the window',
    window_from    Date,
    window_to      Date,
    run_id         String,
    committed_at   DateTime64(3, 'UTC')
)
ENGINE = {{engine "ReplacingMergeTree" "window_version"}}
ORDER BY (table_name, advertiser_id, stat_date);
{{distributed "load_commits" "cityHash64(advertiser_id)"}}
{{range $g := grains}}{{range $l := levels}}
CREATE OR REPLACE VIEW {{$.DB}}.{{statsView $l.Name $g}}{{onCluster}} AS
SELECT * EXCEPT (load_version)
FROM {{$.DB}}.{{statsTable $l.Name $g}}
WHERE (advertiser_id, stat_date, load_version) {{globalIn}} (
    SELECT advertiser_id, stat_date, arrayJoin(argMax(batch_versions, window_version))
    FROM {{$.DB}}.load_commits
    WHERE table_name = '{{statsTable $l.Name $g}}'
    GROUP BY advertiser_id, stat_date
);
{{end}}{{end}}
-- Sync bookkeeping.
CREATE TABLE IF NOT EXISTS {{local "sync_checkpoints"}}{{onCluster}}
(
    advertiser_id String,
    level         LowCardinality(String),
    granularity   LowCardinality(String),
    through_date  Date COMMENT 'every day up to and including this one is durably loaded',
    run_id        String,
    version       UInt64,
    updated_at    DateTime64(3, 'UTC')
)
ENGINE = {{engine "ReplacingMergeTree" "version"}}
ORDER BY (advertiser_id, level, granularity);
{{distributed "sync_checkpoints" "cityHash64(advertiser_id)"}}

CREATE TABLE IF NOT EXISTS {{local "sync_runs"}}{{onCluster}}
(
    run_id        String,
    job           LowCardinality(String) COMMENT 'sync, today, entities, or backfill FROM..TO',
    started_at    DateTime64(3, 'UTC'),
    ended_at      DateTime64(3, 'UTC'),
    advertiser_id String,
    level         LowCardinality(String),
    granularity   LowCardinality(String),
    window_from   Date,
    window_to     Date,
    rows          UInt64,
    api_calls     UInt64,
    retries       UInt64,
    outcome       LowCardinality(String) COMMENT 'ok, failed or abandoned (cancelled before it finished)',
    error         String
)
ENGINE = {{engine "MergeTree" ""}}
PARTITION BY toYYYYMM(started_at)
ORDER BY (started_at, run_id, advertiser_id);
{{distributed "sync_runs" "rand()"}}

CREATE TABLE IF NOT EXISTS {{local "reconciliation"}}{{onCluster}}
(
    advertiser_id     String,
    granularity       LowCardinality(String),
    stat_date         Date,
    level             LowCardinality(String) COMMENT 'the level summed and compared with the advertiser totals',
    currency          LowCardinality(String),
    spend             Decimal(38, 6),
    advertiser_spend  Decimal(38, 6),
    impressions       UInt64,
    advertiser_impressions UInt64,
    clicks            UInt64,
    advertiser_clicks UInt64,
    version           UInt64,
    checked_at        DateTime64(3, 'UTC')
)
ENGINE = {{engine "ReplacingMergeTree" "version"}}
ORDER BY (advertiser_id, granularity, stat_date, level);
{{distributed "reconciliation" "cityHash64(advertiser_id)"}}

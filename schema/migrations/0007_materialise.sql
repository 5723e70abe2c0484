-- Refresh plans of the materialised BI tables (queries/materialise): the days
-- of a table that a refresh rebuilds, with the committed window and batches it
-- rebuilds each from, read once from load_commits. Every step of the refresh
-- reads this plan, so the days it deletes and the days it rebuilds are the
-- same days at the same versions. A plan is only needed while its refresh
-- runs; the TTL clears plans a day later (including those of a refresh that
-- was killed).
CREATE TABLE IF NOT EXISTS {{local "materialise_plan"}}{{onCluster}}
(
    refresh_id     String,
    bi_table       LowCardinality(String),
    advertiser_id  String,
    stat_date      Date,
    window_version UInt64 COMMENT 'the committed window the day is rebuilt from; 0 when the day has no rows any more',
    batch_versions Array(UInt64) COMMENT 'load_version of the batches of that window',
    built          UInt8 COMMENT '1 when the table holds rows of the day, which the rebuild replaces',
    names_only     UInt8 COMMENT '1 when only names changed (a rename, or entities synced after the statistics)',
    committed_at   DateTime64(3, 'UTC') COMMENT 'when that window was committed',
    planned_at     DateTime64(3, 'UTC')
)
ENGINE = {{engine "MergeTree" ""}}
ORDER BY (refresh_id, bi_table, advertiser_id, stat_date)
TTL toDateTime(planned_at) + INTERVAL 1 DAY;
{{distributed "materialise_plan" "cityHash64(advertiser_id)"}}

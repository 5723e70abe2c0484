-- Every commit of every day, as made: load_commits keeps a day's newest
-- commit only (once merged), but a materialised BI table that missed several
-- commits of a day has been stale since the first of them, which is what
-- adhouse_bi_staleness_seconds reports (queries.Pending). The materialized
-- view logs each row inserted into load_commits; the INSERT below logs the
-- commits made before this migration, as far as load_commits still holds
-- them (a commit logged twice, by both or by a migration run again, is one
-- row once merged, and counts once either way). The TTL keeps 35 days, so
-- that reading the log costs a month of commits: a table that has missed
-- commits for longer shows the oldest missed commit still logged (about 35
-- days when syncs run daily).
CREATE TABLE IF NOT EXISTS {{local "load_commit_log"}}{{onCluster}}
(
    table_name     LowCardinality(String),
    advertiser_id  String,
    stat_date      Date,
    window_version UInt64 COMMENT 'the committed window (load_commits.window_version)',
    committed_at   DateTime64(3, 'UTC') COMMENT 'when that window was committed'
)
ENGINE = {{engine "ReplacingMergeTree" ""}}
ORDER BY (table_name, advertiser_id, stat_date, window_version)
TTL toDateTime(committed_at) + INTERVAL 35 DAY;
{{distributed "load_commit_log" "cityHash64(advertiser_id)"}}
CREATE MATERIALIZED VIEW IF NOT EXISTS {{local "load_commit_log_mv"}}{{onCluster}}
TO {{local "load_commit_log"}}
AS SELECT table_name, advertiser_id, stat_date, window_version, committed_at FROM {{local "load_commits"}};

INSERT INTO {{$.DB}}.load_commit_log (table_name, advertiser_id, stat_date, window_version, committed_at)
SELECT table_name, advertiser_id, stat_date, window_version, committed_at FROM {{$.DB}}.load_commits;

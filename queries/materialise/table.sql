-- A materialised BI table: the live definition's columns, as rows. Created
-- under a temporary name, filled, then put in place of bi_<level>_<grain> by
-- an exchange (queries.Ensure), so BI tools never see it empty or half-built.
--
-- Partitions are months: a refresh rebuilds a month at once (REPLACE
-- PARTITION from a staging copy), which is what makes it atomic, and the rows
-- of a month it does not change are carried over as they are, so its cost is
-- the days re-loaded, not the month.
CREATE TABLE {{.DB}}.{{.Name}}
ENGINE = MergeTree
PARTITION BY toYYYYMM(stat_date)
ORDER BY (advertiser_id, stat_date{{range .Level.IDs}}, {{.}}{{end}}{{if eq .Grain "hourly"}}, stat_time_utc{{end}})
SETTINGS lightweight_mutation_projection_mode = 'rebuild'
COMMENT '{{.Comment}}'
EMPTY AS SELECT * FROM {{.DB}}.{{.Live}};

-- window_version is the committed window (load_commits) the rows of a day
-- were built from. MATERIALIZED keeps it out of SELECT *: BI tools see the
-- columns of the definition and nothing else.
ALTER TABLE {{.DB}}.{{.Name}}
    ADD COLUMN window_version UInt64 MATERIALIZED 0 COMMENT 'the committed window version the day was built from (load_commits)';

-- What a refresh compares with load_commits and the entity tables, kept
-- small by ClickHouse itself: the built version of every advertiser and day,
-- and the names of every entity in every month.
ALTER TABLE {{.DB}}.{{.Name}}
    ADD PROJECTION built_days (SELECT advertiser_id, stat_date, min(window_version), max(window_version) GROUP BY advertiser_id, stat_date);

ALTER TABLE {{.DB}}.{{.Name}}
    ADD PROJECTION built_names (SELECT advertiser_id, toYYYYMM(stat_date), advertiser_name{{range entities .Level}}, {{.ID}}, {{.NameColumn}}{{end}}, count()
        GROUP BY advertiser_id, toYYYYMM(stat_date), advertiser_name{{range entities .Level}}, {{.ID}}, {{.NameColumn}}{{end}});

-- A BI table, bi_<level>_<grain>: the rows of its live definition with their
-- metrics (the "performance" partial), and the window each day was built
-- from. BI tools read it directly, not through a view: ClickHouse plans every
-- column of a view at every query that reads it (the exact metrics are about
-- 130 expressions of half-even rounding), and a query through even a view
-- that only renames a table plans more slowly than on the table (a month by
-- campaign with its metrics at 10M ad-days: EXPLAIN PLAN 95 against 75 ms).
-- Created under a temporary name, filled, then put in place by a rename or
-- an exchange (queries.Ensure), so BI tools never see it empty or
-- half-built.
--
-- Partitions are months of a sixteenth of the advertisers: a refresh
-- rebuilds a partition at once (REPLACE PARTITION from a staging copy), which
-- is what makes it atomic, and the rows of a partition it does not change are
-- carried over as they are (hard links, and a mask over the days it
-- rebuilds), so its cost is the days re-loaded, plus a pass over the
-- planned partitions' keys: not the table, nor all advertisers' month.
--
-- A rebuild's INSERT (one a month) writes a part per partition. Parts
-- under 128 MiB are compact (one file for all columns) rather than wide (two
-- files per column and null map, each written through its own 1 MiB
-- buffers): a month of ten advertisers' ad rows allocated 1.4 GB of write
-- buffers wide and 0.1 GB compact, and took 40 % less time to build. Merges
-- still make wide parts of anything larger.
CREATE TABLE {{.DB}}.{{.Name}}
ENGINE = MergeTree
PARTITION BY (toYYYYMM(stat_date), {{bucket}})
ORDER BY (advertiser_id, stat_date{{range .Level.IDs}}, {{.}}{{end}}{{if eq .Grain "hourly"}}, stat_time_utc{{end}})
SETTINGS lightweight_mutation_projection_mode = 'rebuild', min_bytes_for_wide_part = 134217728
COMMENT '{{.Comment}}'
EMPTY AS
{{- template "performance" .Perf}};

-- window_version is the committed window (load_commits) the rows of a day
-- were built from.
ALTER TABLE {{.DB}}.{{.Name}}
    ADD COLUMN window_version UInt64 COMMENT 'the committed window the day was built from (load_commits)';

-- What a refresh compares with load_commits and the entity tables, kept
-- small by ClickHouse itself: the built window of every advertiser and day,
-- and the names of every entity in every month.
ALTER TABLE {{.DB}}.{{.Name}}
    ADD PROJECTION built_days (SELECT advertiser_id, stat_date, min(window_version), max(window_version) GROUP BY advertiser_id, stat_date);

ALTER TABLE {{.DB}}.{{.Name}}
    ADD PROJECTION built_names (SELECT advertiser_id, toYYYYMM(stat_date), advertiser_name{{range entities .Level}}, {{.ID}}, {{.NameColumn}}{{end}}, count()
        GROUP BY advertiser_id, toYYYYMM(stat_date), advertiser_name{{range entities .Level}}, {{.ID}}, {{.NameColumn}}{{end}});

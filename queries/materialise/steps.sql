{{- /*
The steps of a refresh (queries.Refresher), one template each. Data: .DB,
.Table (the materialised table), .Stage (its staging copy), .Partition (a
month and an advertiser bucket, as ClickHouse names the partition); query
parameters {refresh}, {from} and {to} name the plan and the days of the
month it rebuilds.
*/ -}}

{{- /* plan records, under one refresh id, every dirty day of .Table with
the committed window and batches to rebuild it from: one consistent read of
load_commits, used by every later step, so the days deleted and the days
rebuilt are the same days at the same versions. */ -}}
{{define "plan"}}
INSERT INTO {{.DB}}.materialise_plan (refresh_id, bi_table, advertiser_id, stat_date, window_version, batch_versions, built, names_only, committed_at, planned_at)
SELECT {refresh:String}, '{{.Table}}', advertiser_id, stat_date, window_version, batch_versions, built, names_only, committed_at, now64(3)
FROM
({{template "dirty" .}}
)
SETTINGS join_use_nulls = 0
{{end}}

{{- /* pending counts what .Table lacks without planning anything: the
dirty days, those only renamed, and the oldest commit not yet in it. */ -}}
{{define "pending"}}
SELECT
    count() AS days,
    countIf(names_only = 1) AS renamed_days,
    minIf(committed_at, names_only = 0 AND committed_at > 0) AS oldest
FROM
({{template "dirty" .}}
)
SETTINGS join_use_nulls = 0
{{end}}

{{- /* partitions lists the partitions (months and advertiser buckets) a
plan touches, and whether the table holds rows of them that the rebuild
must delete first. */ -}}
{{define "partitions"}}
SELECT toYYYYMM(stat_date) AS month, toUInt8({{bucket}}) AS b, min(stat_date), max(stat_date), max(built), max(window_version > 0), count()
FROM {{.DB}}.materialise_plan
WHERE refresh_id = {refresh:String} AND bi_table = '{{.Table}}'
GROUP BY month, b
ORDER BY month, b
{{end}}

{{define "stage"}}
CREATE TABLE {{.DB}}.{{.Stage}} AS {{.DB}}.{{.Table}}
{{end}}

{{- /* copy brings the partition's parts into the stage: hard links, not a
copy of the data. */ -}}
{{define "copy"}}
ALTER TABLE {{.DB}}.{{.Stage}} ATTACH PARTITION ID '{{.Partition}}' FROM {{.DB}}.{{.Table}}
{{end}}

{{- /* forget masks the planned days of the stage (a lightweight delete:
it writes which rows are gone, not the parts again). */ -}}
{{define "forget"}}
DELETE FROM {{.DB}}.{{.Stage}}
WHERE stat_date BETWEEN {from:Date} AND {to:Date}
    AND (advertiser_id, stat_date) IN (
        SELECT advertiser_id, stat_date FROM {{.DB}}.materialise_plan
        WHERE refresh_id = {refresh:String} AND bi_table = '{{.Table}}' AND stat_date BETWEEN {from:Date} AND {to:Date}
    )
{{end}}

{{- /* build inserts the planned days' rows into the stage, each tagged with
the window it was built from. */ -}}
{{define "build"}}
INSERT INTO {{.DB}}.{{.Stage}}
SELECT p.*, w.window_version
FROM
({{template "performance_rows" .Perf}}
) AS p
INNER JOIN
(
    SELECT advertiser_id, stat_date, window_version
    FROM {{.DB}}.materialise_plan
    WHERE refresh_id = {refresh:String} AND bi_table = '{{.Table}}' AND stat_date BETWEEN {from:Date} AND {to:Date} AND window_version > 0
) AS w
    ON w.advertiser_id = p.advertiser_id AND w.stat_date = p.stat_date
{{end}}

{{- /* publish swaps the partition in: one atomic replacement. */ -}}
{{define "publish"}}
ALTER TABLE {{.DB}}.{{.Table}} REPLACE PARTITION ID '{{.Partition}}' FROM {{.DB}}.{{.Stage}}
{{end}}

{{define "drop"}}
DROP TABLE IF EXISTS {{.DB}}.{{.Stage}} SYNC
{{end}}

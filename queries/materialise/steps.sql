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
dirty days, those only renamed, and the oldest commit not yet in it. A day
has lacked its data since the first commit after the one it was built from
(load_commit_log), not since its newest: a day re-committed by every run
while refreshes fail would otherwise look minutes old. A day without such a
logged commit (logged before 0009, or past the log's TTL) counts from its
newest commit. The dirty days are the small side of the join. */ -}}
{{define "pending"}}
SELECT
    count() AS days,
    countIf(names_only = 1) AS renamed_days,
    minIf(since, names_only = 0 AND since > 0) AS oldest
FROM
(
    SELECT
        d.advertiser_id,
        d.stat_date,
        any(d.names_only) AS names_only,
        minIf(l.committed_at, l.window_version > d.built_version) AS first,
        if(first > 0, least(first, any(d.committed_at)), any(d.committed_at)) AS since
    FROM
    (
        SELECT advertiser_id, stat_date, window_version, committed_at
        FROM {{.DB}}.load_commit_log
        WHERE table_name = '{{statsTable .Level.Name .Grain}}'
    ) AS l
    RIGHT JOIN
    ({{template "dirty" .}}
    ) AS d ON l.advertiser_id = d.advertiser_id AND l.stat_date = d.stat_date
    GROUP BY d.advertiser_id, d.stat_date
)
SETTINGS join_use_nulls = 0
{{end}}

{{- /* partitions lists the partitions (months and advertiser buckets) a
plan touches: whether the plan has rows to build (add), and whether the
table holds days the plan does not name (kept: compared day by day, not by
counting, so that a day another refresh removed meanwhile cannot hide one
it must keep), which a rebuild must carry over. A partition without kept
days is rebuilt from nothing: copying it only to mask every row of it cost
a re-loaded quarter 23 s of lightweight deletes. */ -}}
{{define "partitions"}}
SELECT p.month, p.b, p.first, p.last, p.any_rows, p.days, toUInt8(t.unplanned > 0) AS kept
FROM
(
    SELECT toYYYYMM(stat_date) AS month, toUInt8({{bucket}}) AS b, min(stat_date) AS first, max(stat_date) AS last,
        max(window_version > 0) AS any_rows, count() AS days
    FROM {{.DB}}.materialise_plan
    WHERE refresh_id = {refresh:String} AND bi_table = '{{.Table}}'
    GROUP BY month, b
) AS p
LEFT JOIN
(
    SELECT toYYYYMM(stat_date) AS month, toUInt8({{bucket}}) AS b, count() AS unplanned
    FROM
    (
        SELECT advertiser_id, stat_date
        FROM {{.DB}}.{{.Table}}
        WHERE (toYYYYMM(stat_date), toUInt8({{bucket}})) IN (SELECT toYYYYMM(stat_date), toUInt8({{bucket}}) FROM {{.DB}}.materialise_plan WHERE refresh_id = {refresh:String} AND bi_table = '{{.Table}}')
        GROUP BY advertiser_id, stat_date
    )
    WHERE (advertiser_id, stat_date) NOT IN (SELECT advertiser_id, stat_date FROM {{.DB}}.materialise_plan WHERE refresh_id = {refresh:String} AND bi_table = '{{.Table}}')
    GROUP BY month, b
) AS t USING (month, b)
ORDER BY p.month, p.b
SETTINGS join_use_nulls = 0
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

{{- /* build inserts the planned days' rows, with their metrics, into the
stage, each tagged with the window it was built from. */ -}}
{{define "build"}}
INSERT INTO {{.DB}}.{{.Stage}}
SELECT p.*, w.window_version
FROM
({{template "performance" .Perf}}
) AS p
INNER JOIN
(
    SELECT advertiser_id, stat_date, window_version
    FROM {{.DB}}.materialise_plan
    WHERE refresh_id = {refresh:String} AND bi_table = '{{.Table}}' AND stat_date BETWEEN {from:Date} AND {to:Date} AND window_version > 0
) AS w
    ON w.advertiser_id = p.advertiser_id AND w.stat_date = p.stat_date
{{end}}

{{- /* publish swaps the partition in: one atomic replacement. A partition
rebuilt from nothing whose planned days all vanished has no part in the
stage, and replacing the table's with none is what it means. */ -}}
{{define "publish"}}
ALTER TABLE {{.DB}}.{{.Table}} REPLACE PARTITION ID '{{.Partition}}' FROM {{.DB}}.{{.Stage}}
SETTINGS allow_replace_partition_from_empty_source = 1
{{end}}

{{define "drop"}}
DROP TABLE IF EXISTS {{.DB}}.{{.Stage}} SYNC
{{end}}

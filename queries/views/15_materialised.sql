-- The BI views of performance, bi_<level>_<grain>: the materialised rows
-- (materialised_<level>_<grain>: sums, names, currency and timezone, rebuilt
-- by every sync for the days it committed, queries/materialise.go) with every
-- metric, a ratio of the row's sums, computed on read. A BI query reads one
-- plain MergeTree table: no version filter, no join, no FINAL; one that sums a
-- period and recomputes its ratios never computes the rows' own. The metrics'
-- shared steps are columns of nested SELECTs (queries.MetricStages), because
-- ClickHouse analyses every column of a view at every query that reads it.
--
-- On a cluster nothing is materialised yet: the views read the live
-- definitions.
{{range $g := grains}}{{range $l := levels}}
CREATE OR REPLACE VIEW {{$.DB}}.bi_{{$l.Name}}_{{$g}}{{onCluster}}{{definer}} AS
{{- if clustered}}
SELECT * FROM {{$.DB}}.{{liveView $l.Name $g}}
{{- else}}
{{metricStages (print $.DB "." (materialisedTable $l.Name $g)) "window_version"}}
{{- end}}
COMMENT 'BI: {{$l.Name}} performance by local {{if eq $g "hourly"}}hour{{else}}day{{end}}, pre-joined names, sums and every metric (ratio of sums at this grain)';
{{end}}{{end}}

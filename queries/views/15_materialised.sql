-- The BI views of performance, bi_<level>_<grain>: the materialised rows
-- (materialised_<level>_<grain>: sums, names, currency, timezone and every
-- metric, rebuilt by every sync for the days it committed,
-- queries/materialise.go) but the window each day was built from. A BI query
-- reads one plain MergeTree table: no version filter, no join, no FINAL, and
-- no metric computed on read (ClickHouse would plan every one of them for
-- every query, even one that reads none).
--
-- On a cluster nothing is materialised yet: the views read the live
-- definitions.
{{range $g := grains}}{{range $l := levels}}
CREATE OR REPLACE VIEW {{$.DB}}.bi_{{$l.Name}}_{{$g}}{{onCluster}}{{definer}} AS
{{- if clustered}}
SELECT * FROM {{$.DB}}.{{liveView $l.Name $g}}
{{- else}}
SELECT * EXCEPT (window_version) FROM {{$.DB}}.{{materialisedTable $l.Name $g}}
{{- end}}
COMMENT 'BI: {{$l.Name}} performance by local {{if eq $g "hourly"}}hour{{else}}day{{end}}, pre-joined names, sums and every metric (ratio of sums at this grain)';
{{end}}{{end}}

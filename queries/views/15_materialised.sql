-- The BI tables of performance, bi_<level>_<grain>, are the materialised
-- tables themselves (queries.Ensure creates them, queries/materialise.go):
-- sums, names, currency, timezone and every metric, rebuilt by every sync for
-- the days it committed, and the window each day was built from. A BI query
-- reads one plain MergeTree table: no version filter, no join, no FINAL, no
-- metric computed on read, and no view (materialise/table.sql says why).
--
-- On a cluster nothing is materialised yet: the BI names are views of the
-- live definitions.
{{if clustered}}{{range $g := grains}}{{range $l := levels}}
CREATE OR REPLACE VIEW {{$.DB}}.bi_{{$l.Name}}_{{$g}}{{onCluster}}{{definer}} AS
SELECT * FROM {{$.DB}}.{{liveView $l.Name $g}}
COMMENT 'BI: {{$l.Name}} performance by local {{if eq $g "hourly"}}hour{{else}}day{{end}}, pre-joined names, sums and every metric (ratio of sums at this grain)';
{{end}}{{end}}{{end}}
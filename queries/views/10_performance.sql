-- Performance: one BI table per level (advertiser, campaign, adgroup, ad) and
-- grain (daily, hourly), named bi_<level>_<grain>. Flat and pre-joined with
-- the advertiser's and entities' names, one row per entity and local day (or
-- hour), with every additive sum and every metric.
--
-- live_bi_<level>_<grain> is the definition, computed on read from the
-- one-committed-copy statistics views, so a re-load never makes it drift.
-- bi_<level>_<grain> holds its rows materialised: a plain MergeTree table that
-- every sync rebuilds for the days it committed (queries/materialise.go), so a
-- BI query reads no version filter and no join. On a cluster the tables are not
-- materialised yet: bi_<level>_<grain> is a view of the live definition.
--
-- Metrics are ratios of the sums at the row's grain; to report a longer
-- period, sum the sum columns and recompute (queries.MetricSQL), never average
-- the metric columns.
{{range $g := grains}}{{range $l := levels}}
CREATE OR REPLACE VIEW {{$.DB}}.{{liveView $l.Name $g}}{{onCluster}} AS
{{- template "performance" (perf $l $g)}}
COMMENT 'The live definition of bi_{{$l.Name}}_{{$g}}, computed on read; the table bi_{{$l.Name}}_{{$g}} holds its rows';
{{if clustered}}
CREATE OR REPLACE VIEW {{$.DB}}.bi_{{$l.Name}}_{{$g}}{{onCluster}}{{definer}} AS
SELECT * FROM {{$.DB}}.{{liveView $l.Name $g}}
COMMENT 'BI: {{$l.Name}} performance by local {{if eq $g "hourly"}}hour{{else}}day{{end}}, pre-joined names, sums and every metric (ratio of sums at this grain)';
{{end}}{{end}}{{end}}

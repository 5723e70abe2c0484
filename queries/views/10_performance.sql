-- Performance: the BI tables bi_<level>_<grain>, one per level (advertiser,
-- campaign, adgroup, ad) and grain (daily, hourly). Flat and pre-joined with
-- the advertiser's and entities' names, one row per entity and local day (or
-- hour), with every additive sum and every metric.
--
-- live_bi_<level>_<grain> is their definition, computed on read from the
-- one-committed-copy statistics views, so a re-load never makes it drift.
-- The BI tables hold the same rows materialised (15_materialised.sql), which
-- every sync rebuilds for the days it committed (queries/materialise.go).
--
-- Metrics are ratios of the sums at the row's grain; to report a longer
-- period, sum the sum columns and recompute (queries.MetricSQL), never average
-- the metric columns.
{{range $g := grains}}{{range $l := levels}}
CREATE OR REPLACE VIEW {{$.DB}}.{{liveView $l.Name $g}}{{onCluster}} AS
{{- template "performance" (perf $l $g)}}
COMMENT 'The live definition of bi_{{$l.Name}}_{{$g}}, computed on read; the table bi_{{$l.Name}}_{{$g}} holds its rows';
{{end}}{{end}}

-- The video quartile views (video_views_p25, _p50, _p75, _p100) get columns
-- of their own in every statistics table; until now they were kept in
-- extra_metrics, from where rows loaded before move into the new columns.
{{addStatColumns 3}}

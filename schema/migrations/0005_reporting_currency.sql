-- The currency finance reports in: the bi_attribution_*_daily_reporting
-- views and the export convert every amount into it with the imported
-- exchange rates (docs/attribution.md, "One currency"). Empty: none.
{{alter "attribution_settings" "ADD COLUMN IF NOT EXISTS reporting_currency LowCardinality(String) DEFAULT '' COMMENT 'ISO 4217 code the reporting views convert into; empty for none'"}}

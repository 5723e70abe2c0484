-- Every API request of a run is in sync_runs: a window's row counts its
-- report calls, an advertiser's entities row its entity lists, and the run's
-- own row (level 'run') the calls outside those (discovering advertisers,
-- advertiser info), so sum(api_calls) of a run_id is all of its calls. The
-- maps break each row's api_calls down.
{{alter "sync_runs" "ADD COLUMN IF NOT EXISTS api_calls_by_endpoint Map(LowCardinality(String), UInt64) COMMENT 'api_calls per endpoint: report/integrated/get, campaign/get, adgroup/get, ad/get, advertiser/info, oauth2/advertiser/get' AFTER retries"}}
{{alter "sync_runs" "ADD COLUMN IF NOT EXISTS api_calls_by_outcome Map(LowCardinality(String), UInt64) COMMENT 'api_calls per outcome: ok, rate_limited, advertiser_limited, server_error, timeout, transport_error, malformed, api_error, cancelled' AFTER api_calls_by_endpoint"}}
{{alter "sync_runs" "COMMENT COLUMN level 'advertiser, campaign, adgroup or ad for a window; entities for an advertiser''s entity lists; run for the run''s other calls'"}}
{{alter "sync_runs" "COMMENT COLUMN outcome 'ok, failed, abandoned (cancelled before it finished) or split (TikTok answered 40067: the halves have rows of their own)'"}}

-- Top campaigns by TikTok-reported ROAS in a month.
-- ROAS is complete_payment_value / spend over the whole month (a ratio of
-- sums, half-even to 6 decimals), from bi_campaign_monthly; campaigns below
-- a minimum spend are left out so a lucky 1-cent campaign cannot top the
-- list. Currencies are never mixed: the ranking is per currency.
--
-- clickhouse-client --param_db=adhouse --param_month=2024-05-01 \
--     --param_min_spend=100 --param_top=20 --queries-file top_campaigns_by_roas.sql
SELECT
    currency,
    advertiser_name,
    campaign_id,
    campaign_name,
    spend,
    complete_payment_value,
    roas_tiktok,
    prev_roas_tiktok,
    roas_tiktok_delta,
    row_number() OVER (PARTITION BY currency ORDER BY roas_tiktok DESC, spend DESC, campaign_id) AS rank
FROM {db:Identifier}.bi_campaign_monthly
WHERE period_start = toStartOfMonth({month:Date})
    AND spend >= {min_spend:Decimal(18, 6)}
    AND roas_tiktok IS NOT NULL
ORDER BY currency, rank
LIMIT {top:UInt32} BY currency

-- Creative fatigue: ads whose CTR fell week over week. CTR is clicks /
-- impressions of the whole ISO week (a ratio of sums, half-even to 8
-- decimals, from bi_ad_weekly, where prev_ctr is the week before). An ad is
-- fatigued when this week's CTR is below 80 % of last week's, compared
-- exactly on the sums; ads with fewer than min_impressions in either week are
-- too noisy to judge and left out.
--
-- clickhouse-client --param_db=adhouse --param_week=2024-05-13 \
--     --param_min_impressions=1000 --queries-file creative_fatigue.sql
SELECT
    advertiser_name,
    campaign_name,
    adgroup_name,
    ad_id,
    ad_name,
    period_start AS week,
    prev_impressions,
    impressions,
    prev_ctr,
    ctr,
    ctr_delta,
    toUInt8(clicks * prev_impressions * 5 < prev_clicks * impressions * 4) AS fatigued
FROM {db:Identifier}.bi_ad_weekly
WHERE period_start = toMonday({week:Date})
    AND impressions >= {min_impressions:UInt64}
    AND prev_impressions >= {min_impressions:UInt64}
ORDER BY fatigued DESC, ctr_delta ASC, ad_id

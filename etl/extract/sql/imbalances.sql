-- The recorded days (%[1]s database) whose level sums differ from the
-- advertiser totals: spend by more than the tolerance, impressions or clicks
-- at all; with the account's timezone (to leave today out) and currency.
SELECT r.advertiser_id, r.granularity, r.level, r.stat_date, r.currency,
    toString(r.spend), toString(r.advertiser_spend),
    r.impressions, r.advertiser_impressions, r.clicks, r.advertiser_clicks,
    ifNull(a.timezone, ''), ifNull(a.currency, '')
FROM %[1]s.reconciliation AS r FINAL
LEFT JOIN (SELECT advertiser_id, timezone, currency FROM %[1]s.advertisers FINAL) AS a
    ON a.advertiser_id = r.advertiser_id
WHERE (abs(r.spend - r.advertiser_spend) > toDecimal128({tolerance:String}, 6)
        OR r.impressions != r.advertiser_impressions OR r.clicks != r.advertiser_clicks)
    AND r.stat_date BETWEEN {from:Date} AND {to:Date}
    AND (empty({advertisers:Array(String)}) OR has({advertisers:Array(String)}, r.advertiser_id))
ORDER BY r.advertiser_id, r.granularity, r.level, r.stat_date

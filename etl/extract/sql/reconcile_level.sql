-- One level's daily sums against the advertiser totals over the days a run
-- loaded (%[1]s database, %[2]s granularity, %[3]s level). A FULL JOIN, so
-- that a day with delivery on one side only (a deleted ad TikTok no longer
-- reports at ad level, a window that failed) is recorded as a difference too.
INSERT INTO %[1]s.reconciliation
SELECT advertiser_id, '%[2]s', stat_date, '%[3]s', if(l.currency != '', l.currency, a.currency),
    ifNull(l.spend, 0), ifNull(a.spend, 0), ifNull(l.impressions, 0), ifNull(a.impressions, 0),
    ifNull(l.clicks, 0), ifNull(a.clicks, 0), {version:UInt64}, now64(3)
FROM (
    SELECT advertiser_id, stat_date, any(currency) AS currency,
        sum(spend) AS spend, sum(impressions) AS impressions, sum(clicks) AS clicks
    FROM %[1]s.%[3]s_stats_%[2]s
    WHERE advertiser_id = {adv:String} AND stat_date BETWEEN {from:Date} AND {to:Date}
    GROUP BY advertiser_id, stat_date
) AS l
FULL OUTER JOIN (
    SELECT advertiser_id, stat_date, any(currency) AS currency,
        sum(spend) AS spend, sum(impressions) AS impressions, sum(clicks) AS clicks
    FROM %[1]s.advertiser_stats_%[2]s
    WHERE advertiser_id = {adv:String} AND stat_date BETWEEN {from:Date} AND {to:Date}
    GROUP BY advertiser_id, stat_date
) AS a USING (advertiser_id, stat_date)

-- When each advertiser's last fully successful run ended (%[1]s database):
-- the runs in which none of the advertiser's windows or entity lists failed
-- or was abandoned, and the end of the latest one's last part.
SELECT advertiser_id, max(ended) AS last_success
FROM (
    SELECT advertiser_id, run_id, max(ended_at) AS ended,
        countIf(outcome IN ('failed', 'abandoned')) AS bad
    FROM %[1]s.sync_runs
    WHERE advertiser_id != ''
    GROUP BY advertiser_id, run_id
)
WHERE bad = 0
GROUP BY advertiser_id
ORDER BY advertiser_id

-- The one-copy statistics views: for each level and grain, the rows of the
-- batch versions that the newest committed window of each advertiser and day
-- names (see README, "How loads stay idempotent"). Re-created by every
-- `adhouse migrate`; migration 0001 created the first version of them.
{{range $g := grains}}{{range $l := levels}}
CREATE OR REPLACE VIEW {{$.DB}}.{{statsView $l.Name $g}}{{onCluster}} AS
SELECT * EXCEPT (load_version)
FROM {{$.DB}}.{{statsTable $l.Name $g}}
WHERE (advertiser_id, stat_date, load_version) {{globalIn}} (
    SELECT advertiser_id, stat_date, arrayJoin(argMax(batch_versions, window_version))
    FROM {{$.DB}}.load_commits
    WHERE table_name = '{{statsTable $l.Name $g}}'
    GROUP BY advertiser_id, stat_date
);
{{end}}{{end}}

-- How far the name check of each materialised BI table has looked: a
-- refresh compares the names in a table with the entities' current names
-- only for advertisers with entity rows loaded (load_version, which orders
-- loads by time) after checked_to, since every older entity row was
-- compared by an earlier refresh. checked_to trails the refresh that wrote it
-- by a margin (queries.namesMargin), so a load still in flight while it ran
-- is looked at again. No row yet: the next check reads every advertiser.
CREATE TABLE IF NOT EXISTS {{local "materialise_names"}}{{onCluster}}
(
    bi_table   LowCardinality(String) COMMENT 'the materialised table, e.g. materialised_campaign_daily',
    checked_to UInt64 COMMENT 'entity rows with a lower or equal load_version have been compared with the table',
    checked_at DateTime64(3, 'UTC') COMMENT 'when the refresh that compared them planned'
)
ENGINE = {{engine "ReplacingMergeTree" "checked_to"}}
ORDER BY bi_table;
{{distributed "materialise_names" "cityHash64(bi_table)"}}

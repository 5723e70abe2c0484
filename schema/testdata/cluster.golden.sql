-- Run before every migration: the database and the record of applied migrations.
CREATE DATABASE IF NOT EXISTS adhouse ON CLUSTER `ads_cluster` ENGINE = Atomic;

CREATE TABLE IF NOT EXISTS adhouse.schema_migrations_local ON CLUSTER `ads_cluster`
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', applied_at)
ORDER BY version;

CREATE TABLE IF NOT EXISTS adhouse.schema_migrations ON CLUSTER `ads_cluster` AS adhouse.schema_migrations_local
ENGINE = Distributed(`ads_cluster`, adhouse, schema_migrations_local, version);

-- migration core
-- Entities: the latest state of each advertiser, campaign, ad group and ad,
-- keyed by id (ReplacingMergeTree on load_version: read with FINAL or argMax).
-- Deleted entities are kept, so history of spend on deleted ads stays joinable.
-- History of changes IS kept: each *_history table has one row per distinct
-- modify_time of an entity, filled by a materialized view; re-loading the same
-- state replaces itself, so history never duplicates.

CREATE TABLE IF NOT EXISTS adhouse.advertisers_local ON CLUSTER `ads_cluster`
(
    advertiser_id    String,
    name             String,
    currency         LowCardinality(String),
    timezone         LowCardinality(String) COMMENT 'IANA zone report days are in (Etc/GMT+8 means UTC-8)',
    display_timezone LowCardinality(String),
    country          LowCardinality(String),
    status           LowCardinality(String),
    create_time      Nullable(DateTime('UTC')),
    raw                    String COMMENT 'the entity as TikTok sent it (JSON), so fields without a column are kept',
    load_version           UInt64,
    loaded_at              DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', load_version)
ORDER BY advertiser_id;

CREATE TABLE IF NOT EXISTS adhouse.advertisers ON CLUSTER `ads_cluster` AS adhouse.advertisers_local
ENGINE = Distributed(`ads_cluster`, adhouse, advertisers_local, cityHash64(advertiser_id));

CREATE TABLE IF NOT EXISTS adhouse.campaigns_local ON CLUSTER `ads_cluster`
(
    advertiser_id    String,
    campaign_id      String,
    campaign_name    String,
    objective_type   LowCardinality(String),
    budget           Nullable(Decimal(18, 6)),
    budget_mode      LowCardinality(String),
    operation_status LowCardinality(String),
    secondary_status LowCardinality(String),
    is_deleted       UInt8,
    create_time      Nullable(DateTime('UTC')),
    modify_time      Nullable(DateTime('UTC')),
    raw                    String COMMENT 'the entity as TikTok sent it (JSON), so fields without a column are kept',
    load_version           UInt64,
    loaded_at              DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', load_version)
ORDER BY (advertiser_id, campaign_id);

CREATE TABLE IF NOT EXISTS adhouse.campaigns ON CLUSTER `ads_cluster` AS adhouse.campaigns_local
ENGINE = Distributed(`ads_cluster`, adhouse, campaigns_local, cityHash64(advertiser_id));

CREATE TABLE IF NOT EXISTS adhouse.adgroups_local ON CLUSTER `ads_cluster`
(
    advertiser_id     String,
    campaign_id       String,
    adgroup_id        String,
    adgroup_name      String,
    optimization_goal LowCardinality(String),
    budget            Nullable(Decimal(18, 6)),
    budget_mode       LowCardinality(String),
    operation_status  LowCardinality(String),
    secondary_status  LowCardinality(String),
    is_deleted        UInt8,
    create_time       Nullable(DateTime('UTC')),
    modify_time       Nullable(DateTime('UTC')),
    raw                    String COMMENT 'the entity as TikTok sent it (JSON), so fields without a column are kept',
    load_version           UInt64,
    loaded_at              DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', load_version)
ORDER BY (advertiser_id, adgroup_id);

CREATE TABLE IF NOT EXISTS adhouse.adgroups ON CLUSTER `ads_cluster` AS adhouse.adgroups_local
ENGINE = Distributed(`ads_cluster`, adhouse, adgroups_local, cityHash64(advertiser_id));

CREATE TABLE IF NOT EXISTS adhouse.ads_local ON CLUSTER `ads_cluster`
(
    advertiser_id    String,
    campaign_id      String,
    adgroup_id       String,
    ad_id            String,
    ad_name          String,
    landing_page_url String,
    operation_status LowCardinality(String),
    secondary_status LowCardinality(String),
    is_deleted       UInt8,
    create_time      Nullable(DateTime('UTC')),
    modify_time      Nullable(DateTime('UTC')),
    raw                    String COMMENT 'the entity as TikTok sent it (JSON), so fields without a column are kept',
    load_version           UInt64,
    loaded_at              DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', load_version)
ORDER BY (advertiser_id, ad_id);

CREATE TABLE IF NOT EXISTS adhouse.ads ON CLUSTER `ads_cluster` AS adhouse.ads_local
ENGINE = Distributed(`ads_cluster`, adhouse, ads_local, cityHash64(advertiser_id));

CREATE TABLE IF NOT EXISTS adhouse.campaign_history_local ON CLUSTER `ads_cluster` AS adhouse.campaigns_local
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', load_version)
ORDER BY (advertiser_id, campaign_id, ifNull(modify_time, toDateTime(0, 'UTC')))
SETTINGS allow_nullable_key = 1;

CREATE TABLE IF NOT EXISTS adhouse.campaign_history ON CLUSTER `ads_cluster` AS adhouse.campaign_history_local
ENGINE = Distributed(`ads_cluster`, adhouse, campaign_history_local, cityHash64(advertiser_id));

CREATE MATERIALIZED VIEW IF NOT EXISTS adhouse.campaign_history_mv_local ON CLUSTER `ads_cluster`
TO adhouse.campaign_history_local
AS SELECT * FROM adhouse.campaigns_local;

CREATE TABLE IF NOT EXISTS adhouse.adgroup_history_local ON CLUSTER `ads_cluster` AS adhouse.adgroups_local
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', load_version)
ORDER BY (advertiser_id, adgroup_id, ifNull(modify_time, toDateTime(0, 'UTC')))
SETTINGS allow_nullable_key = 1;

CREATE TABLE IF NOT EXISTS adhouse.adgroup_history ON CLUSTER `ads_cluster` AS adhouse.adgroup_history_local
ENGINE = Distributed(`ads_cluster`, adhouse, adgroup_history_local, cityHash64(advertiser_id));

CREATE MATERIALIZED VIEW IF NOT EXISTS adhouse.adgroup_history_mv_local ON CLUSTER `ads_cluster`
TO adhouse.adgroup_history_local
AS SELECT * FROM adhouse.adgroups_local;

CREATE TABLE IF NOT EXISTS adhouse.ad_history_local ON CLUSTER `ads_cluster` AS adhouse.ads_local
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', load_version)
ORDER BY (advertiser_id, ad_id, ifNull(modify_time, toDateTime(0, 'UTC')))
SETTINGS allow_nullable_key = 1;

CREATE TABLE IF NOT EXISTS adhouse.ad_history ON CLUSTER `ads_cluster` AS adhouse.ad_history_local
ENGINE = Distributed(`ads_cluster`, adhouse, ad_history_local, cityHash64(advertiser_id));

CREATE MATERIALIZED VIEW IF NOT EXISTS adhouse.ad_history_mv_local ON CLUSTER `ads_cluster`
TO adhouse.ad_history_local
AS SELECT * FROM adhouse.ads_local;

-- Statistics, one table per level and granularity. Every load of a window
-- writes rows under fresh load_version numbers and then records in
-- load_commits which versions make up each (advertiser, day). The views
-- <level>_stats_<granularity> show only committed versions, so a repeated
-- load, a partial load cut short by an outage, or a re-load in which a row
-- vanished all leave exactly one clean copy in every answer.

CREATE TABLE IF NOT EXISTS adhouse.load_advertiser_stats_daily_local ON CLUSTER `ads_cluster`
(
    advertiser_id          String,
    stat_date              Date COMMENT 'day in the advertiser timezone',
    timezone               LowCardinality(String) COMMENT 'advertiser IANA timezone the day is in',
    currency               LowCardinality(String) COMMENT 'advertiser account currency, ISO 4217',
    spend                  Nullable(Decimal(18, 6)) COMMENT 'cost in the account currency; NULL where TikTok sent "-"',
    impressions            Nullable(UInt64),
    clicks                 Nullable(UInt64),
    reach                  Nullable(UInt64) COMMENT 'estimated unique users; NOT additive, never sum it',
    conversion             Nullable(UInt64) COMMENT 'optimisation events, attributed to the interaction day',
    real_time_conversion   Nullable(UInt64) COMMENT 'optimisation events, on the event day',
    app_install            Nullable(UInt64) COMMENT 'attributed installs, on the impression/click day',
    real_time_app_install  Nullable(UInt64) COMMENT 'installs on the install day',
    complete_payment       Nullable(UInt64) COMMENT 'purchase count',
    complete_payment_value Nullable(Decimal(18, 6)) COMMENT 'purchase value (TikTok metric total_complete_payment_rate)',
    total_purchase_value   Nullable(Decimal(18, 6)) COMMENT 'app-event purchase value',
    video_play_actions     Nullable(UInt64),
    video_watched_2s       Nullable(UInt64),
    video_watched_6s       Nullable(UInt64),
    likes                  Nullable(UInt64),
    comments               Nullable(UInt64),
    shares                 Nullable(UInt64),
    follows                Nullable(UInt64),
    profile_visits         Nullable(UInt64),
    reported_ctr           Nullable(Decimal(18, 6)) COMMENT 'TikTok''s pre-rounded CTR in percent, as reported; never aggregate',
    reported_cpc           Nullable(Decimal(18, 6)) COMMENT 'as reported, pre-rounded; never aggregate',
    reported_cpm           Nullable(Decimal(18, 6)) COMMENT 'as reported, pre-rounded; never aggregate',
    extra_metrics          Map(String, String) COMMENT 'requested metrics without a column of their own, as TikTok sent them',
    load_version           UInt64 COMMENT 'the load batch that wrote the row; see load_commits',
    loaded_at              DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toYYYYMM(stat_date)
ORDER BY (advertiser_id, stat_date, load_version);

CREATE TABLE IF NOT EXISTS adhouse.load_advertiser_stats_daily ON CLUSTER `ads_cluster` AS adhouse.load_advertiser_stats_daily_local
ENGINE = Distributed(`ads_cluster`, adhouse, load_advertiser_stats_daily_local, cityHash64(advertiser_id));

CREATE TABLE IF NOT EXISTS adhouse.load_campaign_stats_daily_local ON CLUSTER `ads_cluster`
(
    advertiser_id          String,
    campaign_id String,
    stat_date              Date COMMENT 'day in the advertiser timezone',
    timezone               LowCardinality(String) COMMENT 'advertiser IANA timezone the day is in',
    currency               LowCardinality(String) COMMENT 'advertiser account currency, ISO 4217',
    spend                  Nullable(Decimal(18, 6)) COMMENT 'cost in the account currency; NULL where TikTok sent "-"',
    impressions            Nullable(UInt64),
    clicks                 Nullable(UInt64),
    reach                  Nullable(UInt64) COMMENT 'estimated unique users; NOT additive, never sum it',
    conversion             Nullable(UInt64) COMMENT 'optimisation events, attributed to the interaction day',
    real_time_conversion   Nullable(UInt64) COMMENT 'optimisation events, on the event day',
    app_install            Nullable(UInt64) COMMENT 'attributed installs, on the impression/click day',
    real_time_app_install  Nullable(UInt64) COMMENT 'installs on the install day',
    complete_payment       Nullable(UInt64) COMMENT 'purchase count',
    complete_payment_value Nullable(Decimal(18, 6)) COMMENT 'purchase value (TikTok metric total_complete_payment_rate)',
    total_purchase_value   Nullable(Decimal(18, 6)) COMMENT 'app-event purchase value',
    video_play_actions     Nullable(UInt64),
    video_watched_2s       Nullable(UInt64),
    video_watched_6s       Nullable(UInt64),
    likes                  Nullable(UInt64),
    comments               Nullable(UInt64),
    shares                 Nullable(UInt64),
    follows                Nullable(UInt64),
    profile_visits         Nullable(UInt64),
    reported_ctr           Nullable(Decimal(18, 6)) COMMENT 'TikTok''s pre-rounded CTR in percent, as reported; never aggregate',
    reported_cpc           Nullable(Decimal(18, 6)) COMMENT 'as reported, pre-rounded; never aggregate',
    reported_cpm           Nullable(Decimal(18, 6)) COMMENT 'as reported, pre-rounded; never aggregate',
    extra_metrics          Map(String, String) COMMENT 'requested metrics without a column of their own, as TikTok sent them',
    load_version           UInt64 COMMENT 'the load batch that wrote the row; see load_commits',
    loaded_at              DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toYYYYMM(stat_date)
ORDER BY (advertiser_id, stat_date, campaign_id, load_version);

CREATE TABLE IF NOT EXISTS adhouse.load_campaign_stats_daily ON CLUSTER `ads_cluster` AS adhouse.load_campaign_stats_daily_local
ENGINE = Distributed(`ads_cluster`, adhouse, load_campaign_stats_daily_local, cityHash64(advertiser_id));

CREATE TABLE IF NOT EXISTS adhouse.load_adgroup_stats_daily_local ON CLUSTER `ads_cluster`
(
    advertiser_id          String,
    campaign_id String,
    adgroup_id String,
    stat_date              Date COMMENT 'day in the advertiser timezone',
    timezone               LowCardinality(String) COMMENT 'advertiser IANA timezone the day is in',
    currency               LowCardinality(String) COMMENT 'advertiser account currency, ISO 4217',
    spend                  Nullable(Decimal(18, 6)) COMMENT 'cost in the account currency; NULL where TikTok sent "-"',
    impressions            Nullable(UInt64),
    clicks                 Nullable(UInt64),
    reach                  Nullable(UInt64) COMMENT 'estimated unique users; NOT additive, never sum it',
    conversion             Nullable(UInt64) COMMENT 'optimisation events, attributed to the interaction day',
    real_time_conversion   Nullable(UInt64) COMMENT 'optimisation events, on the event day',
    app_install            Nullable(UInt64) COMMENT 'attributed installs, on the impression/click day',
    real_time_app_install  Nullable(UInt64) COMMENT 'installs on the install day',
    complete_payment       Nullable(UInt64) COMMENT 'purchase count',
    complete_payment_value Nullable(Decimal(18, 6)) COMMENT 'purchase value (TikTok metric total_complete_payment_rate)',
    total_purchase_value   Nullable(Decimal(18, 6)) COMMENT 'app-event purchase value',
    video_play_actions     Nullable(UInt64),
    video_watched_2s       Nullable(UInt64),
    video_watched_6s       Nullable(UInt64),
    likes                  Nullable(UInt64),
    comments               Nullable(UInt64),
    shares                 Nullable(UInt64),
    follows                Nullable(UInt64),
    profile_visits         Nullable(UInt64),
    reported_ctr           Nullable(Decimal(18, 6)) COMMENT 'TikTok''s pre-rounded CTR in percent, as reported; never aggregate',
    reported_cpc           Nullable(Decimal(18, 6)) COMMENT 'as reported, pre-rounded; never aggregate',
    reported_cpm           Nullable(Decimal(18, 6)) COMMENT 'as reported, pre-rounded; never aggregate',
    extra_metrics          Map(String, String) COMMENT 'requested metrics without a column of their own, as TikTok sent them',
    load_version           UInt64 COMMENT 'the load batch that wrote the row; see load_commits',
    loaded_at              DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toYYYYMM(stat_date)
ORDER BY (advertiser_id, stat_date, adgroup_id, load_version);

CREATE TABLE IF NOT EXISTS adhouse.load_adgroup_stats_daily ON CLUSTER `ads_cluster` AS adhouse.load_adgroup_stats_daily_local
ENGINE = Distributed(`ads_cluster`, adhouse, load_adgroup_stats_daily_local, cityHash64(advertiser_id));

CREATE TABLE IF NOT EXISTS adhouse.load_ad_stats_daily_local ON CLUSTER `ads_cluster`
(
    advertiser_id          String,
    campaign_id String,
    adgroup_id String,
    ad_id String,
    stat_date              Date COMMENT 'day in the advertiser timezone',
    timezone               LowCardinality(String) COMMENT 'advertiser IANA timezone the day is in',
    currency               LowCardinality(String) COMMENT 'advertiser account currency, ISO 4217',
    spend                  Nullable(Decimal(18, 6)) COMMENT 'cost in the account currency; NULL where TikTok sent "-"',
    impressions            Nullable(UInt64),
    clicks                 Nullable(UInt64),
    reach                  Nullable(UInt64) COMMENT 'estimated unique users; NOT additive, never sum it',
    conversion             Nullable(UInt64) COMMENT 'optimisation events, attributed to the interaction day',
    real_time_conversion   Nullable(UInt64) COMMENT 'optimisation events, on the event day',
    app_install            Nullable(UInt64) COMMENT 'attributed installs, on the impression/click day',
    real_time_app_install  Nullable(UInt64) COMMENT 'installs on the install day',
    complete_payment       Nullable(UInt64) COMMENT 'purchase count',
    complete_payment_value Nullable(Decimal(18, 6)) COMMENT 'purchase value (TikTok metric total_complete_payment_rate)',
    total_purchase_value   Nullable(Decimal(18, 6)) COMMENT 'app-event purchase value',
    video_play_actions     Nullable(UInt64),
    video_watched_2s       Nullable(UInt64),
    video_watched_6s       Nullable(UInt64),
    likes                  Nullable(UInt64),
    comments               Nullable(UInt64),
    shares                 Nullable(UInt64),
    follows                Nullable(UInt64),
    profile_visits         Nullable(UInt64),
    reported_ctr           Nullable(Decimal(18, 6)) COMMENT 'TikTok''s pre-rounded CTR in percent, as reported; never aggregate',
    reported_cpc           Nullable(Decimal(18, 6)) COMMENT 'as reported, pre-rounded; never aggregate',
    reported_cpm           Nullable(Decimal(18, 6)) COMMENT 'as reported, pre-rounded; never aggregate',
    extra_metrics          Map(String, String) COMMENT 'requested metrics without a column of their own, as TikTok sent them',
    load_version           UInt64 COMMENT 'the load batch that wrote the row; see load_commits',
    loaded_at              DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toYYYYMM(stat_date)
ORDER BY (advertiser_id, stat_date, ad_id, load_version);

CREATE TABLE IF NOT EXISTS adhouse.load_ad_stats_daily ON CLUSTER `ads_cluster` AS adhouse.load_ad_stats_daily_local
ENGINE = Distributed(`ads_cluster`, adhouse, load_ad_stats_daily_local, cityHash64(advertiser_id));

CREATE TABLE IF NOT EXISTS adhouse.load_advertiser_stats_hourly_local ON CLUSTER `ads_cluster`
(
    advertiser_id          String,
    stat_date              Date COMMENT 'day in the advertiser timezone',
    stat_hour              UInt8 COMMENT 'hour of the day in the advertiser timezone, 0-23',
    stat_time_utc          DateTime('UTC') COMMENT 'the UTC instant the local hour starts',
    timezone               LowCardinality(String) COMMENT 'advertiser IANA timezone the day and hour are in',
    currency               LowCardinality(String) COMMENT 'advertiser account currency, ISO 4217',
    spend                  Nullable(Decimal(18, 6)) COMMENT 'cost in the account currency; NULL where TikTok sent "-"',
    impressions            Nullable(UInt64),
    clicks                 Nullable(UInt64),
    reach                  Nullable(UInt64) COMMENT 'estimated unique users; NOT additive, never sum it',
    conversion             Nullable(UInt64) COMMENT 'optimisation events, attributed to the interaction day',
    real_time_conversion   Nullable(UInt64) COMMENT 'optimisation events, on the event day',
    app_install            Nullable(UInt64) COMMENT 'attributed installs, on the impression/click day',
    real_time_app_install  Nullable(UInt64) COMMENT 'installs on the install day',
    complete_payment       Nullable(UInt64) COMMENT 'purchase count',
    complete_payment_value Nullable(Decimal(18, 6)) COMMENT 'purchase value (TikTok metric total_complete_payment_rate)',
    total_purchase_value   Nullable(Decimal(18, 6)) COMMENT 'app-event purchase value',
    video_play_actions     Nullable(UInt64),
    video_watched_2s       Nullable(UInt64),
    video_watched_6s       Nullable(UInt64),
    likes                  Nullable(UInt64),
    comments               Nullable(UInt64),
    shares                 Nullable(UInt64),
    follows                Nullable(UInt64),
    profile_visits         Nullable(UInt64),
    reported_ctr           Nullable(Decimal(18, 6)) COMMENT 'TikTok''s pre-rounded CTR in percent, as reported; never aggregate',
    reported_cpc           Nullable(Decimal(18, 6)) COMMENT 'as reported, pre-rounded; never aggregate',
    reported_cpm           Nullable(Decimal(18, 6)) COMMENT 'as reported, pre-rounded; never aggregate',
    extra_metrics          Map(String, String) COMMENT 'requested metrics without a column of their own, as TikTok sent them',
    load_version           UInt64 COMMENT 'the load batch that wrote the row; see load_commits',
    loaded_at              DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toYYYYMM(stat_date)
ORDER BY (advertiser_id, stat_date, stat_time_utc, load_version);

CREATE TABLE IF NOT EXISTS adhouse.load_advertiser_stats_hourly ON CLUSTER `ads_cluster` AS adhouse.load_advertiser_stats_hourly_local
ENGINE = Distributed(`ads_cluster`, adhouse, load_advertiser_stats_hourly_local, cityHash64(advertiser_id));

CREATE TABLE IF NOT EXISTS adhouse.load_campaign_stats_hourly_local ON CLUSTER `ads_cluster`
(
    advertiser_id          String,
    campaign_id String,
    stat_date              Date COMMENT 'day in the advertiser timezone',
    stat_hour              UInt8 COMMENT 'hour of the day in the advertiser timezone, 0-23',
    stat_time_utc          DateTime('UTC') COMMENT 'the UTC instant the local hour starts',
    timezone               LowCardinality(String) COMMENT 'advertiser IANA timezone the day and hour are in',
    currency               LowCardinality(String) COMMENT 'advertiser account currency, ISO 4217',
    spend                  Nullable(Decimal(18, 6)) COMMENT 'cost in the account currency; NULL where TikTok sent "-"',
    impressions            Nullable(UInt64),
    clicks                 Nullable(UInt64),
    reach                  Nullable(UInt64) COMMENT 'estimated unique users; NOT additive, never sum it',
    conversion             Nullable(UInt64) COMMENT 'optimisation events, attributed to the interaction day',
    real_time_conversion   Nullable(UInt64) COMMENT 'optimisation events, on the event day',
    app_install            Nullable(UInt64) COMMENT 'attributed installs, on the impression/click day',
    real_time_app_install  Nullable(UInt64) COMMENT 'installs on the install day',
    complete_payment       Nullable(UInt64) COMMENT 'purchase count',
    complete_payment_value Nullable(Decimal(18, 6)) COMMENT 'purchase value (TikTok metric total_complete_payment_rate)',
    total_purchase_value   Nullable(Decimal(18, 6)) COMMENT 'app-event purchase value',
    video_play_actions     Nullable(UInt64),
    video_watched_2s       Nullable(UInt64),
    video_watched_6s       Nullable(UInt64),
    likes                  Nullable(UInt64),
    comments               Nullable(UInt64),
    shares                 Nullable(UInt64),
    follows                Nullable(UInt64),
    profile_visits         Nullable(UInt64),
    reported_ctr           Nullable(Decimal(18, 6)) COMMENT 'TikTok''s pre-rounded CTR in percent, as reported; never aggregate',
    reported_cpc           Nullable(Decimal(18, 6)) COMMENT 'as reported, pre-rounded; never aggregate',
    reported_cpm           Nullable(Decimal(18, 6)) COMMENT 'as reported, pre-rounded; never aggregate',
    extra_metrics          Map(String, String) COMMENT 'requested metrics without a column of their own, as TikTok sent them',
    load_version           UInt64 COMMENT 'the load batch that wrote the row; see load_commits',
    loaded_at              DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toYYYYMM(stat_date)
ORDER BY (advertiser_id, stat_date, campaign_id, stat_time_utc, load_version);

CREATE TABLE IF NOT EXISTS adhouse.load_campaign_stats_hourly ON CLUSTER `ads_cluster` AS adhouse.load_campaign_stats_hourly_local
ENGINE = Distributed(`ads_cluster`, adhouse, load_campaign_stats_hourly_local, cityHash64(advertiser_id));

CREATE TABLE IF NOT EXISTS adhouse.load_adgroup_stats_hourly_local ON CLUSTER `ads_cluster`
(
    advertiser_id          String,
    campaign_id String,
    adgroup_id String,
    stat_date              Date COMMENT 'day in the advertiser timezone',
    stat_hour              UInt8 COMMENT 'hour of the day in the advertiser timezone, 0-23',
    stat_time_utc          DateTime('UTC') COMMENT 'the UTC instant the local hour starts',
    timezone               LowCardinality(String) COMMENT 'advertiser IANA timezone the day and hour are in',
    currency               LowCardinality(String) COMMENT 'advertiser account currency, ISO 4217',
    spend                  Nullable(Decimal(18, 6)) COMMENT 'cost in the account currency; NULL where TikTok sent "-"',
    impressions            Nullable(UInt64),
    clicks                 Nullable(UInt64),
    reach                  Nullable(UInt64) COMMENT 'estimated unique users; NOT additive, never sum it',
    conversion             Nullable(UInt64) COMMENT 'optimisation events, attributed to the interaction day',
    real_time_conversion   Nullable(UInt64) COMMENT 'optimisation events, on the event day',
    app_install            Nullable(UInt64) COMMENT 'attributed installs, on the impression/click day',
    real_time_app_install  Nullable(UInt64) COMMENT 'installs on the install day',
    complete_payment       Nullable(UInt64) COMMENT 'purchase count',
    complete_payment_value Nullable(Decimal(18, 6)) COMMENT 'purchase value (TikTok metric total_complete_payment_rate)',
    total_purchase_value   Nullable(Decimal(18, 6)) COMMENT 'app-event purchase value',
    video_play_actions     Nullable(UInt64),
    video_watched_2s       Nullable(UInt64),
    video_watched_6s       Nullable(UInt64),
    likes                  Nullable(UInt64),
    comments               Nullable(UInt64),
    shares                 Nullable(UInt64),
    follows                Nullable(UInt64),
    profile_visits         Nullable(UInt64),
    reported_ctr           Nullable(Decimal(18, 6)) COMMENT 'TikTok''s pre-rounded CTR in percent, as reported; never aggregate',
    reported_cpc           Nullable(Decimal(18, 6)) COMMENT 'as reported, pre-rounded; never aggregate',
    reported_cpm           Nullable(Decimal(18, 6)) COMMENT 'as reported, pre-rounded; never aggregate',
    extra_metrics          Map(String, String) COMMENT 'requested metrics without a column of their own, as TikTok sent them',
    load_version           UInt64 COMMENT 'the load batch that wrote the row; see load_commits',
    loaded_at              DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toYYYYMM(stat_date)
ORDER BY (advertiser_id, stat_date, adgroup_id, stat_time_utc, load_version);

CREATE TABLE IF NOT EXISTS adhouse.load_adgroup_stats_hourly ON CLUSTER `ads_cluster` AS adhouse.load_adgroup_stats_hourly_local
ENGINE = Distributed(`ads_cluster`, adhouse, load_adgroup_stats_hourly_local, cityHash64(advertiser_id));

CREATE TABLE IF NOT EXISTS adhouse.load_ad_stats_hourly_local ON CLUSTER `ads_cluster`
(
    advertiser_id          String,
    campaign_id String,
    adgroup_id String,
    ad_id String,
    stat_date              Date COMMENT 'day in the advertiser timezone',
    stat_hour              UInt8 COMMENT 'hour of the day in the advertiser timezone, 0-23',
    stat_time_utc          DateTime('UTC') COMMENT 'the UTC instant the local hour starts',
    timezone               LowCardinality(String) COMMENT 'advertiser IANA timezone the day and hour are in',
    currency               LowCardinality(String) COMMENT 'advertiser account currency, ISO 4217',
    spend                  Nullable(Decimal(18, 6)) COMMENT 'cost in the account currency; NULL where TikTok sent "-"',
    impressions            Nullable(UInt64),
    clicks                 Nullable(UInt64),
    reach                  Nullable(UInt64) COMMENT 'estimated unique users; NOT additive, never sum it',
    conversion             Nullable(UInt64) COMMENT 'optimisation events, attributed to the interaction day',
    real_time_conversion   Nullable(UInt64) COMMENT 'optimisation events, on the event day',
    app_install            Nullable(UInt64) COMMENT 'attributed installs, on the impression/click day',
    real_time_app_install  Nullable(UInt64) COMMENT 'installs on the install day',
    complete_payment       Nullable(UInt64) COMMENT 'purchase count',
    complete_payment_value Nullable(Decimal(18, 6)) COMMENT 'purchase value (TikTok metric total_complete_payment_rate)',
    total_purchase_value   Nullable(Decimal(18, 6)) COMMENT 'app-event purchase value',
    video_play_actions     Nullable(UInt64),
    video_watched_2s       Nullable(UInt64),
    video_watched_6s       Nullable(UInt64),
    likes                  Nullable(UInt64),
    comments               Nullable(UInt64),
    shares                 Nullable(UInt64),
    follows                Nullable(UInt64),
    profile_visits         Nullable(UInt64),
    reported_ctr           Nullable(Decimal(18, 6)) COMMENT 'TikTok''s pre-rounded CTR in percent, as reported; never aggregate',
    reported_cpc           Nullable(Decimal(18, 6)) COMMENT 'as reported, pre-rounded; never aggregate',
    reported_cpm           Nullable(Decimal(18, 6)) COMMENT 'as reported, pre-rounded; never aggregate',
    extra_metrics          Map(String, String) COMMENT 'requested metrics without a column of their own, as TikTok sent them',
    load_version           UInt64 COMMENT 'the load batch that wrote the row; see load_commits',
    loaded_at              DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toYYYYMM(stat_date)
ORDER BY (advertiser_id, stat_date, ad_id, stat_time_utc, load_version);

CREATE TABLE IF NOT EXISTS adhouse.load_ad_stats_hourly ON CLUSTER `ads_cluster` AS adhouse.load_ad_stats_hourly_local
ENGINE = Distributed(`ads_cluster`, adhouse, load_ad_stats_hourly_local, cityHash64(advertiser_id));

CREATE TABLE IF NOT EXISTS adhouse.load_commits_local ON CLUSTER `ads_cluster`
(
    table_name     LowCardinality(String),
    advertiser_id  String,
    stat_date      Date,
    window_version UInt64 COMMENT 'assigned when the window load began; the newest window wins',
    batch_versions Array(UInt64) COMMENT 'load_version of every batch that made up the window',
    row_count      UInt64 COMMENT 'rows of this day in the window',
    window_from    Date,
    window_to      Date,
    run_id         String,
    committed_at   DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', window_version)
ORDER BY (table_name, advertiser_id, stat_date);

CREATE TABLE IF NOT EXISTS adhouse.load_commits ON CLUSTER `ads_cluster` AS adhouse.load_commits_local
ENGINE = Distributed(`ads_cluster`, adhouse, load_commits_local, cityHash64(advertiser_id));

CREATE OR REPLACE VIEW adhouse.advertiser_stats_daily ON CLUSTER `ads_cluster` AS
SELECT * EXCEPT (load_version)
FROM adhouse.load_advertiser_stats_daily
WHERE (advertiser_id, stat_date, load_version) IN (
    SELECT advertiser_id, stat_date, arrayJoin(argMax(batch_versions, window_version))
    FROM adhouse.load_commits
    WHERE table_name = 'load_advertiser_stats_daily'
    GROUP BY advertiser_id, stat_date
);

CREATE OR REPLACE VIEW adhouse.campaign_stats_daily ON CLUSTER `ads_cluster` AS
SELECT * EXCEPT (load_version)
FROM adhouse.load_campaign_stats_daily
WHERE (advertiser_id, stat_date, load_version) IN (
    SELECT advertiser_id, stat_date, arrayJoin(argMax(batch_versions, window_version))
    FROM adhouse.load_commits
    WHERE table_name = 'load_campaign_stats_daily'
    GROUP BY advertiser_id, stat_date
);

CREATE OR REPLACE VIEW adhouse.adgroup_stats_daily ON CLUSTER `ads_cluster` AS
SELECT * EXCEPT (load_version)
FROM adhouse.load_adgroup_stats_daily
WHERE (advertiser_id, stat_date, load_version) IN (
    SELECT advertiser_id, stat_date, arrayJoin(argMax(batch_versions, window_version))
    FROM adhouse.load_commits
    WHERE table_name = 'load_adgroup_stats_daily'
    GROUP BY advertiser_id, stat_date
);

CREATE OR REPLACE VIEW adhouse.ad_stats_daily ON CLUSTER `ads_cluster` AS
SELECT * EXCEPT (load_version)
FROM adhouse.load_ad_stats_daily
WHERE (advertiser_id, stat_date, load_version) IN (
    SELECT advertiser_id, stat_date, arrayJoin(argMax(batch_versions, window_version))
    FROM adhouse.load_commits
    WHERE table_name = 'load_ad_stats_daily'
    GROUP BY advertiser_id, stat_date
);

CREATE OR REPLACE VIEW adhouse.advertiser_stats_hourly ON CLUSTER `ads_cluster` AS
SELECT * EXCEPT (load_version)
FROM adhouse.load_advertiser_stats_hourly
WHERE (advertiser_id, stat_date, load_version) IN (
    SELECT advertiser_id, stat_date, arrayJoin(argMax(batch_versions, window_version))
    FROM adhouse.load_commits
    WHERE table_name = 'load_advertiser_stats_hourly'
    GROUP BY advertiser_id, stat_date
);

CREATE OR REPLACE VIEW adhouse.campaign_stats_hourly ON CLUSTER `ads_cluster` AS
SELECT * EXCEPT (load_version)
FROM adhouse.load_campaign_stats_hourly
WHERE (advertiser_id, stat_date, load_version) IN (
    SELECT advertiser_id, stat_date, arrayJoin(argMax(batch_versions, window_version))
    FROM adhouse.load_commits
    WHERE table_name = 'load_campaign_stats_hourly'
    GROUP BY advertiser_id, stat_date
);

CREATE OR REPLACE VIEW adhouse.adgroup_stats_hourly ON CLUSTER `ads_cluster` AS
SELECT * EXCEPT (load_version)
FROM adhouse.load_adgroup_stats_hourly
WHERE (advertiser_id, stat_date, load_version) IN (
    SELECT advertiser_id, stat_date, arrayJoin(argMax(batch_versions, window_version))
    FROM adhouse.load_commits
    WHERE table_name = 'load_adgroup_stats_hourly'
    GROUP BY advertiser_id, stat_date
);

CREATE OR REPLACE VIEW adhouse.ad_stats_hourly ON CLUSTER `ads_cluster` AS
SELECT * EXCEPT (load_version)
FROM adhouse.load_ad_stats_hourly
WHERE (advertiser_id, stat_date, load_version) IN (
    SELECT advertiser_id, stat_date, arrayJoin(argMax(batch_versions, window_version))
    FROM adhouse.load_commits
    WHERE table_name = 'load_ad_stats_hourly'
    GROUP BY advertiser_id, stat_date
);

-- Sync bookkeeping.
CREATE TABLE IF NOT EXISTS adhouse.sync_checkpoints_local ON CLUSTER `ads_cluster`
(
    advertiser_id String,
    level         LowCardinality(String),
    granularity   LowCardinality(String),
    through_date  Date COMMENT 'every day up to and including this one is durably loaded',
    run_id        String,
    version       UInt64,
    updated_at    DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', version)
ORDER BY (advertiser_id, level, granularity);

CREATE TABLE IF NOT EXISTS adhouse.sync_checkpoints ON CLUSTER `ads_cluster` AS adhouse.sync_checkpoints_local
ENGINE = Distributed(`ads_cluster`, adhouse, sync_checkpoints_local, cityHash64(advertiser_id));

CREATE TABLE IF NOT EXISTS adhouse.sync_runs_local ON CLUSTER `ads_cluster`
(
    run_id        String,
    job           LowCardinality(String) COMMENT 'sync, today, entities, or backfill FROM..TO',
    started_at    DateTime64(3, 'UTC'),
    ended_at      DateTime64(3, 'UTC'),
    advertiser_id String,
    level         LowCardinality(String),
    granularity   LowCardinality(String),
    window_from   Date,
    window_to     Date,
    rows          UInt64,
    api_calls     UInt64,
    retries       UInt64,
    outcome       LowCardinality(String) COMMENT 'ok, failed or abandoned (cancelled before it finished)',
    error         String
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toYYYYMM(started_at)
ORDER BY (started_at, run_id, advertiser_id);

CREATE TABLE IF NOT EXISTS adhouse.sync_runs ON CLUSTER `ads_cluster` AS adhouse.sync_runs_local
ENGINE = Distributed(`ads_cluster`, adhouse, sync_runs_local, rand());

CREATE TABLE IF NOT EXISTS adhouse.reconciliation_local ON CLUSTER `ads_cluster`
(
    advertiser_id     String,
    granularity       LowCardinality(String),
    stat_date         Date,
    level             LowCardinality(String) COMMENT 'the level summed and compared with the advertiser totals',
    currency          LowCardinality(String),
    spend             Decimal(38, 6),
    advertiser_spend  Decimal(38, 6),
    impressions       UInt64,
    advertiser_impressions UInt64,
    clicks            UInt64,
    advertiser_clicks UInt64,
    version           UInt64,
    checked_at        DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', version)
ORDER BY (advertiser_id, granularity, stat_date, level);

CREATE TABLE IF NOT EXISTS adhouse.reconciliation ON CLUSTER `ads_cluster` AS adhouse.reconciliation_local
ENGINE = Distributed(`ads_cluster`, adhouse, reconciliation_local, cityHash64(advertiser_id));


-- Run before every migration: the database and the record of applied migrations.
CREATE DATABASE IF NOT EXISTS adhouse ENGINE = Atomic;

CREATE TABLE IF NOT EXISTS adhouse.schema_migrations_local
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(applied_at)
ORDER BY version;

CREATE TABLE IF NOT EXISTS adhouse.schema_migrations AS adhouse.schema_migrations_local
ENGINE = Distributed(`ads_cluster`, adhouse, schema_migrations_local, version);

-- migration core
-- Entities: the latest state of each advertiser, campaign, ad group and ad,
-- keyed by id (ReplacingMergeTree on load_version: read with FINAL or argMax).
-- Deleted entities are kept, so history of spend on deleted ads stays joinable.
-- History of changes IS kept: each *_history table has one row per distinct
-- modify_time of an entity, filled by a materialized view; re-loading the same
-- state replaces itself, so history never duplicates.

CREATE TABLE IF NOT EXISTS adhouse.advertisers_local
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
ENGINE = ReplacingMergeTree(load_version)
ORDER BY advertiser_id;

CREATE TABLE IF NOT EXISTS adhouse.advertisers AS adhouse.advertisers_local
ENGINE = Distributed(`ads_cluster`, adhouse, advertisers_local, cityHash64(advertiser_id));

CREATE TABLE IF NOT EXISTS adhouse.campaigns_local
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
ENGINE = ReplacingMergeTree(load_version)
ORDER BY (advertiser_id, campaign_id);

CREATE TABLE IF NOT EXISTS adhouse.campaigns AS adhouse.campaigns_local
ENGINE = Distributed(`ads_cluster`, adhouse, campaigns_local, cityHash64(advertiser_id));

CREATE TABLE IF NOT EXISTS adhouse.adgroups_local
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
ENGINE = ReplacingMergeTree(load_version)
ORDER BY (advertiser_id, adgroup_id);

CREATE TABLE IF NOT EXISTS adhouse.adgroups AS adhouse.adgroups_local
ENGINE = Distributed(`ads_cluster`, adhouse, adgroups_local, cityHash64(advertiser_id));

CREATE TABLE IF NOT EXISTS adhouse.ads_local
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
ENGINE = ReplacingMergeTree(load_version)
ORDER BY (advertiser_id, ad_id);

CREATE TABLE IF NOT EXISTS adhouse.ads AS adhouse.ads_local
ENGINE = Distributed(`ads_cluster`, adhouse, ads_local, cityHash64(advertiser_id));

CREATE TABLE IF NOT EXISTS adhouse.campaign_history_local AS adhouse.campaigns_local
ENGINE = ReplacingMergeTree(load_version)
ORDER BY (advertiser_id, campaign_id, ifNull(modify_time, toDateTime(0, 'UTC')))
SETTINGS allow_nullable_key = 1;

CREATE TABLE IF NOT EXISTS adhouse.campaign_history AS adhouse.campaign_history_local
ENGINE = Distributed(`ads_cluster`, adhouse, campaign_history_local, cityHash64(advertiser_id));

CREATE MATERIALIZED VIEW IF NOT EXISTS adhouse.campaign_history_mv_local
TO adhouse.campaign_history_local
AS SELECT * FROM adhouse.campaigns_local;

CREATE TABLE IF NOT EXISTS adhouse.adgroup_history_local AS adhouse.adgroups_local
ENGINE = ReplacingMergeTree(load_version)
ORDER BY (advertiser_id, adgroup_id, ifNull(modify_time, toDateTime(0, 'UTC')))
SETTINGS allow_nullable_key = 1;

CREATE TABLE IF NOT EXISTS adhouse.adgroup_history AS adhouse.adgroup_history_local
ENGINE = Distributed(`ads_cluster`, adhouse, adgroup_history_local, cityHash64(advertiser_id));

CREATE MATERIALIZED VIEW IF NOT EXISTS adhouse.adgroup_history_mv_local
TO adhouse.adgroup_history_local
AS SELECT * FROM adhouse.adgroups_local;

CREATE TABLE IF NOT EXISTS adhouse.ad_history_local AS adhouse.ads_local
ENGINE = ReplacingMergeTree(load_version)
ORDER BY (advertiser_id, ad_id, ifNull(modify_time, toDateTime(0, 'UTC')))
SETTINGS allow_nullable_key = 1;

CREATE TABLE IF NOT EXISTS adhouse.ad_history AS adhouse.ad_history_local
ENGINE = Distributed(`ads_cluster`, adhouse, ad_history_local, cityHash64(advertiser_id));

CREATE MATERIALIZED VIEW IF NOT EXISTS adhouse.ad_history_mv_local
TO adhouse.ad_history_local
AS SELECT * FROM adhouse.ads_local;

-- Statistics, one table per level and granularity. Every load of a window
-- writes rows under fresh load_version numbers and then records in
-- load_commits which versions make up each (advertiser, day). The views
-- <level>_stats_<granularity> show only committed versions, so a repeated
-- load, a partial load cut short by an outage, or a re-load in which a row
-- vanished all leave exactly one clean copy in every answer.

CREATE TABLE IF NOT EXISTS adhouse.load_advertiser_stats_daily_local
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
-- Plain MergeTree: versions, not merges, decide what is visible. (A
-- Replacing engine keyed on the UTC hour could merge away one of two local
-- hours that a daylight-saving change maps to the same instant.)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(stat_date)
ORDER BY (advertiser_id, stat_date, load_version);

CREATE TABLE IF NOT EXISTS adhouse.load_advertiser_stats_daily AS adhouse.load_advertiser_stats_daily_local
ENGINE = Distributed(`ads_cluster`, adhouse, load_advertiser_stats_daily_local, cityHash64(advertiser_id));

CREATE TABLE IF NOT EXISTS adhouse.load_campaign_stats_daily_local
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
-- Plain MergeTree: versions, not merges, decide what is visible. (A
-- Replacing engine keyed on the UTC hour could merge away one of two local
-- hours that a daylight-saving change maps to the same instant.)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(stat_date)
ORDER BY (advertiser_id, stat_date, campaign_id, load_version);

CREATE TABLE IF NOT EXISTS adhouse.load_campaign_stats_daily AS adhouse.load_campaign_stats_daily_local
ENGINE = Distributed(`ads_cluster`, adhouse, load_campaign_stats_daily_local, cityHash64(advertiser_id));

CREATE TABLE IF NOT EXISTS adhouse.load_adgroup_stats_daily_local
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
-- Plain MergeTree: versions, not merges, decide what is visible. (A
-- Replacing engine keyed on the UTC hour could merge away one of two local
-- hours that a daylight-saving change maps to the same instant.)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(stat_date)
ORDER BY (advertiser_id, stat_date, adgroup_id, load_version);

CREATE TABLE IF NOT EXISTS adhouse.load_adgroup_stats_daily AS adhouse.load_adgroup_stats_daily_local
ENGINE = Distributed(`ads_cluster`, adhouse, load_adgroup_stats_daily_local, cityHash64(advertiser_id));

CREATE TABLE IF NOT EXISTS adhouse.load_ad_stats_daily_local
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
-- Plain MergeTree: versions, not merges, decide what is visible. (A
-- Replacing engine keyed on the UTC hour could merge away one of two local
-- hours that a daylight-saving change maps to the same instant.)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(stat_date)
ORDER BY (advertiser_id, stat_date, ad_id, load_version);

CREATE TABLE IF NOT EXISTS adhouse.load_ad_stats_daily AS adhouse.load_ad_stats_daily_local
ENGINE = Distributed(`ads_cluster`, adhouse, load_ad_stats_daily_local, cityHash64(advertiser_id));

CREATE TABLE IF NOT EXISTS adhouse.load_advertiser_stats_hourly_local
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
-- Plain MergeTree: versions, not merges, decide what is visible. (A
-- Replacing engine keyed on the UTC hour could merge away one of two local
-- hours that a daylight-saving change maps to the same instant.)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(stat_date)
ORDER BY (advertiser_id, stat_date, stat_time_utc, load_version);

CREATE TABLE IF NOT EXISTS adhouse.load_advertiser_stats_hourly AS adhouse.load_advertiser_stats_hourly_local
ENGINE = Distributed(`ads_cluster`, adhouse, load_advertiser_stats_hourly_local, cityHash64(advertiser_id));

CREATE TABLE IF NOT EXISTS adhouse.load_campaign_stats_hourly_local
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
-- Plain MergeTree: versions, not merges, decide what is visible. (A
-- Replacing engine keyed on the UTC hour could merge away one of two local
-- hours that a daylight-saving change maps to the same instant.)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(stat_date)
ORDER BY (advertiser_id, stat_date, campaign_id, stat_time_utc, load_version);

CREATE TABLE IF NOT EXISTS adhouse.load_campaign_stats_hourly AS adhouse.load_campaign_stats_hourly_local
ENGINE = Distributed(`ads_cluster`, adhouse, load_campaign_stats_hourly_local, cityHash64(advertiser_id));

CREATE TABLE IF NOT EXISTS adhouse.load_adgroup_stats_hourly_local
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
-- Plain MergeTree: versions, not merges, decide what is visible. (A
-- Replacing engine keyed on the UTC hour could merge away one of two local
-- hours that a daylight-saving change maps to the same instant.)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(stat_date)
ORDER BY (advertiser_id, stat_date, adgroup_id, stat_time_utc, load_version);

CREATE TABLE IF NOT EXISTS adhouse.load_adgroup_stats_hourly AS adhouse.load_adgroup_stats_hourly_local
ENGINE = Distributed(`ads_cluster`, adhouse, load_adgroup_stats_hourly_local, cityHash64(advertiser_id));

CREATE TABLE IF NOT EXISTS adhouse.load_ad_stats_hourly_local
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
-- Plain MergeTree: versions, not merges, decide what is visible. (A
-- Replacing engine keyed on the UTC hour could merge away one of two local
-- hours that a daylight-saving change maps to the same instant.)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(stat_date)
ORDER BY (advertiser_id, stat_date, ad_id, stat_time_utc, load_version);

CREATE TABLE IF NOT EXISTS adhouse.load_ad_stats_hourly AS adhouse.load_ad_stats_hourly_local
ENGINE = Distributed(`ads_cluster`, adhouse, load_ad_stats_hourly_local, cityHash64(advertiser_id));

CREATE TABLE IF NOT EXISTS adhouse.load_commits_local
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
ENGINE = ReplacingMergeTree(window_version)
ORDER BY (table_name, advertiser_id, stat_date);

CREATE TABLE IF NOT EXISTS adhouse.load_commits AS adhouse.load_commits_local
ENGINE = Distributed(`ads_cluster`, adhouse, load_commits_local, cityHash64(advertiser_id));

CREATE OR REPLACE VIEW adhouse.advertiser_stats_daily AS
SELECT * EXCEPT (load_version)
FROM adhouse.load_advertiser_stats_daily
WHERE (advertiser_id, stat_date, load_version) GLOBAL IN (
    SELECT advertiser_id, stat_date, arrayJoin(argMax(batch_versions, window_version))
    FROM adhouse.load_commits
    WHERE table_name = 'load_advertiser_stats_daily'
    GROUP BY advertiser_id, stat_date
);

CREATE OR REPLACE VIEW adhouse.campaign_stats_daily AS
SELECT * EXCEPT (load_version)
FROM adhouse.load_campaign_stats_daily
WHERE (advertiser_id, stat_date, load_version) GLOBAL IN (
    SELECT advertiser_id, stat_date, arrayJoin(argMax(batch_versions, window_version))
    FROM adhouse.load_commits
    WHERE table_name = 'load_campaign_stats_daily'
    GROUP BY advertiser_id, stat_date
);

CREATE OR REPLACE VIEW adhouse.adgroup_stats_daily AS
SELECT * EXCEPT (load_version)
FROM adhouse.load_adgroup_stats_daily
WHERE (advertiser_id, stat_date, load_version) GLOBAL IN (
    SELECT advertiser_id, stat_date, arrayJoin(argMax(batch_versions, window_version))
    FROM adhouse.load_commits
    WHERE table_name = 'load_adgroup_stats_daily'
    GROUP BY advertiser_id, stat_date
);

CREATE OR REPLACE VIEW adhouse.ad_stats_daily AS
SELECT * EXCEPT (load_version)
FROM adhouse.load_ad_stats_daily
WHERE (advertiser_id, stat_date, load_version) GLOBAL IN (
    SELECT advertiser_id, stat_date, arrayJoin(argMax(batch_versions, window_version))
    FROM adhouse.load_commits
    WHERE table_name = 'load_ad_stats_daily'
    GROUP BY advertiser_id, stat_date
);

CREATE OR REPLACE VIEW adhouse.advertiser_stats_hourly AS
SELECT * EXCEPT (load_version)
FROM adhouse.load_advertiser_stats_hourly
WHERE (advertiser_id, stat_date, load_version) GLOBAL IN (
    SELECT advertiser_id, stat_date, arrayJoin(argMax(batch_versions, window_version))
    FROM adhouse.load_commits
    WHERE table_name = 'load_advertiser_stats_hourly'
    GROUP BY advertiser_id, stat_date
);

CREATE OR REPLACE VIEW adhouse.campaign_stats_hourly AS
SELECT * EXCEPT (load_version)
FROM adhouse.load_campaign_stats_hourly
WHERE (advertiser_id, stat_date, load_version) GLOBAL IN (
    SELECT advertiser_id, stat_date, arrayJoin(argMax(batch_versions, window_version))
    FROM adhouse.load_commits
    WHERE table_name = 'load_campaign_stats_hourly'
    GROUP BY advertiser_id, stat_date
);

CREATE OR REPLACE VIEW adhouse.adgroup_stats_hourly AS
SELECT * EXCEPT (load_version)
FROM adhouse.load_adgroup_stats_hourly
WHERE (advertiser_id, stat_date, load_version) GLOBAL IN (
    SELECT advertiser_id, stat_date, arrayJoin(argMax(batch_versions, window_version))
    FROM adhouse.load_commits
    WHERE table_name = 'load_adgroup_stats_hourly'
    GROUP BY advertiser_id, stat_date
);

CREATE OR REPLACE VIEW adhouse.ad_stats_hourly AS
SELECT * EXCEPT (load_version)
FROM adhouse.load_ad_stats_hourly
WHERE (advertiser_id, stat_date, load_version) GLOBAL IN (
    SELECT advertiser_id, stat_date, arrayJoin(argMax(batch_versions, window_version))
    FROM adhouse.load_commits
    WHERE table_name = 'load_ad_stats_hourly'
    GROUP BY advertiser_id, stat_date
);

-- Sync bookkeeping.
CREATE TABLE IF NOT EXISTS adhouse.sync_checkpoints_local
(
    advertiser_id String,
    level         LowCardinality(String),
    granularity   LowCardinality(String),
    through_date  Date COMMENT 'every day up to and including this one is durably loaded',
    run_id        String,
    version       UInt64,
    updated_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (advertiser_id, level, granularity);

CREATE TABLE IF NOT EXISTS adhouse.sync_checkpoints AS adhouse.sync_checkpoints_local
ENGINE = Distributed(`ads_cluster`, adhouse, sync_checkpoints_local, cityHash64(advertiser_id));

CREATE TABLE IF NOT EXISTS adhouse.sync_runs_local
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
ENGINE = MergeTree()
PARTITION BY toYYYYMM(started_at)
ORDER BY (started_at, run_id, advertiser_id);

CREATE TABLE IF NOT EXISTS adhouse.sync_runs AS adhouse.sync_runs_local
ENGINE = Distributed(`ads_cluster`, adhouse, sync_runs_local, rand());

CREATE TABLE IF NOT EXISTS adhouse.reconciliation_local
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
ENGINE = ReplacingMergeTree(version)
ORDER BY (advertiser_id, granularity, stat_date, level);

CREATE TABLE IF NOT EXISTS adhouse.reconciliation AS adhouse.reconciliation_local
ENGINE = Distributed(`ads_cluster`, adhouse, reconciliation_local, cityHash64(advertiser_id));

-- migration imports
-- Imports: GA4 events, CRM deals, shop orders and product costs, each loaded
-- all or nothing. An import stages a file's rows under one fresh load_version
-- (rows stay invisible), checks them, and then publishes the file with one
-- single-block INSERT into import_commits. The views below show, per file
-- identity (source, file_key), only the rows of its newest committed version:
-- a failed import shows nothing, a re-import of the same content is skipped,
-- and a corrected file replaces its earlier version whole.
-- Load tables are ReplacingMergeTree on (file_key, load_version, line) so a
-- batch resent after an uncertain failure collapses into one copy; the views
-- read them with FINAL.

CREATE TABLE IF NOT EXISTS adhouse.import_commits_local
(
    source         LowCardinality(String) COMMENT 'ga4, crm, orders or costs',
    file_key       String COMMENT 'file identity: the base name without .gz, or --as',
    version        UInt64 COMMENT 'load_version of the rows this commit publishes; the newest wins',
    content_sha256 String COMMENT 'of the decompressed content; the same hash again is a no-op',
    row_count      UInt64,
    format         LowCardinality(String),
    file_name      String COMMENT 'the path the file was imported from',
    committed_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (source, file_key);

CREATE TABLE IF NOT EXISTS adhouse.import_commits AS adhouse.import_commits_local
ENGINE = Distributed(`ads_cluster`, adhouse, import_commits_local, cityHash64(file_key));

-- One row of settings that the attribution views read, written from the
-- imports section of the configuration by every `adhouse import` and export.
CREATE TABLE IF NOT EXISTS adhouse.attribution_settings_local
(
    version           UInt64,
    lookback_days     UInt16 COMMENT 'a TikTok touch this many days or less before a GA4 conversion can assist it',
    match_by          LowCardinality(String) COMMENT 'id, name or id_or_name: how UTM references find TikTok entities',
    conversion_events Array(String) COMMENT 'GA4 event names that count as conversions',
    default_margin    Nullable(Decimal(9, 6)) COMMENT 'gross margin fraction for order lines without a product cost; NULL leaves their cost unknown',
    updated_at        DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY tuple();

CREATE TABLE IF NOT EXISTS adhouse.attribution_settings AS adhouse.attribution_settings_local
ENGINE = Distributed(`ads_cluster`, adhouse, attribution_settings_local, rand());

CREATE TABLE IF NOT EXISTS adhouse.load_ga4_events_local
(
    file_key           String,
    load_version       UInt64,
    line               UInt64 COMMENT 'line (NDJSON) or record (CSV) number in the file',
    event_date         Date COMMENT 'event_date as exported: the day in the GA4 property timezone',
    event_timestamp    DateTime64(6, 'UTC'),
    event_name         LowCardinality(String),
    user_pseudo_id     String,
    user_id            String,
    ga_session_id      Int64,
    page_location      String,
    utm_source         String COMMENT 'from page_location',
    utm_medium         String,
    utm_campaign       String,
    utm_id             String,
    utm_content        String,
    utm_term           String,
    ttclid             String COMMENT 'TikTok click id from page_location',
    cts_source         String COMMENT 'collected_traffic_source.manual_source',
    cts_medium         String,
    cts_campaign_name  String,
    cts_campaign_id    String,
    cts_content        String,
    cts_term           String,
    slc_source         String COMMENT 'session_traffic_source_last_click.manual_campaign.source',
    slc_medium         String,
    slc_campaign_name  String,
    slc_campaign_id    String,
    ts_source          String COMMENT 'traffic_source (user first touch)',
    ts_medium          String,
    ts_name            String,
    channel            LowCardinality(String) COMMENT 'tiktok, other or none: the touch this event carries (docs/attribution.md)',
    touch_source       String,
    touch_medium       String,
    campaign_ref       String COMMENT 'the configured parameter naming the campaign, as sent',
    adgroup_ref        String,
    ad_ref             String,
    purchase_revenue   Nullable(Decimal(18, 6)),
    currency           LowCardinality(String),
    transaction_id     String
)
ENGINE = ReplacingMergeTree()
ORDER BY (file_key, load_version, line);

CREATE TABLE IF NOT EXISTS adhouse.load_ga4_events AS adhouse.load_ga4_events_local
ENGINE = Distributed(`ads_cluster`, adhouse, load_ga4_events_local, cityHash64(file_key));

CREATE TABLE IF NOT EXISTS adhouse.load_crm_deals_local
(
    file_key     String,
    load_version UInt64,
    line         UInt64,
    deal_id      String,
    created_at   Nullable(DateTime64(3, 'UTC')),
    closed_at    Nullable(DateTime64(3, 'UTC')),
    close_date   Nullable(Date) COMMENT 'the local day of closed_at as written in the file',
    stage        String,
    is_won       UInt8,
    amount       Nullable(Decimal(18, 6)),
    currency     LowCardinality(String),
    utm_source   String,
    utm_medium   String,
    utm_campaign String,
    utm_content  String,
    utm_term     String,
    ttclid       String,
    channel      LowCardinality(String),
    campaign_ref String,
    adgroup_ref  String,
    ad_ref       String
)
ENGINE = ReplacingMergeTree()
ORDER BY (file_key, load_version, line);

CREATE TABLE IF NOT EXISTS adhouse.load_crm_deals AS adhouse.load_crm_deals_local
ENGINE = Distributed(`ads_cluster`, adhouse, load_crm_deals_local, cityHash64(file_key));

CREATE TABLE IF NOT EXISTS adhouse.load_shop_orders_local
(
    file_key         String,
    load_version     UInt64,
    line             UInt64 COMMENT 'line of the order''s first row',
    order_id         String,
    created_at       DateTime64(3, 'UTC'),
    order_date       Date COMMENT 'the local day of created_at as written in the file',
    financial_status LowCardinality(String),
    cancelled        UInt8,
    currency         LowCardinality(String),
    subtotal         Decimal(18, 6) COMMENT 'line items after discounts, before shipping and taxes: the revenue',
    shipping         Decimal(18, 6),
    taxes            Decimal(18, 6),
    total            Decimal(18, 6),
    discount         Decimal(18, 6),
    refunded         Decimal(18, 6),
    fees             Decimal(18, 6),
    source_name      String,
    utm_source       String,
    utm_medium       String,
    utm_campaign     String,
    utm_content      String,
    utm_term         String,
    ttclid           String,
    channel          LowCardinality(String),
    campaign_ref     String,
    adgroup_ref      String,
    ad_ref           String
)
ENGINE = ReplacingMergeTree()
ORDER BY (file_key, load_version, line);

CREATE TABLE IF NOT EXISTS adhouse.load_shop_orders AS adhouse.load_shop_orders_local
ENGINE = Distributed(`ads_cluster`, adhouse, load_shop_orders_local, cityHash64(file_key));

CREATE TABLE IF NOT EXISTS adhouse.load_shop_order_lines_local
(
    file_key     String,
    load_version UInt64,
    line         UInt64,
    order_id     String,
    sku          String,
    name         String,
    quantity     Int64,
    price        Decimal(18, 6) COMMENT 'unit price'
)
ENGINE = ReplacingMergeTree()
ORDER BY (file_key, load_version, line);

CREATE TABLE IF NOT EXISTS adhouse.load_shop_order_lines AS adhouse.load_shop_order_lines_local
ENGINE = Distributed(`ads_cluster`, adhouse, load_shop_order_lines_local, cityHash64(file_key));

CREATE TABLE IF NOT EXISTS adhouse.load_product_costs_local
(
    file_key     String,
    load_version UInt64,
    line         UInt64,
    sku          String,
    unit_cost    Decimal(18, 6),
    currency     LowCardinality(String),
    valid_from   Date
)
ENGINE = ReplacingMergeTree()
ORDER BY (file_key, load_version, line);

CREATE TABLE IF NOT EXISTS adhouse.load_product_costs AS adhouse.load_product_costs_local
ENGINE = Distributed(`ads_cluster`, adhouse, load_product_costs_local, cityHash64(file_key));

CREATE OR REPLACE VIEW adhouse.ga4_events_committed AS
SELECT * EXCEPT (load_version)
FROM adhouse.load_ga4_events FINAL
WHERE (file_key, load_version) GLOBAL IN (
    SELECT file_key, max(version) FROM adhouse.import_commits WHERE source = 'ga4' GROUP BY file_key
);

CREATE OR REPLACE VIEW adhouse.crm_deals_committed AS
SELECT * EXCEPT (load_version)
FROM adhouse.load_crm_deals FINAL
WHERE (file_key, load_version) GLOBAL IN (
    SELECT file_key, max(version) FROM adhouse.import_commits WHERE source = 'crm' GROUP BY file_key
);

CREATE OR REPLACE VIEW adhouse.shop_orders_committed AS
SELECT * EXCEPT (load_version)
FROM adhouse.load_shop_orders FINAL
WHERE (file_key, load_version) GLOBAL IN (
    SELECT file_key, max(version) FROM adhouse.import_commits WHERE source = 'orders' GROUP BY file_key
);

CREATE OR REPLACE VIEW adhouse.shop_order_lines_committed AS
SELECT * EXCEPT (load_version)
FROM adhouse.load_shop_order_lines FINAL
WHERE (file_key, load_version) GLOBAL IN (
    SELECT file_key, max(version) FROM adhouse.import_commits WHERE source = 'orders' GROUP BY file_key
);

CREATE OR REPLACE VIEW adhouse.product_costs_committed AS
SELECT * EXCEPT (load_version)
FROM adhouse.load_product_costs FINAL
WHERE (file_key, load_version) GLOBAL IN (
    SELECT file_key, max(version) FROM adhouse.import_commits WHERE source = 'costs' GROUP BY file_key
);

-- The same deal, order or SKU-and-date in several files (overlapping daily
-- exports): the newest committed file wins, then the later line.
CREATE OR REPLACE VIEW adhouse.ga4_events AS
SELECT * FROM adhouse.ga4_events_committed;

CREATE OR REPLACE VIEW adhouse.crm_deals AS
SELECT d.* FROM adhouse.crm_deals_committed AS d
INNER JOIN (SELECT file_key, max(version) AS version FROM adhouse.import_commits WHERE source = 'crm' GROUP BY file_key) AS c USING (file_key)
ORDER BY deal_id, c.version DESC, d.line DESC
LIMIT 1 BY deal_id;

CREATE OR REPLACE VIEW adhouse.shop_orders AS
SELECT o.* FROM adhouse.shop_orders_committed AS o
INNER JOIN (SELECT file_key, max(version) AS version FROM adhouse.import_commits WHERE source = 'orders' GROUP BY file_key) AS c USING (file_key)
ORDER BY order_id, c.version DESC, o.line DESC
LIMIT 1 BY order_id;

CREATE OR REPLACE VIEW adhouse.shop_order_lines AS
SELECT l.* FROM adhouse.shop_order_lines_committed AS l
INNER JOIN (SELECT order_id, file_key FROM adhouse.shop_orders) AS o ON l.order_id = o.order_id AND l.file_key = o.file_key;

CREATE OR REPLACE VIEW adhouse.product_costs AS
SELECT p.* FROM adhouse.product_costs_committed AS p
INNER JOIN (SELECT file_key, max(version) AS version FROM adhouse.import_commits WHERE source = 'costs' GROUP BY file_key) AS c USING (file_key)
ORDER BY sku, valid_from, c.version DESC, p.line DESC
LIMIT 1 BY sku, valid_from;

CREATE OR REPLACE VIEW adhouse.attribution_config AS
SELECT
    argMax(lookback_days, version)     AS lookback_days,
    argMax(match_by, version)          AS match_by,
    argMax(conversion_events, version) AS conversion_events,
    argMax(default_margin, version)    AS default_margin
FROM adhouse.attribution_settings;

-- Touches: GA4 events that carry a non-direct source (channel tiktok or other).
CREATE OR REPLACE VIEW adhouse.ga4_touches AS
SELECT user_pseudo_id, event_timestamp AS touch_time, file_key, line, channel,
       touch_source, touch_medium, campaign_ref, adgroup_ref, ad_ref, ttclid
FROM adhouse.ga4_events
WHERE channel != 'none' AND user_pseudo_id != '';

-- Conversions: events named in attribution_settings.conversion_events, one
-- per transaction_id (the first), every event without one.
CREATE OR REPLACE VIEW adhouse.ga4_conversions AS
SELECT
    if(transaction_id = '', concat('ga4:', file_key, ':', toString(line)), concat('ga4tx:', transaction_id)) AS conversion_key,
    user_pseudo_id, event_date AS conversion_date, event_timestamp AS conversion_time,
    event_name, transaction_id, purchase_revenue AS revenue, currency, file_key, line
FROM adhouse.ga4_events
WHERE has((SELECT conversion_events FROM adhouse.attribution_config), event_name)
ORDER BY conversion_key, event_timestamp, file_key, line
LIMIT 1 BY conversion_key;

-- Per conversion: the last non-direct touch (time, then file and line break
-- ties) and every TikTok touch, both within the lookback window before it.
CREATE OR REPLACE VIEW adhouse.ga4_conversion_paths AS
SELECT
    c.conversion_key AS conversion_key,
    any(c.user_pseudo_id) AS user_pseudo_id,
    any(c.conversion_date) AS conversion_date,
    any(c.conversion_time) AS conversion_time,
    any(c.revenue) AS revenue,
    any(c.currency) AS currency,
    argMaxIf(tuple(t.channel, t.campaign_ref, t.adgroup_ref, t.ad_ref, t.ttclid),
             tuple(t.touch_time, t.file_key, t.line),
             (t.channel != '' AND t.touch_time <= c.conversion_time
              AND t.touch_time >= c.conversion_time - toIntervalDay(s.lookback_days)) AS in_window) AS last_touch,
    arraySort(groupUniqArrayIf(tuple(t.campaign_ref, t.adgroup_ref, t.ad_ref, t.ttclid),
                               in_window AND t.channel = 'tiktok')) AS tiktok_touches
FROM adhouse.ga4_conversions AS c
CROSS JOIN adhouse.attribution_config AS s
LEFT JOIN adhouse.ga4_touches AS t ON c.user_pseudo_id = t.user_pseudo_id
GROUP BY c.conversion_key
SETTINGS join_use_nulls = 0;

-- without one, at price x (1 - default_margin) rounded half-even to 6
-- decimals; without a default margin the order's cost is unknown (NULL).
CREATE OR REPLACE VIEW adhouse.shop_order_costs AS
SELECT
    o.order_id AS order_id,
    if(count() = 0 OR countIf(isNull(line_cost)) > 0, NULL, sum(assumeNotNull(line_cost))) AS cost_of_goods
FROM (
    SELECT o.order_id AS order_id, l.quantity AS quantity, l.price AS price, p.sku AS cost_sku, p.unit_cost AS unit_cost,
        if(cost_sku != '', CAST(quantity * CAST(unit_cost, 'Decimal(38, 6)'), 'Nullable(Decimal(38, 6))'),
           if(isNull(s.default_margin), NULL,
              CAST(roundBankers(quantity * CAST(price, 'Decimal(38, 6)') * (1 - assumeNotNull(s.default_margin)), 6), 'Nullable(Decimal(38, 6))'))) AS line_cost
    FROM (SELECT l.order_id AS order_id, l.sku AS sku, l.quantity AS quantity, l.price AS price, o.currency AS currency, o.order_date AS order_date
          FROM adhouse.shop_order_lines AS l INNER JOIN adhouse.shop_orders AS o USING (order_id)) AS l
    INNER JOIN adhouse.shop_orders AS o USING (order_id)
    ASOF LEFT JOIN adhouse.product_costs AS p ON l.sku = p.sku AND l.currency = p.currency AND l.order_date >= p.valid_from
    CROSS JOIN adhouse.attribution_config AS s
    SETTINGS join_use_nulls = 0
) AS x
RIGHT JOIN adhouse.shop_orders AS o USING (order_id)
GROUP BY o.order_id;

-- Every credit a TikTok reference earns, before matching to entities. Money
-- is Decimal(38, 6) in the credit's own currency.
CREATE OR REPLACE VIEW adhouse.attribution_credits AS
SELECT 'ga4_last_click' AS credit, conversion_key, conversion_date AS credit_date, currency,
       CAST(revenue, 'Nullable(Decimal(38, 6))') AS revenue,
       CAST(0, 'Nullable(Decimal(38, 6))') AS cost_of_goods, CAST(0, 'Decimal(38, 6)') AS refunds, CAST(0, 'Decimal(38, 6)') AS fees,
       last_touch.2 AS campaign_ref, last_touch.3 AS adgroup_ref, last_touch.4 AS ad_ref, last_touch.5 AS ttclid
FROM adhouse.ga4_conversion_paths WHERE last_touch.1 = 'tiktok'
UNION ALL
SELECT 'ga4_assisted', conversion_key, conversion_date, currency,
       CAST(revenue, 'Nullable(Decimal(38, 6))'), CAST(0, 'Nullable(Decimal(38, 6))'), CAST(0, 'Decimal(38, 6)'), CAST(0, 'Decimal(38, 6)'),
       touch.1, touch.2, touch.3, touch.4
FROM adhouse.ga4_conversion_paths ARRAY JOIN tiktok_touches AS touch WHERE last_touch.1 = 'other'
UNION ALL
SELECT 'crm', concat('crm:', deal_id), assumeNotNull(close_date), currency,
       CAST(amount, 'Nullable(Decimal(38, 6))'), CAST(0, 'Nullable(Decimal(38, 6))'), CAST(0, 'Decimal(38, 6)'), CAST(0, 'Decimal(38, 6)'),
       campaign_ref, adgroup_ref, ad_ref, ttclid
FROM adhouse.crm_deals WHERE is_won = 1 AND channel = 'tiktok' AND isNotNull(close_date)
UNION ALL
SELECT 'shop', concat('shop:', o.order_id), o.order_date, o.currency,
       CAST(o.subtotal, 'Nullable(Decimal(38, 6))'), CAST(c.cost_of_goods, 'Nullable(Decimal(38, 6))'),
       CAST(o.refunded, 'Decimal(38, 6)'), CAST(o.fees, 'Decimal(38, 6)'),
       o.campaign_ref, o.adgroup_ref, o.ad_ref, o.ttclid
FROM adhouse.shop_orders AS o LEFT JOIN adhouse.shop_order_costs AS c USING (order_id)
WHERE o.channel = 'tiktok' AND o.cancelled = 0
  AND o.financial_status IN ('paid', 'partially_paid', 'partially_refunded', 'refunded');

-- How a UTM reference finds a TikTok entity: by id, or by a name that exactly
-- one entity of the level carries.
CREATE OR REPLACE VIEW adhouse.entity_refs AS
SELECT 'campaign' AS level, 'id' AS kind, campaign_id AS ref, advertiser_id, campaign_id, '' AS adgroup_id, '' AS ad_id
FROM adhouse.campaigns FINAL
UNION ALL
SELECT 'campaign', 'name', campaign_name, any(advertiser_id), any(campaign_id), '', ''
FROM adhouse.campaigns FINAL WHERE campaign_name != '' GROUP BY campaign_name HAVING uniqExact(advertiser_id, campaign_id) = 1
UNION ALL
SELECT 'adgroup', 'id', adgroup_id, advertiser_id, campaign_id, adgroup_id, ''
FROM adhouse.adgroups FINAL
UNION ALL
SELECT 'adgroup', 'name', adgroup_name, any(advertiser_id), any(campaign_id), any(adgroup_id), ''
FROM adhouse.adgroups FINAL WHERE adgroup_name != '' GROUP BY adgroup_name HAVING uniqExact(advertiser_id, adgroup_id) = 1
UNION ALL
SELECT 'ad', 'id', ad_id, advertiser_id, campaign_id, adgroup_id, ad_id
FROM adhouse.ads FINAL
UNION ALL
SELECT 'ad', 'name', ad_name, any(advertiser_id), any(campaign_id), any(adgroup_id), any(ad_id)
FROM adhouse.ads FINAL WHERE ad_name != '' GROUP BY ad_name HAVING uniqExact(advertiser_id, ad_id) = 1;

-- The first GA4 touch of a ttclid that names a campaign, ad group or ad lends
-- its references to credits that carry only that ttclid.
CREATE OR REPLACE VIEW adhouse.ttclid_refs AS
SELECT ttclid, argMin(tuple(campaign_ref, adgroup_ref, ad_ref), tuple(touch_time, file_key, line)) AS refs
FROM adhouse.ga4_touches
WHERE ttclid != '' AND (campaign_ref != '' OR adgroup_ref != '' OR ad_ref != '')
GROUP BY ttclid;

-- Credits with their TikTok entity: the most specific match wins (ad, then ad
-- group, then campaign); an unmatched credit keeps empty ids.
CREATE OR REPLACE VIEW adhouse.attribution_matched AS
WITH (SELECT match_by FROM adhouse.attribution_config) AS mb
SELECT
    x.credit AS credit, x.conversion_key AS conversion_key, x.credit_date AS credit_date, x.currency AS currency,
    x.revenue AS revenue, x.cost_of_goods AS cost_of_goods, x.refunds AS refunds, x.fees AS fees,
    x.campaign_ref AS campaign_ref, x.adgroup_ref AS adgroup_ref, x.ad_ref AS ad_ref, x.ttclid AS ttclid,
    multiIf(ad.ad_id != '', ad.advertiser_id, ag.adgroup_id != '', ag.advertiser_id, cp.advertiser_id) AS advertiser_id,
    multiIf(ad.ad_id != '', ad.campaign_id, ag.adgroup_id != '', ag.campaign_id, cp.campaign_id) AS campaign_id,
    multiIf(ad.ad_id != '', ad.adgroup_id, ag.adgroup_id) AS adgroup_id,
    ad.ad_id AS ad_id
FROM (
    SELECT c.*,
        if(c.campaign_ref = '' AND c.adgroup_ref = '' AND c.ad_ref = '', t.refs, tuple(c.campaign_ref, c.adgroup_ref, c.ad_ref)) AS eff
    FROM adhouse.attribution_credits AS c
    LEFT JOIN adhouse.ttclid_refs AS t ON c.ttclid = t.ttclid AND c.ttclid != ''
) AS x
LEFT JOIN (SELECT * FROM adhouse.entity_refs WHERE level = 'ad' AND (kind = mb OR mb = 'id_or_name') ORDER BY ref, kind = 'id' DESC LIMIT 1 BY ref) AS ad
    ON x.eff.3 = ad.ref
LEFT JOIN (SELECT * FROM adhouse.entity_refs WHERE level = 'adgroup' AND (kind = mb OR mb = 'id_or_name') ORDER BY ref, kind = 'id' DESC LIMIT 1 BY ref) AS ag
    ON x.eff.2 = ag.ref
LEFT JOIN (SELECT * FROM adhouse.entity_refs WHERE level = 'campaign' AND (kind = mb OR mb = 'id_or_name') ORDER BY ref, kind = 'id' DESC LIMIT 1 BY ref) AS cp
    ON x.eff.1 = cp.ref
SETTINGS join_use_nulls = 0;

-- Per campaign and day, side by side with TikTok's own numbers: sums only,
-- ratios come from queries/ and the export. An attributed conversion counts
-- once per campaign even when several touches of it assisted.
CREATE OR REPLACE VIEW adhouse.attribution_campaign_daily AS
SELECT
    advertiser_id, campaign_id, stat_date, currency,
    sumOrNull(spend) AS spend,
    sum(tiktok_conversions) AS tiktok_conversions,
    sum(tiktok_purchases) AS tiktok_purchases,
    sumOrNull(revenue_tiktok) AS revenue_tiktok,
    sum(ga4_last_click_conversions) AS ga4_last_click_conversions,
    sum(revenue_ga4_last_click) AS revenue_ga4_last_click,
    sum(ga4_assisted_conversions) AS ga4_assisted_conversions,
    sum(revenue_ga4_assisted) AS revenue_ga4_assisted,
    sum(crm_deals) AS crm_deals,
    sum(revenue_crm) AS revenue_crm,
    sum(shop_orders) AS shop_orders,
    sum(revenue_shop) AS revenue_shop,
    if(countIf(cogs_unknown) > 0, NULL, sum(cost_of_goods)) AS cost_of_goods,
    sum(refunds) AS refunds,
    sum(fees) AS fees
FROM (
    SELECT advertiser_id, campaign_id, stat_date, currency,
        CAST(spend, 'Nullable(Decimal(38, 6))') AS spend,
        ifNull(conversion, 0) AS tiktok_conversions, ifNull(complete_payment, 0) AS tiktok_purchases,
        CAST(complete_payment_value, 'Nullable(Decimal(38, 6))') AS revenue_tiktok,
        0 AS ga4_last_click_conversions, CAST(0, 'Decimal(38, 6)') AS revenue_ga4_last_click,
        0 AS ga4_assisted_conversions, CAST(0, 'Decimal(38, 6)') AS revenue_ga4_assisted,
        0 AS crm_deals, CAST(0, 'Decimal(38, 6)') AS revenue_crm,
        0 AS shop_orders, CAST(0, 'Decimal(38, 6)') AS revenue_shop,
        CAST(0, 'Decimal(38, 6)') AS cost_of_goods, 0 AS cogs_unknown, CAST(0, 'Decimal(38, 6)') AS refunds, CAST(0, 'Decimal(38, 6)') AS fees
    FROM adhouse.campaign_stats_daily
    UNION ALL
    SELECT advertiser_id, campaign_id, credit_date, currency,
        NULL, 0, 0, NULL,
        credit = 'ga4_last_click', if(credit = 'ga4_last_click', ifNull(revenue, 0), 0),
        credit = 'ga4_assisted', if(credit = 'ga4_assisted', ifNull(revenue, 0), 0),
        credit = 'crm', if(credit = 'crm', ifNull(revenue, 0), 0),
        credit = 'shop', if(credit = 'shop', ifNull(revenue, 0), 0),
        ifNull(cost_of_goods, 0), isNull(cost_of_goods), refunds, fees
    FROM (SELECT * FROM adhouse.attribution_matched ORDER BY credit, conversion_key, advertiser_id, campaign_id, ttclid
          LIMIT 1 BY credit, conversion_key, advertiser_id, campaign_id)
)
GROUP BY advertiser_id, campaign_id, stat_date, currency;

-- Per adgroup and day, side by side with TikTok's own numbers: sums only,
-- ratios come from queries/ and the export. An attributed conversion counts
-- once per adgroup even when several touches of it assisted.
CREATE OR REPLACE VIEW adhouse.attribution_adgroup_daily AS
SELECT
    advertiser_id, campaign_id, adgroup_id, stat_date, currency,
    sumOrNull(spend) AS spend,
    sum(tiktok_conversions) AS tiktok_conversions,
    sum(tiktok_purchases) AS tiktok_purchases,
    sumOrNull(revenue_tiktok) AS revenue_tiktok,
    sum(ga4_last_click_conversions) AS ga4_last_click_conversions,
    sum(revenue_ga4_last_click) AS revenue_ga4_last_click,
    sum(ga4_assisted_conversions) AS ga4_assisted_conversions,
    sum(revenue_ga4_assisted) AS revenue_ga4_assisted,
    sum(crm_deals) AS crm_deals,
    sum(revenue_crm) AS revenue_crm,
    sum(shop_orders) AS shop_orders,
    sum(revenue_shop) AS revenue_shop,
    if(countIf(cogs_unknown) > 0, NULL, sum(cost_of_goods)) AS cost_of_goods,
    sum(refunds) AS refunds,
    sum(fees) AS fees
FROM (
    SELECT advertiser_id, campaign_id, adgroup_id, stat_date, currency,
        CAST(spend, 'Nullable(Decimal(38, 6))') AS spend,
        ifNull(conversion, 0) AS tiktok_conversions, ifNull(complete_payment, 0) AS tiktok_purchases,
        CAST(complete_payment_value, 'Nullable(Decimal(38, 6))') AS revenue_tiktok,
        0 AS ga4_last_click_conversions, CAST(0, 'Decimal(38, 6)') AS revenue_ga4_last_click,
        0 AS ga4_assisted_conversions, CAST(0, 'Decimal(38, 6)') AS revenue_ga4_assisted,
        0 AS crm_deals, CAST(0, 'Decimal(38, 6)') AS revenue_crm,
        0 AS shop_orders, CAST(0, 'Decimal(38, 6)') AS revenue_shop,
        CAST(0, 'Decimal(38, 6)') AS cost_of_goods, 0 AS cogs_unknown, CAST(0, 'Decimal(38, 6)') AS refunds, CAST(0, 'Decimal(38, 6)') AS fees
    FROM adhouse.adgroup_stats_daily
    UNION ALL
    SELECT advertiser_id, campaign_id, adgroup_id, credit_date, currency,
        NULL, 0, 0, NULL,
        credit = 'ga4_last_click', if(credit = 'ga4_last_click', ifNull(revenue, 0), 0),
        credit = 'ga4_assisted', if(credit = 'ga4_assisted', ifNull(revenue, 0), 0),
        credit = 'crm', if(credit = 'crm', ifNull(revenue, 0), 0),
        credit = 'shop', if(credit = 'shop', ifNull(revenue, 0), 0),
        ifNull(cost_of_goods, 0), isNull(cost_of_goods), refunds, fees
    FROM (SELECT * FROM adhouse.attribution_matched ORDER BY credit, conversion_key, advertiser_id, campaign_id, adgroup_id, ttclid
          LIMIT 1 BY credit, conversion_key, advertiser_id, campaign_id, adgroup_id)
)
GROUP BY advertiser_id, campaign_id, adgroup_id, stat_date, currency;

-- Per ad and day, side by side with TikTok's own numbers: sums only,
-- ratios come from queries/ and the export. An attributed conversion counts
-- once per ad even when several touches of it assisted.
CREATE OR REPLACE VIEW adhouse.attribution_ad_daily AS
SELECT
    advertiser_id, campaign_id, adgroup_id, ad_id, stat_date, currency,
    sumOrNull(spend) AS spend,
    sum(tiktok_conversions) AS tiktok_conversions,
    sum(tiktok_purchases) AS tiktok_purchases,
    sumOrNull(revenue_tiktok) AS revenue_tiktok,
    sum(ga4_last_click_conversions) AS ga4_last_click_conversions,
    sum(revenue_ga4_last_click) AS revenue_ga4_last_click,
    sum(ga4_assisted_conversions) AS ga4_assisted_conversions,
    sum(revenue_ga4_assisted) AS revenue_ga4_assisted,
    sum(crm_deals) AS crm_deals,
    sum(revenue_crm) AS revenue_crm,
    sum(shop_orders) AS shop_orders,
    sum(revenue_shop) AS revenue_shop,
    if(countIf(cogs_unknown) > 0, NULL, sum(cost_of_goods)) AS cost_of_goods,
    sum(refunds) AS refunds,
    sum(fees) AS fees
FROM (
    SELECT advertiser_id, campaign_id, adgroup_id, ad_id, stat_date, currency,
        CAST(spend, 'Nullable(Decimal(38, 6))') AS spend,
        ifNull(conversion, 0) AS tiktok_conversions, ifNull(complete_payment, 0) AS tiktok_purchases,
        CAST(complete_payment_value, 'Nullable(Decimal(38, 6))') AS revenue_tiktok,
        0 AS ga4_last_click_conversions, CAST(0, 'Decimal(38, 6)') AS revenue_ga4_last_click,
        0 AS ga4_assisted_conversions, CAST(0, 'Decimal(38, 6)') AS revenue_ga4_assisted,
        0 AS crm_deals, CAST(0, 'Decimal(38, 6)') AS revenue_crm,
        0 AS shop_orders, CAST(0, 'Decimal(38, 6)') AS revenue_shop,
        CAST(0, 'Decimal(38, 6)') AS cost_of_goods, 0 AS cogs_unknown, CAST(0, 'Decimal(38, 6)') AS refunds, CAST(0, 'Decimal(38, 6)') AS fees
    FROM adhouse.ad_stats_daily
    UNION ALL
    SELECT advertiser_id, campaign_id, adgroup_id, ad_id, credit_date, currency,
        NULL, 0, 0, NULL,
        credit = 'ga4_last_click', if(credit = 'ga4_last_click', ifNull(revenue, 0), 0),
        credit = 'ga4_assisted', if(credit = 'ga4_assisted', ifNull(revenue, 0), 0),
        credit = 'crm', if(credit = 'crm', ifNull(revenue, 0), 0),
        credit = 'shop', if(credit = 'shop', ifNull(revenue, 0), 0),
        ifNull(cost_of_goods, 0), isNull(cost_of_goods), refunds, fees
    FROM (SELECT * FROM adhouse.attribution_matched ORDER BY credit, conversion_key, advertiser_id, campaign_id, adgroup_id, ad_id, ttclid
          LIMIT 1 BY credit, conversion_key, advertiser_id, campaign_id, adgroup_id, ad_id)
)
GROUP BY advertiser_id, campaign_id, adgroup_id, ad_id, stat_date, currency;

INSERT INTO adhouse.attribution_settings (version, lookback_days, match_by, conversion_events, default_margin, updated_at)
VALUES (0, 30, 'id_or_name', ['purchase'], NULL, '1970-01-01 00:00:00');

-- migration video_quartiles
-- The video quartile views (video_views_p25, _p50, _p75, _p100) get columns
-- of their own in every statistics table; until now they were kept in
-- extra_metrics, from where rows loaded before move into the new columns.
ALTER TABLE adhouse.load_advertiser_stats_daily_local
    ADD COLUMN IF NOT EXISTS video_views_p25 Nullable(UInt64) COMMENT 'video views that reached 25% of the video' AFTER video_watched_6s,
    ADD COLUMN IF NOT EXISTS video_views_p50 Nullable(UInt64) COMMENT 'video views that reached 50% of the video' AFTER video_views_p25,
    ADD COLUMN IF NOT EXISTS video_views_p75 Nullable(UInt64) COMMENT 'video views that reached 75% of the video' AFTER video_views_p50,
    ADD COLUMN IF NOT EXISTS video_views_p100 Nullable(UInt64) COMMENT 'video views that reached the end of the video' AFTER video_views_p75;

ALTER TABLE adhouse.load_advertiser_stats_daily
    ADD COLUMN IF NOT EXISTS video_views_p25 Nullable(UInt64) COMMENT 'video views that reached 25% of the video' AFTER video_watched_6s,
    ADD COLUMN IF NOT EXISTS video_views_p50 Nullable(UInt64) COMMENT 'video views that reached 50% of the video' AFTER video_views_p25,
    ADD COLUMN IF NOT EXISTS video_views_p75 Nullable(UInt64) COMMENT 'video views that reached 75% of the video' AFTER video_views_p50,
    ADD COLUMN IF NOT EXISTS video_views_p100 Nullable(UInt64) COMMENT 'video views that reached the end of the video' AFTER video_views_p75;

ALTER TABLE adhouse.load_advertiser_stats_daily_local
    UPDATE video_views_p25 = if(mapContains(extra_metrics, 'video_views_p25'), toUInt64OrNull(extra_metrics['video_views_p25']), video_views_p25),
    video_views_p50 = if(mapContains(extra_metrics, 'video_views_p50'), toUInt64OrNull(extra_metrics['video_views_p50']), video_views_p50),
    video_views_p75 = if(mapContains(extra_metrics, 'video_views_p75'), toUInt64OrNull(extra_metrics['video_views_p75']), video_views_p75),
    video_views_p100 = if(mapContains(extra_metrics, 'video_views_p100'), toUInt64OrNull(extra_metrics['video_views_p100']), video_views_p100),
    extra_metrics = mapFilter((k, v) -> NOT has(['video_views_p25', 'video_views_p50', 'video_views_p75', 'video_views_p100'], k), extra_metrics)
    WHERE hasAny(mapKeys(extra_metrics), ['video_views_p25', 'video_views_p50', 'video_views_p75', 'video_views_p100'])
    SETTINGS mutations_sync = 2;

ALTER TABLE adhouse.load_campaign_stats_daily_local
    ADD COLUMN IF NOT EXISTS video_views_p25 Nullable(UInt64) COMMENT 'video views that reached 25% of the video' AFTER video_watched_6s,
    ADD COLUMN IF NOT EXISTS video_views_p50 Nullable(UInt64) COMMENT 'video views that reached 50% of the video' AFTER video_views_p25,
    ADD COLUMN IF NOT EXISTS video_views_p75 Nullable(UInt64) COMMENT 'video views that reached 75% of the video' AFTER video_views_p50,
    ADD COLUMN IF NOT EXISTS video_views_p100 Nullable(UInt64) COMMENT 'video views that reached the end of the video' AFTER video_views_p75;

ALTER TABLE adhouse.load_campaign_stats_daily
    ADD COLUMN IF NOT EXISTS video_views_p25 Nullable(UInt64) COMMENT 'video views that reached 25% of the video' AFTER video_watched_6s,
    ADD COLUMN IF NOT EXISTS video_views_p50 Nullable(UInt64) COMMENT 'video views that reached 50% of the video' AFTER video_views_p25,
    ADD COLUMN IF NOT EXISTS video_views_p75 Nullable(UInt64) COMMENT 'video views that reached 75% of the video' AFTER video_views_p50,
    ADD COLUMN IF NOT EXISTS video_views_p100 Nullable(UInt64) COMMENT 'video views that reached the end of the video' AFTER video_views_p75;

ALTER TABLE adhouse.load_campaign_stats_daily_local
    UPDATE video_views_p25 = if(mapContains(extra_metrics, 'video_views_p25'), toUInt64OrNull(extra_metrics['video_views_p25']), video_views_p25),
    video_views_p50 = if(mapContains(extra_metrics, 'video_views_p50'), toUInt64OrNull(extra_metrics['video_views_p50']), video_views_p50),
    video_views_p75 = if(mapContains(extra_metrics, 'video_views_p75'), toUInt64OrNull(extra_metrics['video_views_p75']), video_views_p75),
    video_views_p100 = if(mapContains(extra_metrics, 'video_views_p100'), toUInt64OrNull(extra_metrics['video_views_p100']), video_views_p100),
    extra_metrics = mapFilter((k, v) -> NOT has(['video_views_p25', 'video_views_p50', 'video_views_p75', 'video_views_p100'], k), extra_metrics)
    WHERE hasAny(mapKeys(extra_metrics), ['video_views_p25', 'video_views_p50', 'video_views_p75', 'video_views_p100'])
    SETTINGS mutations_sync = 2;

ALTER TABLE adhouse.load_adgroup_stats_daily_local
    ADD COLUMN IF NOT EXISTS video_views_p25 Nullable(UInt64) COMMENT 'video views that reached 25% of the video' AFTER video_watched_6s,
    ADD COLUMN IF NOT EXISTS video_views_p50 Nullable(UInt64) COMMENT 'video views that reached 50% of the video' AFTER video_views_p25,
    ADD COLUMN IF NOT EXISTS video_views_p75 Nullable(UInt64) COMMENT 'video views that reached 75% of the video' AFTER video_views_p50,
    ADD COLUMN IF NOT EXISTS video_views_p100 Nullable(UInt64) COMMENT 'video views that reached the end of the video' AFTER video_views_p75;

ALTER TABLE adhouse.load_adgroup_stats_daily
    ADD COLUMN IF NOT EXISTS video_views_p25 Nullable(UInt64) COMMENT 'video views that reached 25% of the video' AFTER video_watched_6s,
    ADD COLUMN IF NOT EXISTS video_views_p50 Nullable(UInt64) COMMENT 'video views that reached 50% of the video' AFTER video_views_p25,
    ADD COLUMN IF NOT EXISTS video_views_p75 Nullable(UInt64) COMMENT 'video views that reached 75% of the video' AFTER video_views_p50,
    ADD COLUMN IF NOT EXISTS video_views_p100 Nullable(UInt64) COMMENT 'video views that reached the end of the video' AFTER video_views_p75;

ALTER TABLE adhouse.load_adgroup_stats_daily_local
    UPDATE video_views_p25 = if(mapContains(extra_metrics, 'video_views_p25'), toUInt64OrNull(extra_metrics['video_views_p25']), video_views_p25),
    video_views_p50 = if(mapContains(extra_metrics, 'video_views_p50'), toUInt64OrNull(extra_metrics['video_views_p50']), video_views_p50),
    video_views_p75 = if(mapContains(extra_metrics, 'video_views_p75'), toUInt64OrNull(extra_metrics['video_views_p75']), video_views_p75),
    video_views_p100 = if(mapContains(extra_metrics, 'video_views_p100'), toUInt64OrNull(extra_metrics['video_views_p100']), video_views_p100),
    extra_metrics = mapFilter((k, v) -> NOT has(['video_views_p25', 'video_views_p50', 'video_views_p75', 'video_views_p100'], k), extra_metrics)
    WHERE hasAny(mapKeys(extra_metrics), ['video_views_p25', 'video_views_p50', 'video_views_p75', 'video_views_p100'])
    SETTINGS mutations_sync = 2;

ALTER TABLE adhouse.load_ad_stats_daily_local
    ADD COLUMN IF NOT EXISTS video_views_p25 Nullable(UInt64) COMMENT 'video views that reached 25% of the video' AFTER video_watched_6s,
    ADD COLUMN IF NOT EXISTS video_views_p50 Nullable(UInt64) COMMENT 'video views that reached 50% of the video' AFTER video_views_p25,
    ADD COLUMN IF NOT EXISTS video_views_p75 Nullable(UInt64) COMMENT 'video views that reached 75% of the video' AFTER video_views_p50,
    ADD COLUMN IF NOT EXISTS video_views_p100 Nullable(UInt64) COMMENT 'video views that reached the end of the video' AFTER video_views_p75;

ALTER TABLE adhouse.load_ad_stats_daily
    ADD COLUMN IF NOT EXISTS video_views_p25 Nullable(UInt64) COMMENT 'video views that reached 25% of the video' AFTER video_watched_6s,
    ADD COLUMN IF NOT EXISTS video_views_p50 Nullable(UInt64) COMMENT 'video views that reached 50% of the video' AFTER video_views_p25,
    ADD COLUMN IF NOT EXISTS video_views_p75 Nullable(UInt64) COMMENT 'video views that reached 75% of the video' AFTER video_views_p50,
    ADD COLUMN IF NOT EXISTS video_views_p100 Nullable(UInt64) COMMENT 'video views that reached the end of the video' AFTER video_views_p75;

ALTER TABLE adhouse.load_ad_stats_daily_local
    UPDATE video_views_p25 = if(mapContains(extra_metrics, 'video_views_p25'), toUInt64OrNull(extra_metrics['video_views_p25']), video_views_p25),
    video_views_p50 = if(mapContains(extra_metrics, 'video_views_p50'), toUInt64OrNull(extra_metrics['video_views_p50']), video_views_p50),
    video_views_p75 = if(mapContains(extra_metrics, 'video_views_p75'), toUInt64OrNull(extra_metrics['video_views_p75']), video_views_p75),
    video_views_p100 = if(mapContains(extra_metrics, 'video_views_p100'), toUInt64OrNull(extra_metrics['video_views_p100']), video_views_p100),
    extra_metrics = mapFilter((k, v) -> NOT has(['video_views_p25', 'video_views_p50', 'video_views_p75', 'video_views_p100'], k), extra_metrics)
    WHERE hasAny(mapKeys(extra_metrics), ['video_views_p25', 'video_views_p50', 'video_views_p75', 'video_views_p100'])
    SETTINGS mutations_sync = 2;

ALTER TABLE adhouse.load_advertiser_stats_hourly_local
    ADD COLUMN IF NOT EXISTS video_views_p25 Nullable(UInt64) COMMENT 'video views that reached 25% of the video' AFTER video_watched_6s,
    ADD COLUMN IF NOT EXISTS video_views_p50 Nullable(UInt64) COMMENT 'video views that reached 50% of the video' AFTER video_views_p25,
    ADD COLUMN IF NOT EXISTS video_views_p75 Nullable(UInt64) COMMENT 'video views that reached 75% of the video' AFTER video_views_p50,
    ADD COLUMN IF NOT EXISTS video_views_p100 Nullable(UInt64) COMMENT 'video views that reached the end of the video' AFTER video_views_p75;

ALTER TABLE adhouse.load_advertiser_stats_hourly
    ADD COLUMN IF NOT EXISTS video_views_p25 Nullable(UInt64) COMMENT 'video views that reached 25% of the video' AFTER video_watched_6s,
    ADD COLUMN IF NOT EXISTS video_views_p50 Nullable(UInt64) COMMENT 'video views that reached 50% of the video' AFTER video_views_p25,
    ADD COLUMN IF NOT EXISTS video_views_p75 Nullable(UInt64) COMMENT 'video views that reached 75% of the video' AFTER video_views_p50,
    ADD COLUMN IF NOT EXISTS video_views_p100 Nullable(UInt64) COMMENT 'video views that reached the end of the video' AFTER video_views_p75;

ALTER TABLE adhouse.load_advertiser_stats_hourly_local
    UPDATE video_views_p25 = if(mapContains(extra_metrics, 'video_views_p25'), toUInt64OrNull(extra_metrics['video_views_p25']), video_views_p25),
    video_views_p50 = if(mapContains(extra_metrics, 'video_views_p50'), toUInt64OrNull(extra_metrics['video_views_p50']), video_views_p50),
    video_views_p75 = if(mapContains(extra_metrics, 'video_views_p75'), toUInt64OrNull(extra_metrics['video_views_p75']), video_views_p75),
    video_views_p100 = if(mapContains(extra_metrics, 'video_views_p100'), toUInt64OrNull(extra_metrics['video_views_p100']), video_views_p100),
    extra_metrics = mapFilter((k, v) -> NOT has(['video_views_p25', 'video_views_p50', 'video_views_p75', 'video_views_p100'], k), extra_metrics)
    WHERE hasAny(mapKeys(extra_metrics), ['video_views_p25', 'video_views_p50', 'video_views_p75', 'video_views_p100'])
    SETTINGS mutations_sync = 2;

ALTER TABLE adhouse.load_campaign_stats_hourly_local
    ADD COLUMN IF NOT EXISTS video_views_p25 Nullable(UInt64) COMMENT 'video views that reached 25% of the video' AFTER video_watched_6s,
    ADD COLUMN IF NOT EXISTS video_views_p50 Nullable(UInt64) COMMENT 'video views that reached 50% of the video' AFTER video_views_p25,
    ADD COLUMN IF NOT EXISTS video_views_p75 Nullable(UInt64) COMMENT 'video views that reached 75% of the video' AFTER video_views_p50,
    ADD COLUMN IF NOT EXISTS video_views_p100 Nullable(UInt64) COMMENT 'video views that reached the end of the video' AFTER video_views_p75;

ALTER TABLE adhouse.load_campaign_stats_hourly
    ADD COLUMN IF NOT EXISTS video_views_p25 Nullable(UInt64) COMMENT 'video views that reached 25% of the video' AFTER video_watched_6s,
    ADD COLUMN IF NOT EXISTS video_views_p50 Nullable(UInt64) COMMENT 'video views that reached 50% of the video' AFTER video_views_p25,
    ADD COLUMN IF NOT EXISTS video_views_p75 Nullable(UInt64) COMMENT 'video views that reached 75% of the video' AFTER video_views_p50,
    ADD COLUMN IF NOT EXISTS video_views_p100 Nullable(UInt64) COMMENT 'video views that reached the end of the video' AFTER video_views_p75;

ALTER TABLE adhouse.load_campaign_stats_hourly_local
    UPDATE video_views_p25 = if(mapContains(extra_metrics, 'video_views_p25'), toUInt64OrNull(extra_metrics['video_views_p25']), video_views_p25),
    video_views_p50 = if(mapContains(extra_metrics, 'video_views_p50'), toUInt64OrNull(extra_metrics['video_views_p50']), video_views_p50),
    video_views_p75 = if(mapContains(extra_metrics, 'video_views_p75'), toUInt64OrNull(extra_metrics['video_views_p75']), video_views_p75),
    video_views_p100 = if(mapContains(extra_metrics, 'video_views_p100'), toUInt64OrNull(extra_metrics['video_views_p100']), video_views_p100),
    extra_metrics = mapFilter((k, v) -> NOT has(['video_views_p25', 'video_views_p50', 'video_views_p75', 'video_views_p100'], k), extra_metrics)
    WHERE hasAny(mapKeys(extra_metrics), ['video_views_p25', 'video_views_p50', 'video_views_p75', 'video_views_p100'])
    SETTINGS mutations_sync = 2;

ALTER TABLE adhouse.load_adgroup_stats_hourly_local
    ADD COLUMN IF NOT EXISTS video_views_p25 Nullable(UInt64) COMMENT 'video views that reached 25% of the video' AFTER video_watched_6s,
    ADD COLUMN IF NOT EXISTS video_views_p50 Nullable(UInt64) COMMENT 'video views that reached 50% of the video' AFTER video_views_p25,
    ADD COLUMN IF NOT EXISTS video_views_p75 Nullable(UInt64) COMMENT 'video views that reached 75% of the video' AFTER video_views_p50,
    ADD COLUMN IF NOT EXISTS video_views_p100 Nullable(UInt64) COMMENT 'video views that reached the end of the video' AFTER video_views_p75;

ALTER TABLE adhouse.load_adgroup_stats_hourly
    ADD COLUMN IF NOT EXISTS video_views_p25 Nullable(UInt64) COMMENT 'video views that reached 25% of the video' AFTER video_watched_6s,
    ADD COLUMN IF NOT EXISTS video_views_p50 Nullable(UInt64) COMMENT 'video views that reached 50% of the video' AFTER video_views_p25,
    ADD COLUMN IF NOT EXISTS video_views_p75 Nullable(UInt64) COMMENT 'video views that reached 75% of the video' AFTER video_views_p50,
    ADD COLUMN IF NOT EXISTS video_views_p100 Nullable(UInt64) COMMENT 'video views that reached the end of the video' AFTER video_views_p75;

ALTER TABLE adhouse.load_adgroup_stats_hourly_local
    UPDATE video_views_p25 = if(mapContains(extra_metrics, 'video_views_p25'), toUInt64OrNull(extra_metrics['video_views_p25']), video_views_p25),
    video_views_p50 = if(mapContains(extra_metrics, 'video_views_p50'), toUInt64OrNull(extra_metrics['video_views_p50']), video_views_p50),
    video_views_p75 = if(mapContains(extra_metrics, 'video_views_p75'), toUInt64OrNull(extra_metrics['video_views_p75']), video_views_p75),
    video_views_p100 = if(mapContains(extra_metrics, 'video_views_p100'), toUInt64OrNull(extra_metrics['video_views_p100']), video_views_p100),
    extra_metrics = mapFilter((k, v) -> NOT has(['video_views_p25', 'video_views_p50', 'video_views_p75', 'video_views_p100'], k), extra_metrics)
    WHERE hasAny(mapKeys(extra_metrics), ['video_views_p25', 'video_views_p50', 'video_views_p75', 'video_views_p100'])
    SETTINGS mutations_sync = 2;

ALTER TABLE adhouse.load_ad_stats_hourly_local
    ADD COLUMN IF NOT EXISTS video_views_p25 Nullable(UInt64) COMMENT 'video views that reached 25% of the video' AFTER video_watched_6s,
    ADD COLUMN IF NOT EXISTS video_views_p50 Nullable(UInt64) COMMENT 'video views that reached 50% of the video' AFTER video_views_p25,
    ADD COLUMN IF NOT EXISTS video_views_p75 Nullable(UInt64) COMMENT 'video views that reached 75% of the video' AFTER video_views_p50,
    ADD COLUMN IF NOT EXISTS video_views_p100 Nullable(UInt64) COMMENT 'video views that reached the end of the video' AFTER video_views_p75;

ALTER TABLE adhouse.load_ad_stats_hourly
    ADD COLUMN IF NOT EXISTS video_views_p25 Nullable(UInt64) COMMENT 'video views that reached 25% of the video' AFTER video_watched_6s,
    ADD COLUMN IF NOT EXISTS video_views_p50 Nullable(UInt64) COMMENT 'video views that reached 50% of the video' AFTER video_views_p25,
    ADD COLUMN IF NOT EXISTS video_views_p75 Nullable(UInt64) COMMENT 'video views that reached 75% of the video' AFTER video_views_p50,
    ADD COLUMN IF NOT EXISTS video_views_p100 Nullable(UInt64) COMMENT 'video views that reached the end of the video' AFTER video_views_p75;

ALTER TABLE adhouse.load_ad_stats_hourly_local
    UPDATE video_views_p25 = if(mapContains(extra_metrics, 'video_views_p25'), toUInt64OrNull(extra_metrics['video_views_p25']), video_views_p25),
    video_views_p50 = if(mapContains(extra_metrics, 'video_views_p50'), toUInt64OrNull(extra_metrics['video_views_p50']), video_views_p50),
    video_views_p75 = if(mapContains(extra_metrics, 'video_views_p75'), toUInt64OrNull(extra_metrics['video_views_p75']), video_views_p75),
    video_views_p100 = if(mapContains(extra_metrics, 'video_views_p100'), toUInt64OrNull(extra_metrics['video_views_p100']), video_views_p100),
    extra_metrics = mapFilter((k, v) -> NOT has(['video_views_p25', 'video_views_p50', 'video_views_p75', 'video_views_p100'], k), extra_metrics)
    WHERE hasAny(mapKeys(extra_metrics), ['video_views_p25', 'video_views_p50', 'video_views_p75', 'video_views_p100'])
    SETTINGS mutations_sync = 2;

-- migration finance
-- GA4 as GA4 counts it: the referrer that gives a visit without campaign
-- parameters its source, the default channel group, and refunds.
ALTER TABLE adhouse.load_ga4_events_local ADD COLUMN IF NOT EXISTS page_referrer String COMMENT 'event_params.page_referrer: the source of a visit without campaign parameters' AFTER page_location, ADD COLUMN IF NOT EXISTS channel_group LowCardinality(String) COMMENT 'GA4 default channel group of the touch (Direct, Paid Social, Organic Search…)' AFTER channel, ADD COLUMN IF NOT EXISTS refund_value Nullable(Decimal(18, 6)) COMMENT 'ecommerce.refund_value of a refund event' AFTER purchase_revenue;

ALTER TABLE adhouse.load_ga4_events ADD COLUMN IF NOT EXISTS page_referrer String COMMENT 'event_params.page_referrer: the source of a visit without campaign parameters' AFTER page_location, ADD COLUMN IF NOT EXISTS channel_group LowCardinality(String) COMMENT 'GA4 default channel group of the touch (Direct, Paid Social, Organic Search…)' AFTER channel, ADD COLUMN IF NOT EXISTS refund_value Nullable(Decimal(18, 6)) COMMENT 'ecommerce.refund_value of a refund event' AFTER purchase_revenue;

-- Shopify's numeric order id, which GA4 purchases carry as transaction_id.
ALTER TABLE adhouse.load_shop_orders_local ADD COLUMN IF NOT EXISTS order_ref String COMMENT 'the shop''s own order id (Shopify Id), matched against GA4 transaction_id' AFTER order_id;

ALTER TABLE adhouse.load_shop_orders ADD COLUMN IF NOT EXISTS order_ref String COMMENT 'the shop''s own order id (Shopify Id), matched against GA4 transaction_id' AFTER order_id;

-- Finance rules a team chooses (docs/attribution.md, "Finance rules").
ALTER TABLE adhouse.attribution_settings_local ADD COLUMN IF NOT EXISTS refunded_order_cost LowCardinality(String) DEFAULT 'keep' COMMENT 'keep or drop: the cost of goods of a fully refunded order', ADD COLUMN IF NOT EXISTS fee_per_order Decimal(18, 6) DEFAULT 0 COMMENT 'a fee per order, added to the file''s fee column', ADD COLUMN IF NOT EXISTS fee_percent Decimal(9, 6) DEFAULT 0 COMMENT 'a fee in percent of order revenue, added to the file''s fee column';

ALTER TABLE adhouse.attribution_settings ADD COLUMN IF NOT EXISTS refunded_order_cost LowCardinality(String) DEFAULT 'keep' COMMENT 'keep or drop: the cost of goods of a fully refunded order', ADD COLUMN IF NOT EXISTS fee_per_order Decimal(18, 6) DEFAULT 0 COMMENT 'a fee per order, added to the file''s fee column', ADD COLUMN IF NOT EXISTS fee_percent Decimal(9, 6) DEFAULT 0 COMMENT 'a fee in percent of order revenue, added to the file''s fee column';

-- Exchange rates: one unit of base costs rate units of quote on rate_date.
CREATE TABLE IF NOT EXISTS adhouse.load_fx_rates_local
(
    file_key     String,
    load_version UInt64,
    line         UInt64,
    rate_date    Date,
    base         LowCardinality(String),
    quote        LowCardinality(String),
    rate         Decimal(38, 12)
)
ENGINE = ReplacingMergeTree()
ORDER BY (file_key, load_version, line);

CREATE TABLE IF NOT EXISTS adhouse.load_fx_rates AS adhouse.load_fx_rates_local
ENGINE = Distributed(`ads_cluster`, adhouse, load_fx_rates_local, cityHash64(file_key));

-- migration reporting_currency
-- The currency finance reports in: the bi_attribution_*_daily_reporting
-- views and the export convert every amount into it with the imported
-- exchange rates (docs/attribution.md, "One currency"). Empty: none.
ALTER TABLE adhouse.attribution_settings_local ADD COLUMN IF NOT EXISTS reporting_currency LowCardinality(String) DEFAULT '' COMMENT 'ISO 4217 code the reporting views convert into; empty for none';

ALTER TABLE adhouse.attribution_settings ADD COLUMN IF NOT EXISTS reporting_currency LowCardinality(String) DEFAULT '' COMMENT 'ISO 4217 code the reporting views convert into; empty for none';

-- migration api_calls
-- Every API request of a run is in sync_runs: a window's row counts its
-- report calls, an advertiser's entities row its entity lists, and the run's
-- own row (level 'run') the calls outside those (discovering advertisers,
-- advertiser info), so sum(api_calls) of a run_id is all of its calls. The
-- maps break each row's api_calls down.
ALTER TABLE adhouse.sync_runs_local ADD COLUMN IF NOT EXISTS api_calls_by_endpoint Map(LowCardinality(String), UInt64) COMMENT 'api_calls per endpoint: report/integrated/get, campaign/get, adgroup/get, ad/get, advertiser/info, oauth2/advertiser/get' AFTER retries;

ALTER TABLE adhouse.sync_runs ADD COLUMN IF NOT EXISTS api_calls_by_endpoint Map(LowCardinality(String), UInt64) COMMENT 'api_calls per endpoint: report/integrated/get, campaign/get, adgroup/get, ad/get, advertiser/info, oauth2/advertiser/get' AFTER retries;

ALTER TABLE adhouse.sync_runs_local ADD COLUMN IF NOT EXISTS api_calls_by_outcome Map(LowCardinality(String), UInt64) COMMENT 'api_calls per outcome: ok, rate_limited, advertiser_limited, server_error, timeout, transport_error, malformed, api_error, cancelled' AFTER api_calls_by_endpoint;

ALTER TABLE adhouse.sync_runs ADD COLUMN IF NOT EXISTS api_calls_by_outcome Map(LowCardinality(String), UInt64) COMMENT 'api_calls per outcome: ok, rate_limited, advertiser_limited, server_error, timeout, transport_error, malformed, api_error, cancelled' AFTER api_calls_by_endpoint;

ALTER TABLE adhouse.sync_runs_local COMMENT COLUMN level 'advertiser, campaign, adgroup or ad for a window; entities for an advertiser''s entity lists; run for the run''s other calls';

ALTER TABLE adhouse.sync_runs COMMENT COLUMN level 'advertiser, campaign, adgroup or ad for a window; entities for an advertiser''s entity lists; run for the run''s other calls';

ALTER TABLE adhouse.sync_runs_local COMMENT COLUMN outcome 'ok, failed, abandoned (cancelled before it finished) or split (TikTok answered 40067: the halves have rows of their own)';

ALTER TABLE adhouse.sync_runs COMMENT COLUMN outcome 'ok, failed, abandoned (cancelled before it finished) or split (TikTok answered 40067: the halves have rows of their own)';

-- migration materialise
-- Refresh plans of the materialised BI tables (queries/materialise): the days
-- of a table that a refresh rebuilds, with the committed window and batches it
-- rebuilds each from, read once from load_commits. Every step of the refresh
-- reads this plan, so the days it deletes and the days it rebuilds are the
-- same days at the same versions. A plan is only needed while its refresh
-- runs; the TTL clears plans a day later (including those of a refresh that
-- was killed).
CREATE TABLE IF NOT EXISTS adhouse.materialise_plan_local
(
    refresh_id     String,
    bi_table       LowCardinality(String),
    advertiser_id  String,
    stat_date      Date,
    window_version UInt64 COMMENT 'the committed window the day is rebuilt from; 0 when the day has no rows any more',
    batch_versions Array(UInt64) COMMENT 'load_version of the batches of that window',
    built          UInt8 COMMENT '1 when the table holds rows of the day, which the rebuild replaces',
    names_only     UInt8 COMMENT '1 when only names changed (a rename, or entities synced after the statistics)',
    committed_at   DateTime64(3, 'UTC') COMMENT 'when that window was committed',
    planned_at     DateTime64(3, 'UTC')
)
ENGINE = MergeTree()
ORDER BY (refresh_id, bi_table, advertiser_id, stat_date)
TTL toDateTime(planned_at) + INTERVAL 1 DAY;

CREATE TABLE IF NOT EXISTS adhouse.materialise_plan AS adhouse.materialise_plan_local
ENGINE = Distributed(`ads_cluster`, adhouse, materialise_plan_local, cityHash64(advertiser_id));

-- migration materialise_names
-- How far the name check of each materialised BI table has looked: a
-- refresh compares the names in a table with the entities' current names
-- only for advertisers with entity rows loaded (load_version, which orders
-- loads by time) after checked_to, since every older entity row was
-- compared by an earlier refresh. checked_to trails the refresh that wrote it
-- by a margin (queries.namesMargin), so a load still in flight while it ran
-- is looked at again. No row yet: the next check reads every advertiser.
CREATE TABLE IF NOT EXISTS adhouse.materialise_names_local
(
    bi_table   LowCardinality(String) COMMENT 'the materialised table, e.g. materialised_campaign_daily',
    checked_to UInt64 COMMENT 'entity rows with a lower or equal load_version have been compared with the table',
    checked_at DateTime64(3, 'UTC') COMMENT 'when the refresh that compared them planned'
)
ENGINE = ReplacingMergeTree(checked_to)
ORDER BY bi_table;

CREATE TABLE IF NOT EXISTS adhouse.materialise_names AS adhouse.materialise_names_local
ENGINE = Distributed(`ads_cluster`, adhouse, materialise_names_local, cityHash64(bi_table));

-- migration commit_log
-- Every commit of every day, as made: load_commits keeps a day's newest
-- commit only (once merged), but a materialised BI table that missed several
-- commits of a day has been stale since the first of them, which is what
-- adhouse_bi_staleness_seconds reports (queries.Pending). The materialized
-- view logs each row inserted into load_commits; the INSERT below logs the
-- commits made before this migration, as far as load_commits still holds
-- them (a commit logged twice, by both or by a migration run again, is one
-- row once merged, and counts once either way). The TTL keeps 35 days, so
-- that reading the log costs a month of commits: a table that has missed
-- commits for longer shows the oldest missed commit still logged (about 35
-- days when syncs run daily).
CREATE TABLE IF NOT EXISTS adhouse.load_commit_log_local
(
    table_name     LowCardinality(String),
    advertiser_id  String,
    stat_date      Date,
    window_version UInt64 COMMENT 'the committed window (load_commits.window_version)',
    committed_at   DateTime64(3, 'UTC') COMMENT 'when that window was committed'
)
ENGINE = ReplacingMergeTree()
ORDER BY (table_name, advertiser_id, stat_date, window_version)
TTL toDateTime(committed_at) + INTERVAL 35 DAY;

CREATE TABLE IF NOT EXISTS adhouse.load_commit_log AS adhouse.load_commit_log_local
ENGINE = Distributed(`ads_cluster`, adhouse, load_commit_log_local, cityHash64(advertiser_id));

CREATE MATERIALIZED VIEW IF NOT EXISTS adhouse.load_commit_log_mv_local
TO adhouse.load_commit_log_local
AS SELECT table_name, advertiser_id, stat_date, window_version, committed_at FROM adhouse.load_commits_local;

INSERT INTO adhouse.load_commit_log (table_name, advertiser_id, stat_date, window_version, committed_at)
SELECT table_name, advertiser_id, stat_date, window_version, committed_at FROM adhouse.load_commits;


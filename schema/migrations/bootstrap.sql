-- Run before every migration: the database and the record of applied migrations.
CREATE DATABASE IF NOT EXISTS {{.DB}}{{onCluster}} ENGINE = Atomic;

CREATE TABLE IF NOT EXISTS {{local "schema_migrations"}}{{onCluster}}
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime64(3, 'UTC')
)
ENGINE = {{engine "ReplacingMergeTree" "applied_at"}}
ORDER BY version;
{{distributed "schema_migrations" "version"}}

-- Read-only access for BI tools on a ClickHouse server with SQL access
-- control (any self-managed server or ClickHouse Cloud). adhouse never runs
-- this file: the embedded engine has no writeable access storage, and gets
-- the same user from its users.xml instead (etl/warehouse, user adhouse_bi).
-- Render it for your database (queries.BIRoleSQL) or replace adhouse below,
-- set a password, and run it once as an administrator after `adhouse migrate`.
--
-- The role may SELECT the BI views (every view named bi_*) and nothing else:
-- not the versioned statistics tables, not the entity tables, not the
-- one-copy statistics views. The BI views are created with SQL SECURITY
-- DEFINER (queries.Definer), so reading one needs no grant on the tables
-- behind it. readonly = 2 refuses writes and DDL but lets BI drivers set
-- session settings, which readonly = 1 would refuse.
CREATE ROLE IF NOT EXISTS adhouse_bi_reader{{onCluster}};

GRANT{{onCluster}} SELECT ON {{.DB}}.bi_* TO adhouse_bi_reader;

CREATE SETTINGS PROFILE IF NOT EXISTS adhouse_bi_readonly{{onCluster}}
    SETTINGS readonly = 2, max_execution_time = 300, max_result_rows = 10000000
    TO adhouse_bi_reader;

CREATE USER IF NOT EXISTS adhouse_bi{{onCluster}}
    IDENTIFIED WITH sha256_password BY 'CHANGE-ME'
    DEFAULT ROLE adhouse_bi_reader;

GRANT{{onCluster}} adhouse_bi_reader TO adhouse_bi;

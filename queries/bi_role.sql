-- Read-only access for BI tools on a ClickHouse server with SQL access
-- control (any self-managed server or ClickHouse Cloud). adhouse never runs
-- this file: the embedded engine has no writeable access storage, and gets
-- the same user, limits and quota from its users.xml instead (etl/warehouse,
-- user adhouse_bi). Render it for your database and limits
-- (queries.BIRoleSQL, from the configuration's bi section) or replace the
-- values below, set a password, and run it once as an administrator after
-- `adhouse migrate`.
--
-- The role may SELECT the BI tables and views (every name bi_*) and
-- information_schema, nothing else: not the versioned statistics tables, not
-- the entity tables, not the one-copy statistics views. The BI views are
-- created with SQL SECURITY DEFINER (queries.Definer), so reading one needs
-- no grant on the tables behind it; the daily and hourly BI names are the
-- materialised tables themselves. readonly = 2 refuses writes and DDL but
-- lets BI drivers set session settings, which readonly = 1 would refuse; the
-- MIN/MAX and CONST constraints let a session lower a limit, never raise it.
CREATE ROLE IF NOT EXISTS adhouse_bi_reader{{onCluster}};

GRANT{{onCluster}} SELECT ON {{.DB}}.bi_*, SELECT ON information_schema.*, SELECT ON system.parts TO adhouse_bi_reader;

CREATE SETTINGS PROFILE IF NOT EXISTS adhouse_bi_readonly{{onCluster}}
    SETTINGS readonly = 2,
        max_execution_time = [[.MaxExecutionSeconds]] MIN 1 MAX [[.MaxExecutionSeconds]],
        max_memory_usage = [[.MaxMemoryBytes]] MIN 1 MAX [[.MaxMemoryBytes]],
        max_result_rows = [[.MaxResultRows]] MIN 1 MAX [[.MaxResultRows]],
        max_threads = [[.MaxThreads]] MIN 1 MAX [[.MaxThreads]],
        max_concurrent_queries_for_user = [[.MaxConcurrentQueries]] CONST,
        cancel_http_readonly_queries_on_client_close = 1 CONST,
        output_format_json_quote_decimals = 1,
        output_format_json_quote_64bit_integers = 1
    TO adhouse_bi_reader;

CREATE QUOTA IF NOT EXISTS adhouse_bi_quota{{onCluster}}
    FOR INTERVAL 1 hour MAX queries = [[.QuotaQueriesPerHour]], execution_time = [[.QuotaExecutionSecondsPerHour]], result_rows = [[.QuotaResultRowsPerHour]]
    TO adhouse_bi_reader;

CREATE USER IF NOT EXISTS adhouse_bi{{onCluster}}
    IDENTIFIED WITH sha256_password BY 'CHANGE-ME'
    DEFAULT ROLE adhouse_bi_reader;

GRANT{{onCluster}} adhouse_bi_reader TO adhouse_bi;

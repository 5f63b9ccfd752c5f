-- What housekeeping deleted, and when: the audit trail of retention (no personal data: paths, partitions,
-- counts). The job manifests of deleted print jobs are kept in var/audit/jobs/ (Settings.audit).
create schema if not exists audit;

-- One row per thing deleted (a folder, a file, a table partition).
-- Writer: housekeeping (convoc.housekeeping).
create table if not exists audit.deletion_log (
    run_day date not null,
    kind varchar not null,
    item varchar not null,
    reason varchar not null,
    files bigint not null,
    bytes bigint not null,
    rows bigint not null,
    deleted_at timestamp not null
);

-- One row per task instance (DAG, task, map index, run) that has written: its latest attempt. A transaction of
-- an older attempt (a zombie the scheduler gave up on, still running) is refused.
-- Writer: every writing task, before its own writes (convoc.warehouse.writer, in its transaction).
create table if not exists audit.writer_fence (
    task_key varchar not null,
    attempt integer not null,
    written_at timestamp not null
);

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

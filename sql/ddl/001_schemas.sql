-- Schemas of the warehouse, by layer (docs/warehouse.md, sql/README.md).
create schema if not exists raw;         -- the accepted landing rows, as validated (text)
create schema if not exists quarantine;  -- rejected rows, one row per line × rule
create schema if not exists staging;     -- valid rows, typed, one partition per snapshot day
create schema if not exists core;        -- versioned dimensions and facts
create schema if not exists marts;       -- analyst tables (later stages)

-- One row per landing file content loaded; the same file (name and SHA-256) is loaded once.
-- Writer: ingest (convoc.ingest).
create table if not exists raw.load_log (
    file_name varchar not null,
    source varchar not null,
    snapshot_date date not null,
    sha256 varchar not null,
    rows bigint not null,
    rejected_rows bigint not null,
    encoding varchar not null,
    loaded_at timestamp not null,
    primary key (file_name, sha256)
);

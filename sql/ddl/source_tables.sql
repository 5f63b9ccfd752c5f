-- The raw and quarantine tables of one landing source: a template, rendered once per source from its
-- contract (convoc.sources.specs) by convoc.sources.tables, which fills in the source's name and columns.
-- Written by the ingest stage only (convoc.ingest).

-- grain: one row per landing row no check refused, its values normalised as validated (text)
-- Writer: ingest (convoc.ingest).
create table if not exists raw.{source} (
    _file varchar not null,
    _line bigint not null,
    {columns}
);

-- grain: one row per rejected line × rule; column_name is null when the whole row is at fault
-- (malformed_row, bad_encoding), value_masked shows only the value's shape when it is personal
-- Writer: ingest (convoc.ingest).
create table if not exists quarantine.{source}_rejects (
    snapshot_date date not null,
    source_file varchar not null,
    line_number bigint not null,
    column_name varchar,
    rule varchar not null,
    value_masked varchar,
    detail varchar
);

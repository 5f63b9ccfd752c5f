-- The print loop: jobs delivered to the print shop, the pieces they carry, and what the print shop
-- reports back (confirmations per piece, returned mail). A piece is (job_id, piece_id); a reprint job
-- (J20210201-R1) carries pieces of its original job (J20210201) under the same piece ids and codes.

-- One row per job version delivered (print_handoff): kind 'original' or 'reprint'.
-- Writer: handoff (convoc.handoff.daily.record_deliveries), replacing a job.
create table if not exists core.fct_print_job (
    job_id varchar not null,
    origin_job_id varchar not null,
    delivered_as varchar not null,
    kind varchar not null,
    handoff_date date not null,
    files bigint not null,
    pieces bigint not null,
    pages bigint not null,
    sheets bigint not null,
    manifest_sha256 varchar not null,
    transport varchar not null,
    delivered_at timestamp not null
);

-- One row per piece of a delivered job: the invitation it carries and where it sits in the job.
-- Writer: handoff (convoc.handoff.daily.record_deliveries), replacing a job.
create table if not exists core.fct_print_piece (
    job_id varchar not null,
    origin_job_id varchar not null,
    piece_id bigint not null,
    invitation_id varchar not null,
    print_file varchar not null,
    first_page bigint not null,
    sheets integer not null,
    reprint boolean not null
);

-- Valid rows of the print shop's confirmation files (one row per piece reported).
-- Writer: ingest (convoc.ingest, sql/staging/stg_print_confirm__pieces.sql).
create table if not exists staging.print_confirm (
    snapshot_date date not null,
    source_file varchar not null,
    line_number bigint not null,
    job_id varchar not null,
    piece_id bigint not null,
    status varchar not null,
    event_date date not null
);

-- Valid rows of the returned-mail files (one row per returned piece).
-- Writer: ingest (convoc.ingest, sql/staging/stg_returns__pieces.sql).
create table if not exists staging.print_return (
    snapshot_date date not null,
    source_file varchar not null,
    line_number bigint not null,
    job_id varchar not null,
    piece_id bigint not null,
    reason varchar not null,
    returned_on date not null
);

-- One row per piece of a job the print shop reported on: 'mailed' or 'spoiled' (a later report of the
-- same piece of the same job replaces the earlier one, so a confirmation loaded twice counts once).
-- Writer: ingest (convoc.ingest, sql/core/fct_print_event__load.sql).
create table if not exists core.fct_print_event (
    job_id varchar not null,
    origin_job_id varchar not null,
    piece_id bigint not null,
    invitation_id varchar not null,
    status varchar not null,
    event_date date not null,
    source_file varchar not null
);

-- One row per returned letter (per original piece; a later report replaces an earlier one). The invitation's
-- return_reason and returned_on in core.dim_invitation_current come from here.
-- Writer: ingest (convoc.ingest, sql/core/fct_return__load.sql).
create table if not exists core.fct_return (
    origin_job_id varchar not null,
    piece_id bigint not null,
    job_id varchar not null,
    invitation_id varchar not null,
    reason varchar not null,
    returned_on date not null,
    source_file varchar not null
);

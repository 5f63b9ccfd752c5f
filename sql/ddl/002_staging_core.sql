-- Staging and core tables. Each table's header comment states its grain and names its one writer: the
-- stage (and module) that inserts, updates or deletes its rows. Everything else only reads it.

-- staging.register is a view over raw.register (sql/staging/stg_register__residents.sql, made by
-- convoc.sources.tables with the raw tables it reads): the register, the one large source, is not copied again.

-- One row per snapshot day × resident × priority group (all four priority lists, unioned).
-- Writer: ingest (convoc.ingest, sql/staging/stg_priority__groups.sql). Partitions past the retention are
-- deleted by housekeeping (convoc.housekeeping), the latest always kept.
create table if not exists staging.priority_group (
    snapshot_date date not null,
    source_file varchar not null,
    line_number bigint not null,
    matricule varchar not null,
    group_code varchar not null,
    detail varchar,
    registered_on date
);

-- Bookings feed: one row per valid booking row, partitioned by snapshot_date (the file's day).
-- Writer: ingest (convoc.ingest, sql/staging/stg_bookings__bookings.sql).
create table if not exists staging.booking (
    snapshot_date date not null,
    source_file varchar not null,
    line_number bigint not null,
    booking_code varchar not null,
    booked_at timestamp not null,
    centre varchar not null,
    slot timestamp not null,
    administered_at timestamp
);

-- Contact preferences: one row per valid declaration of a contact_preferences file, by source_file.
-- Writer: ingest (convoc.ingest, sql/staging/stg_contact__preferences.sql).
create table if not exists staging.contact_preference (
    snapshot_date date not null,
    source_file varchar not null,
    line_number bigint not null,
    matricule varchar not null,
    email varchar,
    channel varchar not null,
    format varchar not null,
    consented_on date not null,
    withdrawn_on date
);

-- One row per version of a resident: a new version when any attribute changes between snapshots.
-- resident_id is a pseudonymous key (assigned on first sight, in matricule order), used by marts.
-- Writer: ingest (convoc.ingest, sql/core/dim_resident__merge.sql).
create table if not exists core.dim_resident (
    resident_id bigint not null,
    matricule varchar not null,
    family_name varchar not null,
    given_name varchar not null,
    birth_date date not null,
    sex varchar not null,
    street varchar not null,
    house_number varchar,
    postcode varchar not null,
    locality varchar not null,
    commune varchar not null,
    canton varchar,
    nationality varchar not null,
    language varchar,
    status varchar not null,
    row_hash varchar not null,
    valid_from date not null,
    valid_to date,
    is_current boolean not null
);

-- One row per snapshot day × resident × priority group, keyed by resident_id.
-- Writer: ingest (convoc.ingest, sql/core/fct_priority_group__load.sql).
create table if not exists core.fct_priority_group (
    snapshot_date date not null,
    resident_id bigint not null,
    group_code varchar not null,
    detail varchar,
    registered_on date
);

-- One row per invitation letter: a resident × campaign × dose × attempt, as planned on wave_date.
-- invitation_id = campaign:dose:resident_id:attempt; booking_code = HMAC of it (convoc.codes).
-- What became of it since (status, print batch and piece, return) is derived from the facts by the view
-- core.dim_invitation_current (sql/core/dim_invitation_current.sql), never written here.
-- Writer: waves (convoc.waves.plan), replacing a campaign × wave day.
create table if not exists core.fct_invitation (
    invitation_id varchar not null,
    resident_id bigint not null,
    campaign varchar not null,
    dose integer not null,
    attempt integer not null,
    wave_date date not null,
    phase varchar not null,
    booking_code varchar not null,
    valid_from date not null,
    valid_until date not null,
    centre varchar not null,
    language varchar,
    channel varchar not null default 'paper',
    format varchar not null default 'standard'
);
-- channel (paper | email | both) and format (standard | large_print): the resident's contact preference on
-- the wave day (core.dim_contact_preference); a warehouse made before they existed gets them here
alter table core.fct_invitation add column if not exists channel varchar default 'paper';
alter table core.fct_invitation add column if not exists format varchar default 'standard';

-- One row per campaign × wave day planned (also days that sent nothing): letters sent (paper, of the channels
-- paper and both), invitations sent by e-mail only (emails), the quota the centres allowed, and the letters the
-- centres allowed that the print shop could not take that day (deferred: they wait for the next day; letters +
-- emails + deferred is what the centres allowed and the eligible residents filled).
-- Writer: waves (convoc.waves.plan), replacing a campaign × wave day.
create table if not exists core.fct_wave (
    campaign varchar not null,
    wave_date date not null,
    letters bigint not null,
    quota bigint not null,
    deferred bigint not null default 0,
    emails bigint not null default 0
);
-- a warehouse made before the print shop's capacity, or before e-mail invitations
alter table core.fct_wave add column if not exists deferred bigint default 0;
alter table core.fct_wave add column if not exists emails bigint default 0;

-- One row per wave day planned: the print shop's capacity that day (paper pieces; 0 when it is shut), the
-- reprints of spoiled pieces pending when the waves were planned and the paper letters due that day for
-- failed e-mails (both count against it first; the day's new letters are sum(core.fct_wave.letters)).
-- Writer: waves (convoc.waves.run), replacing a day.
create table if not exists core.fct_print_capacity (
    wave_date date not null,
    working_day boolean not null,
    capacity bigint not null,
    reprints bigint not null,
    fallbacks bigint not null default 0
);
-- a warehouse made before e-mail fallbacks counted against the capacity
alter table core.fct_print_capacity add column if not exists fallbacks bigint default 0;

-- One row per booking made with an invitation's code (bookings feed).
-- Writer: ingest (convoc.ingest, sql/core/fct_booking__load.sql).
create table if not exists core.fct_booking (
    booking_code varchar not null,
    invitation_id varchar not null,
    booked_at timestamp not null,
    centre varchar not null,
    slot timestamp not null,
    administered_at timestamp,
    source_file varchar not null
);

-- One row per print batch: one released PDF of up to 5,000 letters in postal presort order.
-- Writer: letters (convoc.letters.batches.record_batches, sql/core/fct_print_batch__record.sql), replacing a
-- wave day.
create table if not exists core.fct_print_batch (
    job_id varchar not null,
    print_batch varchar not null,
    wave_date date not null,
    path varchar not null,
    pieces bigint not null,
    pages bigint not null,
    first_piece bigint not null,
    last_piece bigint not null,
    sha256 varchar not null,
    bytes bigint not null
);

-- One row per letter of a released print batch: the invitation it carries, as which piece of the wave day's
-- print job (piece ids in postal presort order) and in which batch. Empty for a day until its letters are
-- rendered, verified and recorded.
-- Writer: letters (convoc.letters.batches.record_batches, sql/core/fct_print_batch__record.sql), replacing a
-- wave day.
create table if not exists core.fct_print_batch_letter (
    wave_date date not null,
    job_id varchar not null,
    print_batch varchar not null,
    piece_id bigint not null,
    invitation_id varchar not null
);

-- One row per valid contact-preference declaration ever loaded (the file's day, its line): the history the
-- versioned dimension below is derived from. A re-delivered file replaces its rows.
-- Writer: ingest (convoc.ingest, sql/core/dim_contact_preference__load.sql).
create table if not exists core.fct_contact_preference (
    snapshot_date date not null,
    source_file varchar not null,
    line_number bigint not null,
    matricule varchar not null,
    email varchar,
    channel varchar not null,
    format varchar not null,
    consented_on date not null,
    withdrawn_on date
);

-- One row per resident × version of their contact preference (valid_from ≤ day < valid_to): the channel and
-- format a letter or e-mail of that day uses. A version starts on the day of the file that declared it, or on
-- the day consent was withdrawn (then: paper, standard, no address); the latest declaration known by a day
-- wins. Residents without a version are invited on paper, standard. Rebuilt from core.fct_contact_preference.
-- Writer: ingest (convoc.ingest, sql/core/dim_contact_preference__load.sql).
create table if not exists core.dim_contact_preference (
    matricule varchar not null,
    email varchar,
    channel varchar not null,
    format varchar not null,
    withdrawn boolean not null,
    valid_from date not null,
    valid_to date,
    is_current boolean not null,
    source_file varchar not null,
    line_number bigint not null
);

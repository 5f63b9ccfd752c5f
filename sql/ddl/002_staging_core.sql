-- Staging: valid rows only, typed; one partition per snapshot_date, replaced on re-run.
create table if not exists staging.register (
    snapshot_date date not null,
    source_file varchar not null,
    line_number bigint not null,
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
    nationality varchar not null,
    language varchar,
    status varchar not null
);

-- One row per snapshot day × resident × priority group (all four priority lists, unioned).
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

-- One row per version of a resident: a new version when any attribute changes between snapshots.
-- resident_id is a pseudonymous key (assigned on first sight, in matricule order), used by marts.
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
create table if not exists core.fct_priority_group (
    snapshot_date date not null,
    resident_id bigint not null,
    group_code varchar not null,
    detail varchar,
    registered_on date
);

-- One row per invitation letter: a resident × campaign × dose × attempt, planned on wave_date.
-- invitation_id = campaign:dose:resident_id:attempt; booking_code = HMAC of it (convoc.codes).
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
    status varchar not null
);

-- One row per campaign × wave day planned (also days that sent nothing): letters sent and allowed.
create table if not exists core.fct_wave (
    campaign varchar not null,
    wave_date date not null,
    letters bigint not null,
    quota bigint not null
);

-- One row per booking made with an invitation's code (bookings feed).
create table if not exists core.fct_booking (
    booking_code varchar not null,
    invitation_id varchar not null,
    booked_at timestamp not null,
    centre varchar not null,
    slot timestamp not null,
    administered_at timestamp,
    source_file varchar not null
);

-- Where each letter is printed (filled by letters_render; empty until the day's letters are rendered).
alter table core.fct_invitation add column if not exists print_batch varchar;
alter table core.fct_invitation add column if not exists piece_id bigint;

-- One row per print batch: one PDF of up to 5,000 letters in postal presort order.
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

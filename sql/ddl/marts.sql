-- The analyst marts (documented in docs/warehouse.md), models in sql/marts/. No names, addresses, matricules or
-- booking codes: residents appear only as counts. Every mart has one writer, the statistics stage
-- (convoc.stats.marts.build_marts, DAG dispatch_stats), which replaces the rows of the days it covers.
create schema if not exists marts;

-- One row per wave day × campaign × dose × canton × commune × age band × language × phase.
-- Writer: stats (convoc.stats.marts.build_marts).
create table if not exists marts.fct_dispatch_daily (
    day date not null,
    campaign varchar not null,
    dose integer not null,
    canton varchar not null,
    commune varchar not null,
    age_band varchar not null,
    language varchar not null,
    phase varchar not null,
    invited bigint not null,
    printed bigint not null,
    mailed bigint not null,
    returned bigint not null,
    booked bigint not null,
    vaccinated bigint not null,
    reprinted bigint not null
);

-- One row per as-of day × campaign × age band × canton: cumulative uptake against the eligible population.
-- Writer: stats (convoc.stats.marts.build_marts).
create table if not exists marts.fct_campaign_progress (
    as_of_date date not null,
    campaign varchar not null,
    age_band varchar not null,
    canton varchar not null,
    eligible bigint not null,
    invited bigint not null,
    booked bigint not null,
    vaccinated bigint not null,
    coverage double
);

-- One row per mailing day × campaign: letters the print shop mailed and their postage.
-- Writer: stats (convoc.stats.marts.build_marts).
create table if not exists marts.fct_postage_daily (
    day date not null,
    campaign varchar not null,
    letters_mailed bigint not null,
    price_eur decimal(6, 2) not null,
    cost_eur decimal(12, 2) not null
);

-- One row per return day × campaign × reason.
-- Writer: stats (convoc.stats.marts.build_marts).
create table if not exists marts.fct_returns_by_reason (
    day date not null,
    campaign varchar not null,
    reason varchar not null,
    returned bigint not null
);

-- One row per print job delivered (originals and reprints).
-- Writer: stats (convoc.stats.marts.build_marts).
create table if not exists marts.fct_print_spoilage (
    job_id varchar not null,
    origin_job_id varchar not null,
    kind varchar not null,
    handoff_date date not null,
    pieces bigint not null,
    spoiled bigint not null,
    spoilage_rate double
);

-- One row per day × area × measure × detail: the campaign's operations as counts (loads, quarantine by rule,
-- waves planned and allowed, print batches, jobs, pieces mailed and spoiled, bookings), for the control room.
-- Writer: stats (convoc.stats.marts.build_marts).
create table if not exists marts.fct_operations_daily (
    day date not null,
    area varchar not null,
    measure varchar not null,
    detail varchar not null,
    value bigint not null
);

-- One row per wave day: the print shop's capacity, the reprints, the letters for failed e-mails and the new
-- letters planned against it, the letters that waited. Writer: stats (convoc.stats.marts.build_marts).
create table if not exists marts.fct_print_load_daily (
    day date not null,
    working_day boolean not null,
    capacity bigint not null,
    reprints bigint not null,
    letters bigint not null,
    deferred bigint not null,
    pieces bigint not null,
    fallbacks bigint not null default 0
);
-- a warehouse made before e-mail fallbacks counted against the capacity
alter table marts.fct_print_load_daily add column if not exists fallbacks bigint default 0;

-- One row per wave day × campaign × channel × format: invitations, letters printed, e-mails accepted and not
-- accepted, bounces, fallback letters and the postage saved by e-mail. Writer: stats (convoc.stats.marts.build_marts).
create table if not exists marts.fct_channel_daily (
    day date not null,
    campaign varchar not null,
    channel varchar not null,
    format varchar not null,
    invitations bigint not null,
    letters bigint not null,
    emails_sent bigint not null,
    emails_failed bigint not null,
    bounced_hard bigint not null,
    bounced_soft bigint not null,
    fallback_letters bigint not null,
    postage_saved_eur decimal(12, 2) not null
);

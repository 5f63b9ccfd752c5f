-- grain: one row per day × area × measure × detail, for days up to $day: the campaign's operations as counts,
-- what the control room shows an on-call engineer (convoc.control_room). No person appears: only counts of
-- rows, letters, batches and jobs. The day is the chain's day — the register snapshot, the wave day, the
-- hand-off day of a print job (pieces mailed and spoiled count under their job's hand-off day) — except for
-- bookings, counted on the day they were made (booked) or the dose given (vaccinated). detail is '' where a
-- measure has none. The register's figures come from the ingest's bookkeeping through the temp table
-- _load_counts (sql/intermediate/int_load__daily_counts.sql: the marts read core alone).
--   register / rows | loaded | quarantined          detail: source (the latest content of each file)
--   register / rule                                  detail: rule (register rows quarantined under it)
--   waves    / planned | allowed                     detail: campaign (letters; allowed by the centres)
--   batches  / verified | letters                    print batches released, and the letters they hold
--   jobs     / delivered | pieces                    detail: kind (original, reprint); jobs READY, pieces
--   jobs     / mailed | spoiled                      pieces the print shop reported
--   bookings / booked | vaccinated
with loads as (
    select day, measure, detail, value from _load_counts
),

jobs as (
    select job_id, kind, handoff_date, pieces
    from core.fct_print_job
    where handoff_date <= $day
),

events as (
    select job_id, status from core.fct_print_event
),

bookings as (
    select cast(booked_at as date) as booked_on, cast(administered_at as date) as administered_on
    from core.fct_booking
),

final as (
    select day, 'register' as area, measure, detail, value from loads
    union all
    select wave_date, 'waves', 'planned', campaign, sum(letters)
    from core.fct_wave where wave_date <= $day group by wave_date, campaign
    union all
    select wave_date, 'waves', 'allowed', campaign, sum(quota)
    from core.fct_wave where wave_date <= $day group by wave_date, campaign
    union all
    select wave_date, 'batches', 'verified', '', count(*)
    from core.fct_print_batch where wave_date <= $day group by wave_date
    union all
    select wave_date, 'batches', 'letters', '', sum(pieces)
    from core.fct_print_batch where wave_date <= $day group by wave_date
    union all
    select handoff_date, 'jobs', 'delivered', kind, count(*) from jobs group by handoff_date, kind
    union all
    select handoff_date, 'jobs', 'pieces', kind, sum(pieces) from jobs group by handoff_date, kind
    union all
    select jobs.handoff_date, 'jobs', events.status, '', count(*)
    from events
    inner join jobs on events.job_id = jobs.job_id
    group by jobs.handoff_date, events.status
    union all
    select booked_on, 'bookings', 'booked', '', count(*)
    from bookings where booked_on <= $day group by booked_on
    union all
    select administered_on, 'bookings', 'vaccinated', '', count(*)
    from bookings where administered_on <= $day group by administered_on
)

select day, area, measure, detail, cast(value as bigint) as value from final

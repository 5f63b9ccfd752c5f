-- grain: one row per invitation to send on $wave_date for campaign $campaign (ids and codes: int_wave__invitations).
-- Inputs besides the warehouse: temp tables _phase (the campaign's phases), _catchment (commune → the
-- centre open on the day) and _quota (letters each centre may still send).
-- Only what happened before $wave_date counts, so re-running a day gives the same rows.
-- A booster ($requires_campaign not empty) is open to residents whose required dose was given on or
-- before $last_dose_before.
with prior_doses as (
    select invitation.resident_id, max(booking.administered_at) as last_dose_at
    from core.fct_invitation as invitation
    inner join core.fct_booking as booking using (invitation_id)
    where invitation.campaign = $requires_campaign
      and invitation.dose = $requires_dose
      and booking.administered_at < $wave_date
    group by invitation.resident_id
),

residents as (
    select
        resident_id,
        birth_date,
        commune,
        language,
        age_in_years(birth_date, $wave_date) as age  -- on the wave day (sql/macros/age.sql)
    from core.dim_resident
    where valid_from <= $wave_date
      and (valid_to is null or valid_to > $wave_date)
      and status = 'resident'
      and (
          $requires_campaign = ''
          or resident_id in (select resident_id from prior_doses where last_dose_at < $last_dose_before + 1)
      )
),

groups as (
    select resident_id, list(distinct group_code order by group_code) as groups
    from core.fct_priority_group
    where snapshot_date = (select max(snapshot_date) from core.fct_priority_group where snapshot_date <= $wave_date)
    group by resident_id
),

phases as (
    select * from _phase
),

earlier as (
    select * from core.fct_invitation where campaign = $campaign and wave_date < $wave_date
),

bookings as (
    select * from core.fct_booking where booked_at < $wave_date
),

-- what has happened so far per resident × dose
history as (
    select
        earlier.resident_id,
        earlier.dose,
        max(earlier.attempt) as attempts,
        max(earlier.valid_until) as last_valid_until,
        count(bookings.booking_code) > 0 as booked,
        min(case when bookings.administered_at < $wave_date then bookings.administered_at end) as administered_at
    from earlier
    left join bookings using (invitation_id)
    group by earlier.resident_id, earlier.dose
),

-- a resident's phase is the first whose age range or priority groups take them in (two equi/range joins
-- rather than one join on "age or group", which would compare every resident with every phase)
phase_by_age as (
    select residents.resident_id, phases.phase_rank, phases.phase
    from residents
    inner join phases
        on residents.age >= coalesce(phases.min_age, 0)
        and residents.age <= coalesce(phases.max_age, 200)
    where phases.min_age is not null or phases.max_age is not null
),

phase_by_group as (
    select groups.resident_id, phases.phase_rank, phases.phase
    from (select resident_id, unnest(groups) as group_code from groups) as groups
    inner join (select phase_rank, phase, unnest(groups) as group_code from phases) as phases using (group_code)
),

first_phase as (
    select resident_id, min(phase_rank) as phase_rank, arg_min(phase, phase_rank) as phase
    from (select * from phase_by_age union all select * from phase_by_group)
    group by resident_id
),

first_doses as (
    select
        residents.resident_id,
        residents.birth_date,
        residents.commune,
        residents.language,
        1 as dose,
        first_phase.phase_rank,
        first_phase.phase
    from residents
    inner join first_phase using (resident_id)
),

-- second doses come before any new first dose
later_doses as (
    select
        residents.resident_id,
        residents.birth_date,
        residents.commune,
        residents.language,
        history.dose + 1 as dose,
        0 as phase_rank,
        'dose ' || (history.dose + 1) as phase
    from residents
    inner join history using (resident_id)
    where history.administered_at is not null
      and history.dose < $doses
      and cast(history.administered_at as date) + $dose_interval_days <= $wave_date
),

candidates as (
    select * from first_doses
    union all by name
    select * from later_doses
),

eligible as (
    select candidates.*, coalesce(history.attempts, 0) + 1 as attempt
    from candidates
    left join history
        on history.resident_id = candidates.resident_id and history.dose = candidates.dose
    where history.resident_id is null
       or (
           not history.booked
           and history.last_valid_until < $wave_date
           and history.last_valid_until + $reinvite_wait_days < $wave_date
           and history.attempts < $max_attempts
       )
),

in_centre as (
    select eligible.*, _catchment.centre
    from eligible
    inner join _catchment using (commune)
),

-- Ranking every eligible resident one by one is most of the wave's time at 6.5 M (a sort of millions of rows
-- per centre), while a wave takes one in ten. So each centre's cut-off is found first on the rank key without
-- the resident id (dose, phase, birth date: a few thousand keys per centre, counted and cumulated in rank
-- order): the first key whose cumulated count reaches the centre's quota. Only the residents up to it are then
-- ranked one by one; the result is the same rows as ranking all of them.
key_counts as (
    select centre, dose, phase_rank, birth_date, count(*) as residents
    from in_centre
    group by all
),

cumulated as (
    select
        key_counts.*,
        sum(residents) over (
            partition by centre order by dose desc, phase_rank, birth_date rows unbounded preceding
        ) as reached,
        row_number() over (partition by centre order by dose desc, phase_rank, birth_date) as key_rank
    from key_counts
),

cutoff as (
    select cumulated.centre, coalesce(min(key_rank) filter (where reached >= _quota.quota), max(key_rank)) as key_rank
    from cumulated
    inner join _quota using (centre)
    group by cumulated.centre
),

within_cutoff as (
    select in_centre.*
    from in_centre
    inner join cumulated using (centre, dose, phase_rank, birth_date)
    inner join cutoff on cutoff.centre = in_centre.centre and cumulated.key_rank <= cutoff.key_rank
),

ranked as (
    select
        within_cutoff.*,
        row_number() over (
            partition by centre
            order by dose desc, phase_rank, birth_date, resident_id
        ) as rank_in_centre
    from within_cutoff
),

final as (
    select
        ranked.resident_id,
        ranked.dose,
        ranked.attempt,
        ranked.phase,
        ranked.centre,
        ranked.language,
        -- the print order across the day's campaigns (convoc.waves.print_capacity): phase, then oldest first
        ranked.phase_rank,
        cast(date_diff('day', date '1900-01-01', ranked.birth_date) as double) as print_order
    from ranked
    inner join _quota using (centre)
    where ranked.rank_in_centre <= _quota.quota
)

select * from final

-- grain: one row per wave day × campaign × dose × canton × commune × age band × language × phase, for every
-- wave day up to $day: the invitations planned that day and what has become of them so far — printed (a
-- piece in an original print job), mailed (a mailed confirmation in any job, reprints included, counted
-- once per invitation), returned, booked, vaccinated (a booking with administered_at), reprinted (a piece in
-- a reprint job). Canton, commune and age band (completed years on the wave day) are those of the resident's
-- version valid on the wave day; language is the letter's ('unknown' when not fr, de, en or pt).
-- Counts only: no resident is named.
with invitations as (
    select invitation_id, resident_id, campaign, dose, wave_date, phase, language
    from core.fct_invitation
    where wave_date <= $day
),

residents as (
    select resident_id, birth_date, commune, canton, valid_from, valid_to
    from core.dim_resident
),

pieces as (
    select
        invitation_id,
        bool_or(not reprint) as printed,
        bool_or(reprint) as reprinted
    from core.fct_print_piece
    group by invitation_id
),

mailings as (
    select distinct invitation_id
    from core.fct_print_event
    where status = 'mailed'
),

returns as (
    select distinct invitation_id
    from core.fct_return
),

bookings as (
    select invitation_id, bool_or(administered_at is not null) as vaccinated
    from core.fct_booking
    group by invitation_id
),

described as (
    select
        invitations.wave_date as day,
        invitations.campaign,
        invitations.dose,
        coalesce(residents.canton, 'unknown') as canton,
        coalesce(residents.commune, 'unknown') as commune,
        age_in_years(residents.birth_date, invitations.wave_date) as age,  -- on the wave day
        case
            when lower(invitations.language) in ('fr', 'de', 'en', 'pt') then lower(invitations.language)
            else 'unknown'
        end as language,
        invitations.phase,
        coalesce(pieces.printed, false) as printed,
        mailings.invitation_id is not null as mailed,
        returns.invitation_id is not null as returned,
        bookings.invitation_id is not null as booked,
        coalesce(bookings.vaccinated, false) as vaccinated,
        coalesce(pieces.reprinted, false) as reprinted
    from invitations
    left join residents
        on invitations.resident_id = residents.resident_id
        and residents.valid_from <= invitations.wave_date
        and (residents.valid_to is null or residents.valid_to > invitations.wave_date)
    left join pieces on invitations.invitation_id = pieces.invitation_id
    left join mailings on invitations.invitation_id = mailings.invitation_id
    left join returns on invitations.invitation_id = returns.invitation_id
    left join bookings on invitations.invitation_id = bookings.invitation_id
),

banded as (
    select
        *,
        age_band(age) as age_band  -- 'unknown' when the resident has no version on the wave day
    from described
),

final as (
    select
        day,
        campaign,
        dose,
        canton,
        commune,
        age_band,
        language,
        phase,
        count(*) as invited,
        count(*) filter (where printed) as printed,
        count(*) filter (where mailed) as mailed,
        count(*) filter (where returned) as returned,
        count(*) filter (where booked) as booked,
        count(*) filter (where vaccinated) as vaccinated,
        count(*) filter (where reprinted) as reprinted
    from banded
    group by day, campaign, dose, canton, commune, age_band, language, phase
)

select * from final

-- grain: one row per letter of the waves planned on $wave_date (all campaigns), in postal presort order
-- (postcode, street, house number, then invitation), numbered as pieces of the day's print job. Invitations
-- sent by e-mail only (channel 'email') have no letter — unless their e-mail failed: their paper letters due
-- that day are the letters stage's temp input _fallbacks (sql/intermediate/int_letters__fallbacks.sql, which
-- the waves also count against the print shop's capacity).
-- A household letter (phase 'household', a mailing per household) also names the other residents of the
-- address on the day, oldest first (co_residents: at most three; household_size counts everyone). format: the
-- letter's ('standard' or 'large_print', the resident's preference on the wave day).
with invitations as (
    select * from core.fct_invitation where wave_date = $wave_date and channel <> 'email'
    union all by name
    select * from _fallbacks
),

residents as (
    select * from core.dim_resident
    where valid_from <= $wave_date and (valid_to is null or valid_to > $wave_date)
),

household_letters as (
    select
        invitations.invitation_id,
        residents.resident_id,
        household_key(residents.street, residents.house_number, residents.postcode) as household
    from invitations
    inner join residents using (resident_id)
    where invitations.phase = 'household'
),

households as (
    select
        household_letters.invitation_id,
        list(others.given_name || ' ' || others.family_name order by others.birth_date, others.resident_id)
            filter (where others.resident_id <> household_letters.resident_id) as co_residents,
        count(*) as household_size
    from household_letters
    inner join residents as others
        on household_key(others.street, others.house_number, others.postcode) = household_letters.household
        and others.status = 'resident'
    group by household_letters.invitation_id
),

-- The presort order numbers the pieces: within each postcode by a window over that postcode alone (a window
-- over the whole day could not spill: it failed a 6.5 M-resident day within 256 MB), plus the pieces of the
-- postcodes before it.
ranked as (
    select
        row_number() over (
            partition by residents.postcode
            order by
                residents.street,
                try_cast(regexp_extract(residents.house_number, '^[0-9]+') as integer) nulls first,
                residents.house_number,
                invitations.invitation_id
        ) as in_postcode,
        invitations.invitation_id,
        invitations.campaign,
        invitations.language,
        residents.family_name,
        residents.given_name,
        residents.street,
        residents.house_number,
        residents.postcode,
        residents.locality,
        invitations.booking_code,
        invitations.valid_from,
        invitations.valid_until,
        invitations.centre,
        invitations.phase,
        coalesce(list_slice(households.co_residents, 1, 3), []) as co_residents,
        coalesce(households.household_size, 1) as household_size,
        invitations.format
    from invitations
    inner join residents using (resident_id)
    left join households using (invitation_id)
),

postcodes as (
    select
        postcode,
        coalesce(sum(count(*)) over (order by postcode rows between unbounded preceding and 1 preceding), 0) as before
    from ranked
    group by postcode
),

final as (
    select
        cast(postcodes.before + ranked.in_postcode as bigint) as piece_id,
        ranked.* exclude (in_postcode)
    from ranked
    inner join postcodes on postcodes.postcode is not distinct from ranked.postcode
)

select * from final order by piece_id

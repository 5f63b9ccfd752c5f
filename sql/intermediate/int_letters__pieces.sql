-- grain: one row per letter of the waves planned on $wave_date (all campaigns), in postal presort order
-- (postcode, street, house number, then invitation), numbered as pieces of the day's print job. Invitations
-- sent by e-mail only (channel 'email') have no letter — unless their e-mail failed: then, on the next day's
-- letters, the paper letter (same code, same validity) once, while the code is still valid and unbooked. An
-- e-mail failed when the relay reported a hard bounce for it (core.fct_email_bounce), or when no attempt was
-- accepted and one was refused for good (failed) or it was deferred 3 times (convoc.notify.outbox.MAX_TRIES).
-- A household letter (phase 'household', a mailing per household) also names the other residents of the
-- address on the day, oldest first (co_residents: at most three; household_size counts everyone). format: the
-- letter's ('standard' or 'large_print', the resident's preference on the wave day).
with email_failed as (
    select invitation_id from core.fct_email_bounce
    where kind = 'hard' and snapshot_date <= $wave_date
    union
    select invitation_id from core.fct_email_attempt
    where wave_date < $wave_date
    group by invitation_id
    having count(*) filter (where status = 'sent') = 0
        and (count(*) filter (where status = 'failed') > 0 or count(*) filter (where status = 'deferred') >= 3)
),

fallback as (
    select invitations.*
    from core.fct_invitation as invitations
    inner join email_failed using (invitation_id)
    where invitations.channel = 'email'
        and invitations.wave_date < $wave_date
        and invitations.valid_until >= $wave_date
        and invitations.invitation_id not in (
            select invitation_id from core.fct_print_batch_letter where wave_date < $wave_date
        )
        and invitations.invitation_id not in (select invitation_id from core.fct_booking)
),

invitations as (
    select * from core.fct_invitation where wave_date = $wave_date and channel <> 'email'
    union all by name
    select * from fallback
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

final as (
    select
        row_number() over (
            order by
                residents.postcode,
                residents.street,
                try_cast(regexp_extract(residents.house_number, '^[0-9]+') as integer) nulls first,
                residents.house_number,
                invitations.invitation_id
        ) as piece_id,
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
)

select * from final order by piece_id

-- grain: one row per letter of the waves planned on $wave_date (all campaigns), in postal presort order
-- (postcode, street, house number, then invitation), numbered as pieces of the day's print job.
with invitations as (
    select * from core.fct_invitation where wave_date = $wave_date
),

residents as (
    select * from core.dim_resident
    where valid_from <= $wave_date and (valid_to is null or valid_to > $wave_date)
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
        invitations.phase
    from invitations
    inner join residents using (resident_id)
)

select * from final order by piece_id

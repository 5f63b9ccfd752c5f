-- grain: one row per e-mail invitation of the waves planned on $wave_date (channel 'email' or 'both'), with the
-- recipient's address (their contact preference valid on the day) and what the message says, in
-- invitation order. An invitation whose resident has no address on the day (cannot happen: the channel
-- comes from the same preference) is left out rather than sent nowhere.
with invitations as (
    select * from core.fct_invitation where wave_date = $wave_date and channel in ('email', 'both')
),

residents as (
    select * from core.dim_resident
    where valid_from <= $wave_date and (valid_to is null or valid_to > $wave_date)
),

preferences as (
    select matricule, email from core.dim_contact_preference
    where valid_from <= $wave_date and (valid_to is null or valid_to > $wave_date) and email is not null
),

final as (
    select
        invitations.invitation_id,
        invitations.campaign,
        invitations.language,
        invitations.format,
        residents.family_name,
        residents.given_name,
        preferences.email,
        invitations.booking_code,
        invitations.valid_from,
        invitations.valid_until,
        invitations.centre,
        invitations.phase
    from invitations
    inner join residents using (resident_id)
    inner join preferences using (matricule)
)

select * from final order by invitation_id

-- grain: one row per resident whose contact preference on $wave_date is not the default (paper, standard):
-- the channel and format their invitations of that day take (core.dim_contact_preference, by matricule, for
-- the resident's register version valid on the day). Everyone else is invited on paper, standard.
with preferences as (
    select matricule, channel, format
    from core.dim_contact_preference
    where valid_from <= $wave_date and (valid_to is null or valid_to > $wave_date)
),

residents as (
    select resident_id, matricule
    from core.dim_resident
    where valid_from <= $wave_date and (valid_to is null or valid_to > $wave_date)
),

final as (
    select residents.resident_id, preferences.channel, preferences.format
    from preferences
    inner join residents using (matricule)
    where preferences.channel <> 'paper' or preferences.format <> 'standard'
)

select * from final

-- grain: one row per resident × dose of campaign $campaign holding more than one open invitation on
-- $wave_date (not booked, still valid): the waves' exactly-once guard — any row fails the wave.
with invitations as (
    select * from core.fct_invitation where campaign = $campaign and valid_until >= $wave_date
),

bookings as (
    select invitation_id from core.fct_booking
),

open_invitations as (
    select invitations.resident_id, invitations.dose
    from invitations
    anti join bookings using (invitation_id)
),

final as (
    select resident_id, dose, count(*) as open_invitations
    from open_invitations
    group by resident_id, dose
    having count(*) > 1
)

select * from final

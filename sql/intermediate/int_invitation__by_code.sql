-- grain: the invitation carrying booking code $code (none or one: codes are unique), as it stands now
-- (core.dim_invitation_current): what `convoc code check` shows.
with invitations as (
    select * from core.dim_invitation_current where booking_code = $code
),

final as (
    select invitation_id, campaign, dose, attempt, wave_date, valid_from, valid_until, centre, status
    from invitations
)

select * from final

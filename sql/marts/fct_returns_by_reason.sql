-- grain: one row per return day × campaign × reason, for return days up to $day: letters that came back
-- (one per original piece; reason unknown_address, moved or deceased).
with returns as (
    select invitation_id, reason, returned_on
    from core.fct_return
    where returned_on <= $day
),

invitations as (
    select invitation_id, campaign from core.fct_invitation
),

final as (
    select returns.returned_on as day, invitations.campaign, returns.reason, count(*) as returned
    from returns
    inner join invitations on returns.invitation_id = invitations.invitation_id
    group by returns.returned_on, invitations.campaign, returns.reason
)

select * from final

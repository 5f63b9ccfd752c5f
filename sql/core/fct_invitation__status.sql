-- core.fct_invitation.status for campaign $campaign, as of its latest wave day (so re-running an earlier
-- day leaves the same statuses): attended (dose given or test taken), booked, expired (unused and past its
-- validity), else open.
update core.fct_invitation as invitation
set status = refreshed.status
from (
    with bookings as (
        select invitation_id, max(administered_at) as administered_at
        from core.fct_booking
        group by invitation_id
    ),

    as_of as (
        select max(wave_date) as day from core.fct_wave where campaign = $campaign
    ),

    final as (
        select
            i.invitation_id,
            case
                when b.administered_at is not null then 'attended'
                when b.invitation_id is not null then 'booked'
                when i.valid_until < as_of.day then 'expired'
                else 'open'
            end as status
        from core.fct_invitation as i
        cross join as_of
        left join bookings as b using (invitation_id)
        where i.campaign = $campaign
    )

    select * from final
) as refreshed
where invitation.invitation_id = refreshed.invitation_id
  and invitation.status <> refreshed.status;

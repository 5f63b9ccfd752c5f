-- Rule "booked <= invited": per wave day, the invitations booked are no more than the invitations, in the
-- warehouse and in marts.fct_dispatch_daily; and no booking made up to $day belongs to no invitation.
-- grain: one row per wave day up to $day breaking it (`detail`: the day and the numbers), then one row
-- counting the bookings of no invitation, if any.
with invitations as (
    select invitation_id, wave_date as day
    from core.fct_invitation
    where wave_date <= $day
),

bookings as (
    select * from core.fct_booking
),

invited as (
    select day, count(*) as invited
    from invitations
    group by day
),

booked as (
    select invitations.day, count(distinct bookings.invitation_id) as booked_invitations
    from bookings
    inner join invitations using (invitation_id)
    group by invitations.day
),

dispatch as (
    select day, sum(invited) as invited, sum(booked) as booked
    from marts.fct_dispatch_daily
    where day <= $day
    group by day
),

days as (
    select day from invited
    union
    select day from dispatch
),

compared as (
    select
        days.day,
        coalesce(invited.invited, 0) as core_invited,
        coalesce(booked.booked_invitations, 0) as booked_invitations,
        coalesce(dispatch.invited, 0) as mart_invited,
        coalesce(dispatch.booked, 0) as mart_booked
    from days
    left join invited using (day)
    left join booked using (day)
    left join dispatch using (day)
),

per_wave_day as (
    select
        1 as part,
        day,
        'wave ' || day || ': ' || greatest(booked_invitations, mart_booked) || ' invitations booked of '
            || core_invited || ' invited' as detail
    from compared
    where booked_invitations > core_invited or mart_booked > mart_invited
),

orphans as (
    select count(*) as bookings
    from bookings
    anti join core.fct_invitation using (invitation_id)
    where cast(bookings.booked_at as date) <= $day
),

final as (
    select * from per_wave_day
    union all
    select 2 as part, null as day, bookings || ' booking(s) of no invitation' as detail
    from orphans
    where bookings > 0
)

select * from final order by part, day

-- Rule "invited = sum of dispatch rows": every wave day's invitations in core.fct_invitation are counted
-- once in marts.fct_dispatch_daily. grain: one row per wave day up to $day where they differ; `detail`
-- names the day and both numbers.
with invitations as (
    select wave_date as day, count(*) as invited
    from core.fct_invitation
    where wave_date <= $day
    group by wave_date
),

dispatch as (
    select day, sum(invited) as invited
    from marts.fct_dispatch_daily
    where day <= $day
    group by day
),

compared as (
    select
        day,
        coalesce(invitations.invited, 0) as core_invited,
        coalesce(dispatch.invited, 0) as mart_invited
    from invitations
    full outer join dispatch using (day)
),

final as (
    select
        day,
        'wave ' || day || ': core.fct_invitation ' || core_invited
            || ', marts.fct_dispatch_daily ' || mart_invited as detail
    from compared
    where core_invited <> mart_invited
)

select * from final order by day

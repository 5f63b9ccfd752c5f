-- grain: one row per canton with dispatch rows up to $end, in name order: residents invited, letters mailed
-- in the report period (wave days from $start) and to date, invitations booked, letters returned. The
-- report's table by canton.
with dispatch as (
    select * from marts.fct_dispatch_daily where day <= $end
),

final as (
    select
        canton,
        sum(invited) as invited,
        coalesce(sum(mailed) filter (where day >= $start), 0) as mailed_period,
        sum(mailed) as mailed,
        sum(booked) as booked,
        sum(returned) as returned
    from dispatch
    group by canton
)

select * from final order by canton

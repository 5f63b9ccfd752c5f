-- grain: one row per wave day × campaign between $start and $end with dispatch rows: letters mailed,
-- residents invited and invitations booked. The report's letters-per-day and uptake-by-wave-day charts.
with dispatch as (
    select * from marts.fct_dispatch_daily where day between $start and $end
),

final as (
    select day, campaign, sum(mailed) as mailed, sum(invited) as invited, sum(booked) as booked
    from dispatch
    group by day, campaign
)

select * from final

-- grain: one row per campaign with dispatch rows up to $end: letters mailed in the report period (wave days
-- from $start) and to date, and letters returned in the period. Headline figures of the summary report.
with dispatch as (
    select * from marts.fct_dispatch_daily where day <= $end
),

final as (
    select
        campaign,
        coalesce(sum(mailed) filter (where day >= $start), 0) as mailed_period,
        coalesce(sum(mailed), 0) as mailed_total,
        coalesce(sum(returned) filter (where day >= $start), 0) as returned_period
    from dispatch
    group by campaign
)

select * from final

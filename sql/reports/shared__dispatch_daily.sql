-- grain: one row per wave day × campaign × dose × canton × age band: marts.fct_dispatch_daily without commune,
-- language and phase, for the copy shared beyond the analysts (convoc.report.shared applies the small-cell
-- rule across the cantons of each day × campaign × dose × age band).
with dispatch as (
    select * from marts.fct_dispatch_daily
),

final as (
    select
        day,
        campaign,
        dose,
        canton,
        age_band,
        sum(invited)::bigint as invited,
        sum(printed)::bigint as printed,
        sum(mailed)::bigint as mailed,
        sum(returned)::bigint as returned,
        sum(booked)::bigint as booked,
        sum(vaccinated)::bigint as vaccinated,
        sum(reprinted)::bigint as reprinted
    from dispatch
    group by day, campaign, dose, canton, age_band
)

select * from final order by day, campaign, dose, canton, age_band

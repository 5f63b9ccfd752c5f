-- grain: one row per campaign with dispatch rows up to $as_of, in name order: the campaigns a summary
-- report shows.
with dispatch as (
    select campaign from marts.fct_dispatch_daily where day <= $as_of
),

final as (
    select distinct campaign from dispatch
)

select * from final order by campaign

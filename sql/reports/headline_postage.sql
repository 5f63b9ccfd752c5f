-- grain: one row per campaign that mailed letters between $start and $end: their postage (EUR). Headline
-- figures of the summary report.
with postage as (
    select * from marts.fct_postage_daily where day between $start and $end
),

final as (
    select campaign, coalesce(sum(cost_eur), 0) as cost_eur
    from postage
    group by campaign
)

select * from final

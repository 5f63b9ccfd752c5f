-- grain: one row per return reason with returns up to $end: letters returned in the report period (return
-- days from $start) and to date. The report's returned-mail table.
with returns as (
    select * from marts.fct_returns_by_reason where day <= $end
),

final as (
    select
        reason,
        coalesce(sum(returned) filter (where day >= $start), 0) as period,
        coalesce(sum(returned), 0) as total
    from returns
    group by reason
)

select * from final

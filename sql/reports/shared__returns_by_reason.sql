-- grain: one row per day × campaign × reason: marts.fct_returns_by_reason for the shared copy (protected
-- across the reasons of each day × campaign).
with returns as (
    select day, campaign, reason, returned from marts.fct_returns_by_reason
),

final as (
    select * from returns
)

select * from final order by day, campaign, reason

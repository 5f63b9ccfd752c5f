-- grain: one row per day × campaign: marts.fct_postage_daily for the shared copy (letters protected across
-- the campaigns of each day; the cost hidden with them).
with postage as (
    select day, campaign, letters_mailed, price_eur, cost_eur from marts.fct_postage_daily
),

final as (
    select * from postage
)

select * from final order by day, campaign

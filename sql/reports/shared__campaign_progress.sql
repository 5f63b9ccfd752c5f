-- grain: one row per as-of day × campaign × age band × canton: marts.fct_campaign_progress for the shared copy
-- (counts protected across the cantons of each day × campaign × age band; coverage recomputed from them).
with progress as (
    select as_of_date, campaign, age_band, canton, eligible, invited, booked, vaccinated
    from marts.fct_campaign_progress
),

final as (
    select * from progress
)

select * from final order by as_of_date, campaign, age_band, canton

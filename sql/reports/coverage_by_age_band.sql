-- grain: one row per campaign × age band in the campaign's latest progress snapshot up to $end: residents
-- vaccinated and eligible. The report's coverage-by-age-band chart.
with progress as (
    select * from marts.fct_campaign_progress where as_of_date <= $end
),

latest as (
    select campaign, max(as_of_date) as as_of_date
    from progress
    group by campaign
),

final as (
    select
        progress.campaign,
        progress.age_band,
        sum(progress.vaccinated) as vaccinated,
        sum(progress.eligible) as eligible
    from progress
    inner join latest using (campaign, as_of_date)
    group by progress.campaign, progress.age_band
)

select * from final

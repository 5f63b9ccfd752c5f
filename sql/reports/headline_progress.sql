-- grain: one row per campaign with a progress snapshot up to $end: eligible, invited, booked and vaccinated
-- residents in its latest snapshot (as-of day up to $end). Headline figures of the summary report.
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
        sum(progress.eligible) as eligible,
        sum(progress.invited) as invited,
        sum(progress.booked) as booked,
        sum(progress.vaccinated) as vaccinated
    from progress
    inner join latest using (campaign, as_of_date)
    group by progress.campaign
)

select * from final

-- grain: one row per campaign × age band × canton on the as-of day $day (every band × canton holding
-- eligible or invited residents): eligible residents (resident on $day, at least the youngest age any of
-- the campaign's phases admits — temp table _campaign_rule; 0 for a campaign it does not list) and, of the
-- residents resident on $day, how many were invited (a wave day up to $day), booked (a booking made up to
-- $day) and vaccinated (a dose administered up to $day), each counted once per resident and campaign;
-- coverage = vaccinated / eligible. Age band and canton are the resident's on $day.
with population as (
    select
        resident_id,
        coalesce(canton, 'unknown') as canton,
        age_in_years(birth_date, $day) as age  -- on $day (sql/macros/age.sql)
    from core.dim_resident
    where valid_from <= $day
      and (valid_to is null or valid_to > $day)
      and status = 'resident'
),

rules as (
    select campaign, min_age from _campaign_rule
),

invitations as (
    select invitation_id, resident_id, campaign
    from core.fct_invitation
    where wave_date <= $day
),

bookings as (
    select invitation_id, booked_at, administered_at
    from core.fct_booking
),

campaigns as (
    select campaign from rules
    union
    select distinct campaign from invitations
),

banded as (
    select
        resident_id,
        canton,
        age,
        age_band(age) as age_band
    from population
),

eligible as (
    select campaigns.campaign, banded.age_band, banded.canton, count(*) as eligible
    from campaigns
    left join rules on campaigns.campaign = rules.campaign
    inner join banded on banded.age >= coalesce(rules.min_age, 0)
    group by campaigns.campaign, banded.age_band, banded.canton
),

-- one row per campaign × resident invited up to $day
activity as (
    select
        invitations.campaign,
        invitations.resident_id,
        bool_or(cast(bookings.booked_at as date) <= $day) as booked,
        bool_or(cast(bookings.administered_at as date) <= $day) as vaccinated
    from invitations
    left join bookings on invitations.invitation_id = bookings.invitation_id
    group by invitations.campaign, invitations.resident_id
),

uptake as (
    select
        activity.campaign,
        banded.age_band,
        banded.canton,
        count(*) as invited,
        count(*) filter (where activity.booked) as booked,
        count(*) filter (where activity.vaccinated) as vaccinated
    from activity
    inner join banded on activity.resident_id = banded.resident_id
    group by activity.campaign, banded.age_band, banded.canton
),

final as (
    select
        cast($day as date) as as_of_date,
        campaign,
        age_band,
        canton,
        coalesce(eligible.eligible, 0) as eligible,
        coalesce(uptake.invited, 0) as invited,
        coalesce(uptake.booked, 0) as booked,
        coalesce(uptake.vaccinated, 0) as vaccinated,
        case
            when coalesce(eligible.eligible, 0) > 0
                then cast(coalesce(uptake.vaccinated, 0) as double) / eligible.eligible
        end as coverage
    from eligible
    full outer join uptake using (campaign, age_band, canton)
)

select * from final

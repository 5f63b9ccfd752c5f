-- The control room: the campaigns' cumulative progress per as-of day (all campaigns, every age band and
-- canton), days first..last.
select as_of_date as day, sum(eligible) as eligible, sum(invited) as invited, sum(booked) as booked,
    sum(vaccinated) as vaccinated
from marts.fct_campaign_progress
where as_of_date between $first and $last
group by as_of_date

-- grain: one row per wave day up to $day: the print shop's load as the waves planned it — its capacity
-- (paper pieces; 0 on a day it is shut), the reprints pending against it, the paper letters due for failed
-- e-mails, the new letters planned, the letters the centres allowed that had to wait, and the pieces planned
-- (letters + reprints + fallbacks).
with capacity as (
    select wave_date as day, working_day, capacity, reprints, coalesce(fallbacks, 0) as fallbacks
    from core.fct_print_capacity
    where wave_date <= $day
),

waves as (
    select wave_date as day, sum(letters) as letters, sum(deferred) as deferred
    from core.fct_wave
    where wave_date <= $day
    group by wave_date
),

final as (
    select
        capacity.day,
        capacity.working_day,
        capacity.capacity,
        capacity.reprints,
        capacity.fallbacks,
        coalesce(waves.letters, 0) as letters,
        coalesce(waves.deferred, 0) as deferred,
        capacity.reprints + capacity.fallbacks + coalesce(waves.letters, 0) as pieces
    from capacity
    left join waves using (day)
)

select * from final

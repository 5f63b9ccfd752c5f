-- grain: one row per wave day between $start and $end that the waves planned: the print shop's capacity
-- (paper pieces), the pieces planned against it (new letters + reprints), the reprints, the letters that
-- waited for a later day. The report's print-shop load table.
with load as (
    select * from marts.fct_print_load_daily where day between $start and $end
),

final as (
    select day, working_day, capacity, pieces, reprints, deferred
    from load
)

select * from final order by day

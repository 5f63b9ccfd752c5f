-- grain: one row per age band of the marts, youngest first (the age_bands macro, sql/macros/age.sql): the
-- bars of the report's coverage chart, whether or not a band holds anyone.
with bands as (
    select * from age_bands()
),

final as (
    select age_band, lower_age from bands
)

select * from final order by lower_age

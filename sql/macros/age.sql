-- Age and age band, defined once for every SQL file that needs them (waves, marts, report figures).
-- Temporary macros: created on each connection (convoc.warehouse.create_macros, called by connect,
-- ensure_schema, the marts and the report), never stored in the warehouse file — so no view may use them.

-- age_in_years(born, on_day): completed years on on_day. A birthday counts from the day itself; someone
-- born on 29 February turns a year older on 1 March in common years. (Not `age`: DuckDB's own age() is an
-- interval between two timestamps.)
create or replace temp macro age_in_years(born, on_day) as
    year(cast(on_day as date)) - year(born) - case
        when month(born) * 100 + day(born) > month(cast(on_day as date)) * 100 + day(cast(on_day as date))
            then 1
        else 0
    end;

-- age_band(age): the analysts' age band of an age in completed years ('unknown' for no age).
create or replace temp macro age_band(age) as
    case
        when age is null then 'unknown'
        when age < 16 then '0-15'
        when age < 55 then '16-54'
        when age < 65 then '55-64'
        when age < 70 then '65-69'
        when age < 75 then '70-74'
        when age < 80 then '75-79'
        else '80+'
    end;

-- age_bands(): one row per age band (age_band, lower_age), youngest first — read off age_band itself, so
-- the list the report draws and the bands the marts count cannot diverge.
create or replace temp macro age_bands() as table
    select age_band(age) as age_band, min(age) as lower_age
    from range(0, 150) as ages(age)
    group by all
    order by lower_age;

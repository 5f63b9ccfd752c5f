-- grain: one row per letter of a mailing campaign ($campaign) still to send on $wave_date: one per resident
-- aged $min_age to $max_age (on the wave day) in the communes of _commune_filter (every commune when
-- $all_communes), or, when $per_household, one per household address (street, house number, postcode) with
-- such a resident, addressed to its oldest one. Nobody (no household) gets a second letter of the campaign.
-- No booking capacity: everything eligible is selected, the print shop's capacity decides the day
-- (convoc.waves.print_capacity); print_order walks the country in postal order, so a day's cut covers whole
-- streets. Only what happened before $wave_date counts.
with residents as (
    select
        resident_id,
        birth_date,
        commune,
        language,
        postcode,
        street,
        house_number,
        household_key(street, house_number, postcode) as household,  -- sql/macros/household.sql
        age_in_years(birth_date, $wave_date) as age  -- on the wave day (sql/macros/age.sql)
    from core.dim_resident
    where valid_from <= $wave_date
      and (valid_to is null or valid_to > $wave_date)
      and status = 'resident'
),

chosen as (
    select *
    from residents
    where age >= $min_age
      and age <= $max_age
      and ($all_communes or commune in (select commune from _commune_filter))
),

sent as (
    select resident_id from core.fct_invitation where campaign = $campaign and wave_date < $wave_date
),

households_sent as (
    select distinct residents.household
    from residents
    inner join sent using (resident_id)
),

per_resident as (
    select * from chosen
    where not $per_household
      and resident_id not in (select resident_id from sent)
),

per_household as (
    select * from chosen
    where $per_household
      and household not in (select household from households_sent)
    qualify row_number() over (partition by household order by birth_date, resident_id) = 1
),

letters as (
    select * from per_resident
    union all
    select * from per_household
),

final as (
    select
        resident_id,
        1 as dose,
        1 as attempt,
        case when $per_household then 'household' else 'resident' end as phase,
        '' as centre,
        language,
        0 as phase_rank,
        cast(row_number() over (
            order by postcode, street, try_cast(regexp_extract(house_number, '^[0-9]+') as integer) nulls first,
                house_number, resident_id
        ) as double) as print_order
    from letters
)

select * from final

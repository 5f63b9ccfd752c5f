-- grain: one row per invitation of a sampling campaign (large-scale testing) to send on $wave_date.
-- A representative sample: $daily letters shared among strata (canton × age band × sex, each switched by
-- $by_canton, $by_age_band, $by_sex) in proportion to the residents aged $min_age+; inside a stratum the
-- order is a hash of the resident and the day. At most one member of a household (same address) is
-- invited in a calendar week. Inputs besides the warehouse: _band (age bands), _catchment.
with residents as (
    select
        resident_id,
        commune,
        canton,
        sex,
        language,
        household_key(street, house_number, postcode) as household,  -- sql/macros/household.sql
        age_in_years(birth_date, $wave_date) as age  -- on the wave day (sql/macros/age.sql)
    from core.dim_resident
    where valid_from <= $wave_date
      and (valid_to is null or valid_to > $wave_date)
      and status = 'resident'
),

banded as (
    select
        residents.*,
        concat_ws('|',
            case when $by_canton then residents.canton end,
            case when $by_age_band then cast(_band.lower_age as varchar) end,
            case when $by_sex then residents.sex end
        ) as stratum
    from residents
    inner join _band on residents.age >= _band.lower_age and residents.age < _band.upper_age
    where residents.age >= $min_age
),

earlier as (
    select * from core.fct_invitation where campaign = $campaign and wave_date < $wave_date
),

history as (
    select
        earlier.resident_id,
        max(earlier.attempt) as attempts,
        max(earlier.valid_until) as last_valid_until,
        count(booking.booking_code) > 0 as booked
    from earlier
    left join core.fct_booking as booking
        on booking.invitation_id = earlier.invitation_id and booking.booked_at < $wave_date
    group by earlier.resident_id
),

households_this_week as (
    select distinct residents.household
    from earlier
    inner join residents using (resident_id)
    where date_trunc('week', earlier.wave_date) = date_trunc('week', cast($wave_date as date))
),

quota as (
    select stratum, round($daily * count(*) / sum(count(*)) over ()) as quota
    from banded
    group by stratum
),

eligible as (
    select banded.*, coalesce(history.attempts, 0) + 1 as attempt
    from banded
    left join history using (resident_id)
    where banded.household not in (select household from households_this_week)
      and (
          history.resident_id is null
          or (
              not history.booked
              and history.last_valid_until + $reinvite_wait_days < $wave_date
              and history.attempts < $max_attempts
          )
      )
),

one_per_household as (
    select *
    from eligible
    qualify row_number() over (partition by household order by hash(resident_id, $wave_date)) = 1
),

ranked as (
    select
        one_per_household.*,
        row_number() over (partition by stratum order by hash(resident_id, $wave_date), resident_id) as rank_in_stratum
    from one_per_household
),

final as (
    select
        ranked.resident_id,
        1 as dose,
        ranked.attempt,
        'sample' as phase,
        _catchment.centre,
        ranked.language,
        -- the print order (convoc.waves.print_capacity): a cut takes the same share of every stratum
        0 as phase_rank,
        ranked.rank_in_stratum / quota.quota as print_order
    from ranked
    inner join quota using (stratum)
    inner join _catchment using (commune)
    where ranked.rank_in_stratum <= quota.quota
)

select * from final

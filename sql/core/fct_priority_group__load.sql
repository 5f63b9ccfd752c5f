-- core.fct_priority_group for $snapshot_date: the day's priority lists keyed by resident_id.
-- grain: one row per snapshot day × resident × priority group. Replaces the day's partition.
delete from core.fct_priority_group where snapshot_date = $snapshot_date;

insert into core.fct_priority_group
with staged as (
    select * from staging.priority_group where snapshot_date = $snapshot_date
),

residents as (
    select matricule, resident_id from core.dim_resident
    where valid_from <= $snapshot_date and (valid_to is null or valid_to > $snapshot_date)
),

final as (
    select distinct staged.snapshot_date, residents.resident_id, staged.group_code, staged.detail,
        staged.registered_on
    from staged
    inner join residents using (matricule)
)

select * from final;

-- grain: one row per valid row of one priority_healthworkers file (snapshot day × resident × group)
-- Rows quarantined by validation (including unknown residents) are left out.
with source as (
    select * from raw.priority_healthworkers where _file = $file_name
),

rejected as (
    select distinct line_number from quarantine.priority_healthworkers_rejects where source_file = $file_name
),

final as (
    select
        cast($snapshot_date as date) as snapshot_date,
        _file as source_file,
        _line as line_number,
        matricule,
        'health_worker' as group_code,
        profession as detail,
        cast(null as date) as registered_on
    from source
    where _line not in (select line_number from rejected)
)

select * from final

-- grain: one row per valid row of one priority list file ($file_name), as snapshot day × resident × group.
-- The four lists (care homes, health workers, vulnerable, conditions) differ only in how a row names its
-- group, its detail and its registration date: one import CTE each says how; the file belongs to one list,
-- so the other three select nothing. Rows quarantined by validation (including unknown residents) are left
-- out.
with carehomes as (
    select
        _file,
        _line,
        matricule,
        'carehome_' || role as group_code,
        facility as detail,
        cast(null as date) as registered_on
    from raw.priority_carehomes
    where _file = $file_name
),

healthworkers as (
    select
        _file,
        _line,
        matricule,
        'health_worker' as group_code,
        profession as detail,
        cast(null as date) as registered_on
    from raw.priority_healthworkers
    where _file = $file_name
),

vulnerable as (
    select
        _file,
        _line,
        matricule,
        'vulnerable_' || level as group_code,
        condition as detail,
        cast(registered_on as date) as registered_on
    from raw.priority_vulnerable
    where _file = $file_name
),

conditions as (
    select
        _file,
        _line,
        matricule,
        condition as group_code,
        cast(null as varchar) as detail,
        cast(registered_on as date) as registered_on
    from raw.priority_conditions
    where _file = $file_name
),

source as (
    select * from carehomes
    union all
    select * from healthworkers
    union all
    select * from vulnerable
    union all
    select * from conditions
),

rejected as (
    select line_number from quarantine.priority_carehomes_rejects where source_file = $file_name
    union
    select line_number from quarantine.priority_healthworkers_rejects where source_file = $file_name
    union
    select line_number from quarantine.priority_vulnerable_rejects where source_file = $file_name
    union
    select line_number from quarantine.priority_conditions_rejects where source_file = $file_name
),

final as (
    select
        cast($snapshot_date as date) as snapshot_date,
        _file as source_file,
        _line as line_number,
        matricule,
        group_code,
        detail,
        registered_on
    from source
    where _line not in (select line_number from rejected)
)

select * from final

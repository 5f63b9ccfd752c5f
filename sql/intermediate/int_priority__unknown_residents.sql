-- grain: one row per row of a priority list or contact-preferences file (its valid raw rows, given as the
-- table `_raw_rows`) whose matricule names no resident of the register valid on $snapshot_date; they are
-- quarantined.
with source as (
    select * from _raw_rows
),

residents as (
    select matricule from core.dim_resident
    where valid_from <= $snapshot_date and (valid_to is null or valid_to > $snapshot_date)
),

final as (
    select
        cast($snapshot_date as date) as snapshot_date,
        source._file as source_file,
        source._line as line_number,
        'matricule' as column_name,
        'unknown_resident' as rule,
        source.matricule as value
    from source
    anti join residents using (matricule)
    where source.matricule is not null
)

select * from final

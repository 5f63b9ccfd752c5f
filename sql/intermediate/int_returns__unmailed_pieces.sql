-- grain: one row per row of a returned-mail file (its valid raw rows, given as the table `_raw_rows`)
-- whose piece the print shop never confirmed as mailed (unknown, spoiled, or not yet reported).
-- They are quarantined: mail cannot come back before it was sent.
with source as (
    select *, try_cast(piece_id as bigint) as piece from _raw_rows
),

mailed as (
    select job_id, piece_id as piece from core.fct_print_event where status = 'mailed'
),

final as (
    select
        cast($snapshot_date as date) as snapshot_date,
        source._file as source_file,
        source._line as line_number,
        'piece_id' as column_name,
        'never_mailed' as rule,
        source.piece_id as value
    from source
    anti join mailed using (job_id, piece)
)

select * from final

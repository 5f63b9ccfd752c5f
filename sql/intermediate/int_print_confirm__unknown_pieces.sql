-- grain: one row per row of a print confirmation file (its valid raw rows, given as the table
-- `_raw_rows`) that names a job never delivered or a piece its job does not carry. They are quarantined.
with source as (
    select *, try_cast(piece_id as bigint) as piece from _raw_rows
),

jobs as (
    select distinct job_id from core.fct_print_job
),

pieces as (
    select job_id, piece_id as piece from core.fct_print_piece
),

unknown_jobs as (
    select source.* from source anti join jobs using (job_id)
),

unknown_pieces as (
    select source.* from source semi join jobs using (job_id) anti join pieces using (job_id, piece)
),

final as (
    select
        cast($snapshot_date as date) as snapshot_date,
        _file as source_file,
        _line as line_number,
        'job_id' as column_name,
        'unknown_job' as rule,
        job_id as value
    from unknown_jobs
    union all
    select
        cast($snapshot_date as date),
        _file,
        _line,
        'piece_id',
        'unknown_piece',
        piece_id
    from unknown_pieces
)

select * from final

-- grain: one row per valid row of one print confirmation file (a piece mailed or spoiled)
-- Rows quarantined by validation (including unknown jobs and pieces) are left out.
with source as (
    select * from raw.print_confirm where _file = $file_name
),

rejected as (
    select distinct line_number from quarantine.print_confirm_rejects where source_file = $file_name
),

final as (
    select
        cast($snapshot_date as date) as snapshot_date,
        _file as source_file,
        _line as line_number,
        job_id,
        cast(piece_id as bigint) as piece_id,
        status,
        cast(event_date as date) as event_date
    from source
    where _line not in (select line_number from rejected)
)

select * from final

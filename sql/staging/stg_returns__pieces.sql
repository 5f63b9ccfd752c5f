-- grain: one row per valid row of one returned-mail file (a letter the post office brought back)
-- Rows quarantined by validation (including pieces never mailed) are left out.
with source as (
    select * from raw.returns where _file = $file_name
),

rejected as (
    select distinct line_number from quarantine.returns_rejects where source_file = $file_name
),

final as (
    select
        cast($snapshot_date as date) as snapshot_date,
        _file as source_file,
        _line as line_number,
        job_id,
        cast(piece_id as bigint) as piece_id,
        reason,
        cast(returned_on as date) as returned_on
    from source
    where _line not in (select line_number from rejected)
)

select * from final

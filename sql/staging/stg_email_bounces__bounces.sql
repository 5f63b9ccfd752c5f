-- grain: one row per valid row of one email_bounces file (one bounce notice for a message sent)
-- Rows quarantined by validation (including unknown messages) are left out.
with source as (
    select * from raw.email_bounces where _file = $file_name
),

rejected as (
    select distinct line_number from quarantine.email_bounces_rejects where source_file = $file_name
),

final as (
    select
        cast($snapshot_date as date) as snapshot_date,
        _file as source_file,
        _line as line_number,
        message_id,
        strptime(bounced_at, '%Y-%m-%d %H:%M') as bounced_at,
        kind
    from source
    where _line not in (select line_number from rejected)
)

select * from final

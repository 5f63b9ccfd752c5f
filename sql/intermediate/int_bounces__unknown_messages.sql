-- grain: one row per row of an email_bounces file (its valid raw rows, given as the table `_raw_rows`) whose
-- Message-ID no e-mail invitation was sent under (core.fct_email_attempt): another sender's mail, or a
-- mistyped report. They are quarantined.
with source as (
    select * from _raw_rows
),

sent as (
    select distinct message_id from core.fct_email_attempt where status = 'sent'
),

final as (
    select
        cast($snapshot_date as date) as snapshot_date,
        source._file as source_file,
        source._line as line_number,
        'message_id' as column_name,
        'unknown_message' as rule,
        source.message_id as value
    from source
    anti join sent using (message_id)
)

select * from final

-- core.fct_email_bounce from the email_bounces file $file_name (its rows replaced: a re-delivered file changes
-- nothing twice). grain: one row per bounce notice, with the invitation its message was sent for.
delete from core.fct_email_bounce where source_file = $file_name;

insert into core.fct_email_bounce
with staged as (
    select * from staging.email_bounce where source_file = $file_name
),

messages as (
    select distinct message_id, invitation_id from core.fct_email_attempt where status = 'sent'
),

final as (
    select
        staged.snapshot_date,
        staged.message_id,
        messages.invitation_id,
        staged.bounced_at,
        staged.kind,
        staged.source_file,
        staged.line_number
    from staged
    inner join messages using (message_id)
)

select * from final

-- core.fct_email_attempt for wave day $wave_date from the day's send ledger (convoc.notify.outbox), its rows
-- replaced; read by DuckDB straight from the file (the parameter ledger), whatever the day's number of e-mails.
-- grain: one row per answered attempt at a message (a "sending" line alone is a message that was in flight, not
-- an attempt). Attempt n is the message's n-th answer in time order: a message is tried again only by a later
-- task attempt, never twice within a millisecond. A last line cut short by a crash is ignored.
delete from core.fct_email_attempt where wave_date = $wave_date;

insert into core.fct_email_attempt by name
with entries as (
    select *
    from read_json(
        $ledger, format = 'newline_delimited', ignore_errors = true,
        columns = {'id': 'varchar', 'mid': 'varchar', 'event': 'varchar', 'code': 'integer', 'at': 'varchar'}
    )
    where id is not null and mid is not null and event is not null and "at" is not null
      and event <> 'sending'
),

final as (
    select
        id as invitation_id,
        $wave_date as wave_date,
        mid as message_id,
        cast(row_number() over (partition by id order by "at") as integer) as attempt,
        event as status,
        code as smtp_code,
        -- written in UTC by convoc.notify.outbox.Ledger: YYYY-MM-DDTHH:MM:SS.mmm+00:00
        cast(left("at", 23) as timestamp) as attempted_at
    from entries
)

select * from final

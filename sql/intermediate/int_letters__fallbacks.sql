-- grain: one row per invitation sent by e-mail only whose e-mail failed, and whose paper letter (same code, same
-- validity) goes into the letters of $wave_date: the day after the failure is known, once, while the code is still
-- valid and unbooked. An e-mail failed when the relay reported a hard bounce for it (core.fct_email_bounce), or when
-- no attempt was accepted and one was refused for good (failed) or it was deferred 3 times
-- (convoc.notify.outbox.MAX_TRIES). The letters stage prints them (as _fallbacks, int_letters__pieces.sql); the
-- waves count them against the day's print-shop capacity before planning new letters.
with email_failed as (
    select invitation_id from core.fct_email_bounce
    where kind = 'hard' and snapshot_date <= $wave_date
    union
    select invitation_id from core.fct_email_attempt
    where wave_date < $wave_date
    group by invitation_id
    having count(*) filter (where status = 'sent') = 0
        and (count(*) filter (where status = 'failed') > 0 or count(*) filter (where status = 'deferred') >= 3)
),

final as (
    select invitations.*
    from core.fct_invitation as invitations
    inner join email_failed using (invitation_id)
    where invitations.channel = 'email'
        and invitations.wave_date < $wave_date
        and invitations.valid_until >= $wave_date
        and invitations.invitation_id not in (
            select invitation_id from core.fct_print_batch_letter where wave_date < $wave_date
        )
        and invitations.invitation_id not in (select invitation_id from core.fct_booking)
)

select * from final

-- E-mail invitations.

-- One row per e-mail invitation × send attempt: the message (its Message-ID, derived from the invitation id),
-- the attempt's outcome — sent (the server accepted it), deferred (a temporary refusal, 4xx: tried again on the
-- task's next attempt or the next run), failed (a permanent refusal, 5xx, or the address refused) — and the
-- SMTP reply code. An attempt interrupted by a kill, its outcome unknown, is recorded by the attempt that
-- re-sent it. Writer: notify_digital (convoc.notify.outbox, record_messages), replacing a wave day's rows.
create table if not exists core.fct_email_attempt (
    invitation_id varchar not null,
    wave_date date not null,
    message_id varchar not null,
    attempt integer not null,
    status varchar not null,
    smtp_code integer,
    attempted_at timestamp not null
);

-- E-mail invitations.

-- One row per e-mail invitation × send attempt: the message (its Message-ID, derived from the invitation id),
-- the attempt's outcome — sent (the server accepted it), deferred (a temporary refusal, 4xx: tried again on the
-- task's next attempt or the next run), failed (a permanent refusal, 5xx, or the address refused) — and the
-- SMTP reply code. An attempt interrupted by a kill, its outcome unknown, is recorded by the attempt that
-- re-sent it. Writer: notify_digital (convoc.notify.outbox, sql/core/fct_email_attempt__load.sql), its
-- record_messages replacing a wave day's rows from the send ledger.
create table if not exists core.fct_email_attempt (
    invitation_id varchar not null,
    wave_date date not null,
    message_id varchar not null,
    attempt integer not null,
    status varchar not null,
    smtp_code integer,
    attempted_at timestamp not null
);

-- Bounce notices of the mail relay: one row per valid row of an email_bounces file, by source_file.
-- Writer: ingest (convoc.ingest, sql/staging/stg_email_bounces__bounces.sql).
create table if not exists staging.email_bounce (
    snapshot_date date not null,
    source_file varchar not null,
    line_number bigint not null,
    message_id varchar not null,
    bounced_at timestamp not null,
    kind varchar not null
);

-- One row per bounce notice of an e-mail invitation (hard: the address does not exist; soft: a full mailbox, a
-- server away): the day of the file, the message and its invitation. A hard bounce of an invitation sent by
-- e-mail only puts its paper letter into the next letters (sql/intermediate/int_letters__pieces.sql).
-- Writer: ingest (convoc.ingest, sql/core/fct_email_bounce__load.sql).
create table if not exists core.fct_email_bounce (
    snapshot_date date not null,
    message_id varchar not null,
    invitation_id varchar not null,
    bounced_at timestamp not null,
    kind varchar not null,
    source_file varchar not null,
    line_number bigint not null
);

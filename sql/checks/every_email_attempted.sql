-- Rule "every e-mail invitation sent or explained": on each wave day up to $day whose e-mails went out (the
-- day has rows in core.fct_email_attempt), every invitation of channel email or both has an attempt — accepted,
-- or a row explaining why not (deferred, failed) — and marts.fct_channel_daily counts the same e-mails
-- accepted. grain: one row per wave day breaking it; `detail` names the day and the numbers.
with invitations as (
    select invitation_id, wave_date as day
    from core.fct_invitation
    where wave_date <= $day and channel in ('email', 'both')
),

attempts as (
    select
        invitation_id,
        wave_date as day,
        bool_or(status = 'sent') as accepted
    from core.fct_email_attempt
    where wave_date <= $day
    group by invitation_id, wave_date
),

sent_days as (
    select distinct day from attempts
),

per_day as (
    select
        invitations.day,
        count(*) as emails,
        count(attempts.invitation_id) as attempted,
        count(*) filter (where attempts.accepted) as accepted
    from invitations
    inner join sent_days using (day)
    left join attempts using (invitation_id, day)
    group by invitations.day
),

mart as (
    select day, sum(emails_sent) as accepted
    from marts.fct_channel_daily
    where day <= $day
    group by day
),

final as (
    select
        per_day.day,
        'wave ' || per_day.day || ': ' || per_day.emails || ' e-mail invitations, '
            || (per_day.emails - per_day.attempted) || ' never attempted; accepted: core '
            || per_day.accepted || ', marts.fct_channel_daily ' || coalesce(mart.accepted, 0) as detail
    from per_day
    left join mart using (day)
    where per_day.attempted < per_day.emails or per_day.accepted <> coalesce(mart.accepted, 0)
)

select * from final order by day

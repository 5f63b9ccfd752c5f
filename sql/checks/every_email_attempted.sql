-- Rule "every e-mail invitation sent or explained": on each wave day up to $day whose e-mails went out (the
-- day has rows in core.fct_email_attempt, all written at once when the day's sending ends), every invitation of
-- channel email or both has an attempt — accepted, or a row explaining why not (deferred, failed).
-- grain: one row per wave day breaking it; `detail` names the day and the numbers. (The e-mails are sent beside
-- the letters: marts.fct_channel_daily may be built before the day's attempts are recorded, so the mart is not
-- compared here; the next day's run counts them.)
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

final as (
    select
        day,
        'wave ' || day || ': ' || emails || ' e-mail invitations, ' || (emails - attempted)
            || ' never attempted, ' || accepted || ' accepted' as detail
    from per_day
    where attempted < emails
)

select * from final order by day

-- grain: one row per wave day × campaign × channel × format, for wave days up to $day: the invitations of the
-- day by how they reached the resident — letters printed (a fallback letter after a failed e-mail included),
-- e-mails accepted by the relay, e-mails not accepted after the retries (refused for good or deferred three
-- times), hard and soft bounces, fallback letters, and the postage saved: e-mail-only invitations accepted and
-- not sent on paper after all, at the postage price in force on the wave day (temp table _postage_price).
with invitations as (
    select invitation_id, wave_date as day, campaign, channel, format
    from core.fct_invitation
    where wave_date <= $day
),

printed as (
    select distinct invitation_id from core.fct_print_batch_letter
),

attempts as (
    select
        invitation_id,
        count(*) filter (where status = 'sent') > 0 as accepted,
        count(*) filter (where status = 'failed') > 0 or count(*) filter (where status = 'deferred') >= 3 as given_up
    from core.fct_email_attempt
    group by invitation_id
),

bounces as (
    select
        invitation_id,
        bool_or(kind = 'hard') as hard,
        bool_or(kind = 'soft') as soft
    from core.fct_email_bounce
    group by invitation_id
),

prices as (
    select valid_from, price_eur from _postage_price
),

flags as (
    select
        invitations.*,
        printed.invitation_id is not null as letter,
        coalesce(attempts.accepted, false) as email_sent,
        coalesce(attempts.given_up and not attempts.accepted, false) as email_failed,
        coalesce(bounces.hard, false) as bounced_hard,
        coalesce(bounces.soft, false) as bounced_soft
    from invitations
    left join printed using (invitation_id)
    left join attempts using (invitation_id)
    left join bounces using (invitation_id)
),

counted as (
    select
        day,
        campaign,
        channel,
        format,
        count(*) as invitations,
        count(*) filter (where letter) as letters,
        count(*) filter (where email_sent) as emails_sent,
        count(*) filter (where email_failed) as emails_failed,
        count(*) filter (where bounced_hard) as bounced_hard,
        count(*) filter (where bounced_soft) as bounced_soft,
        count(*) filter (where channel = 'email' and letter) as fallback_letters,
        count(*) filter (where channel = 'email' and email_sent and not letter) as paper_saved
    from flags
    group by all
),

final as (
    select
        counted.* exclude (paper_saved),
        cast(counted.paper_saved * coalesce(prices.price_eur, 0) as decimal(12, 2)) as postage_saved_eur
    from counted
    asof left join prices on counted.day >= prices.valid_from
)

select * from final

-- grain: one row per channel (paper, both, email) of the invitations of the wave days between $start and $end:
-- invitations, letters printed, e-mails accepted and not accepted, hard bounces, fallback letters and the
-- postage saved by e-mail. The report's channels table.
with channels as (
    select * from marts.fct_channel_daily where day between $start and $end
),

final as (
    select
        channel,
        sum(invitations) as invitations,
        sum(letters) as letters,
        sum(emails_sent) as emails_sent,
        sum(emails_failed) as emails_failed,
        sum(bounced_hard) as bounced_hard,
        sum(fallback_letters) as fallback_letters,
        sum(postage_saved_eur) as postage_saved_eur
    from channels
    group by channel
)

select * from final order by case channel when 'paper' then 1 when 'both' then 2 else 3 end

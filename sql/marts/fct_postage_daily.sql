-- grain: one row per mailing day × campaign, for mailing days up to $day: letters the print shop confirmed
-- as mailed that day (every mailed piece is one envelope; a reprint mailed is a letter mailed) and their
-- postage at the price in force that day (temp table _postage_price: valid_from, price_eur).
with events as (
    select invitation_id, event_date
    from core.fct_print_event
    where status = 'mailed'
      and event_date <= $day
),

invitations as (
    select invitation_id, campaign from core.fct_invitation
),

prices as (
    select valid_from, price_eur from _postage_price
),

mailed as (
    select events.event_date as day, invitations.campaign, count(*) as letters_mailed
    from events
    inner join invitations on events.invitation_id = invitations.invitation_id
    group by events.event_date, invitations.campaign
),

priced as (
    select mailed.day, mailed.campaign, mailed.letters_mailed, prices.price_eur
    from mailed
    asof left join prices on mailed.day >= prices.valid_from
),

final as (
    select
        day,
        campaign,
        letters_mailed,
        cast(price_eur as decimal(6, 2)) as price_eur,
        cast(letters_mailed * cast(price_eur as decimal(6, 2)) as decimal(12, 2)) as cost_eur
    from priced
)

select * from final

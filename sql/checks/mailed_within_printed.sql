-- Rule "mailed <= printed": per wave day, the pieces the print shop confirmed as mailed are no more than the
-- pieces printed (original and reprint jobs), and in marts.fct_dispatch_daily the invitations mailed are no
-- more than those printed. grain: one row per wave day up to $day (of an invitation or of a dispatch row)
-- breaking it; `detail` names the day and the numbers.
with invitations as (
    select invitation_id, wave_date as day
    from core.fct_invitation
    where wave_date <= $day
),

pieces as (
    select invitations.day, count(*) as printed_pieces
    from core.fct_print_piece as piece
    inner join invitations using (invitation_id)
    group by invitations.day
),

mailings as (
    select invitations.day, count(*) as mailed_pieces
    from core.fct_print_event as event
    inner join invitations using (invitation_id)
    where event.status = 'mailed'
    group by invitations.day
),

dispatch as (
    select day, sum(printed) as printed, sum(mailed) as mailed
    from marts.fct_dispatch_daily
    where day <= $day
    group by day
),

days as (
    select day from invitations
    union
    select day from dispatch
),

compared as (
    select
        days.day,
        coalesce(pieces.printed_pieces, 0) as printed_pieces,
        coalesce(mailings.mailed_pieces, 0) as mailed_pieces,
        coalesce(dispatch.printed, 0) as mart_printed,
        coalesce(dispatch.mailed, 0) as mart_mailed
    from days
    left join pieces using (day)
    left join mailings using (day)
    left join dispatch using (day)
),

final as (
    select
        day,
        'wave ' || day || ': ' || mailed_pieces || ' pieces mailed of ' || printed_pieces || ' printed (mart: '
            || mart_mailed || ' invitations mailed, ' || mart_printed || ' printed)' as detail
    from compared
    where mailed_pieces > printed_pieces or mart_mailed > mart_printed
)

select * from final order by day

-- Rule "printed <= invited + reprints": per wave day, the pieces in original print jobs are no more than the
-- invitations (one piece each) — so all pieces are no more than invitations + reprinted pieces — and in
-- marts.fct_dispatch_daily the invitations printed are no more than those invited. grain: one row per wave
-- day up to $day (of an invitation or of a dispatch row) breaking it; `detail` names the day and the numbers.
with invitations as (
    select invitation_id, wave_date as day
    from core.fct_invitation
    where wave_date <= $day
),

invited as (
    select day, count(*) as invited
    from invitations
    group by day
),

pieces as (
    select
        invitations.day,
        count(*) filter (where not piece.reprint) as original_pieces,
        count(*) filter (where piece.reprint) as reprint_pieces
    from core.fct_print_piece as piece
    inner join invitations using (invitation_id)
    group by invitations.day
),

dispatch as (
    select day, sum(invited) as invited, sum(printed) as printed
    from marts.fct_dispatch_daily
    where day <= $day
    group by day
),

days as (
    select day from invited
    union
    select day from dispatch
),

compared as (
    select
        days.day,
        coalesce(invited.invited, 0) as core_invited,
        coalesce(pieces.original_pieces, 0) as original_pieces,
        coalesce(pieces.reprint_pieces, 0) as reprint_pieces,
        coalesce(dispatch.invited, 0) as mart_invited,
        coalesce(dispatch.printed, 0) as mart_printed
    from days
    left join invited using (day)
    left join pieces using (day)
    left join dispatch using (day)
),

final as (
    select
        day,
        'wave ' || day || ': ' || (original_pieces + reprint_pieces) || ' pieces printed > ' || core_invited
            || ' invited + ' || reprint_pieces || ' reprints (mart: ' || mart_printed || ' printed of '
            || mart_invited || ' invited)' as detail
    from compared
    where original_pieces > core_invited or mart_printed > mart_invited
)

select * from final order by day

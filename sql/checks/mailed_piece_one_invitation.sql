-- Rule "mailed piece = one invitation": every piece confirmed as mailed up to $day is a piece of its job
-- carrying exactly one invitation — the one the confirmation names, which exists — and no piece is mailed
-- twice (first print and reprint). grain: one row per mailed confirmation breaking the first part (`detail`:
-- job, piece, piece records and invitations found), then one row per original piece mailed more than once.
with events as (
    select job_id, origin_job_id, piece_id, invitation_id
    from core.fct_print_event
    where status = 'mailed' and event_date <= $day
),

pieces as (
    select job_id, piece_id, invitation_id from core.fct_print_piece
),

invitations as (
    select invitation_id from core.fct_invitation
),

matched as (
    select
        events.job_id,
        events.piece_id,
        events.invitation_id,
        count(pieces.invitation_id) as piece_records,
        count(distinct pieces.invitation_id) as invitations,
        bool_and(pieces.invitation_id = events.invitation_id) as same_invitation,
        bool_or(events.invitation_id in (select invitation_id from invitations)) as known_invitation
    from events
    left join pieces on pieces.job_id = events.job_id and pieces.piece_id = events.piece_id
    group by events.job_id, events.piece_id, events.invitation_id
),

unmatched as (
    select
        1 as part,
        job_id,
        piece_id,
        job_id || ' piece ' || piece_id || ': ' || piece_records || ' piece record(s), ' || invitations
            || ' invitation(s)' as detail
    from matched
    where piece_records <> 1
       or invitations <> 1
       or not coalesce(same_invitation, false)
       or not coalesce(known_invitation, false)
),

mailed_twice as (
    select
        2 as part,
        origin_job_id as job_id,
        piece_id,
        origin_job_id || ' piece ' || piece_id || ' mailed ' || count(*) || ' times' as detail
    from events
    group by origin_job_id, piece_id
    having count(*) > 1
),

final as (
    select * from unmatched
    union all
    select * from mailed_twice
)

select * from final order by part, job_id, piece_id

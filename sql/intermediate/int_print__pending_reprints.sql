-- grain: one row per piece (origin job × piece id) whose most recent print the print shop reported as
-- spoiled: it must be printed again, under the same piece id and booking code, in a reprint job of its
-- origin job. A piece whose reprint is delivered (or itself spoiled, then reprinted) leaves or re-enters
-- the list accordingly; a piece never reported on is not here.
with pieces as (
    select
        *,
        -- 0 for the original job, n for its n-th reprint: the order prints happen in, whatever is re-run.
        coalesce(try_cast(regexp_extract(job_id, '-R([0-9]+)$', 1) as integer), 0) as print_number
    from core.fct_print_piece
),

latest as (
    select *
    from pieces
    qualify row_number() over (partition by origin_job_id, piece_id order by print_number desc) = 1
),

events as (
    select job_id, piece_id, status from core.fct_print_event
),

reprints_so_far as (
    select origin_job_id, count(distinct job_id) as reprints
    from core.fct_print_job
    where kind = 'reprint'
    group by origin_job_id
),

final as (
    select
        latest.origin_job_id,
        latest.piece_id,
        latest.invitation_id,
        latest.origin_job_id || '-R' || (coalesce(reprints_so_far.reprints, 0) + 1) as reprint_job_id
    from latest
    inner join events using (job_id, piece_id)
    left join reprints_so_far using (origin_job_id)
    where events.status = 'spoiled'
)

select * from final order by origin_job_id, piece_id

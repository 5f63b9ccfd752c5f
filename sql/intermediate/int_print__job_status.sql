-- grain: one row per print job delivered (the last version of each job id): pieces sent, and what the
-- print shop confirmed — printed (every piece it reported on), inserted and mailed (mailed pieces: the
-- inserter only passes pieces it mails), spoiled (with their piece ids: reprinted by the next hand-off) —
-- and how many came back.
with jobs as (
    select * from core.fct_print_job
),

events as (
    select
        job_id,
        count(*) as printed,
        count(*) filter (where status = 'mailed') as mailed,
        count(*) filter (where status = 'spoiled') as spoiled,
        list(piece_id order by piece_id) filter (where status = 'spoiled') as spoiled_piece_ids
    from core.fct_print_event
    group by job_id
),

returns as (
    select job_id, count(*) as returned from core.fct_return group by job_id
),

final as (
    select
        jobs.job_id,
        jobs.kind,
        jobs.handoff_date,
        jobs.delivered_as,
        jobs.pieces,
        coalesce(events.printed, 0) as printed,
        coalesce(events.mailed, 0) as inserted,
        coalesce(events.mailed, 0) as mailed,
        coalesce(events.spoiled, 0) as spoiled,
        coalesce(events.spoiled_piece_ids, []) as spoiled_piece_ids,
        coalesce(returns.returned, 0) as returned
    from jobs
    left join events using (job_id)
    left join returns using (job_id)
)

select * from final order by handoff_date, job_id

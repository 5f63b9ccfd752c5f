-- grain: one row per print job handed off up to $day (originals and reprints): pieces delivered, pieces the
-- print shop reported spoiled (each goes into a reprint job), and the share spoiled.
with jobs as (
    select job_id, origin_job_id, kind, handoff_date, pieces
    from core.fct_print_job
    where handoff_date <= $day
),

spoiled as (
    select job_id, count(*) as spoiled
    from core.fct_print_event
    where status = 'spoiled'
    group by job_id
),

final as (
    select
        jobs.job_id,
        jobs.origin_job_id,
        jobs.kind,
        jobs.handoff_date,
        jobs.pieces,
        coalesce(spoiled.spoiled, 0) as spoiled,
        case when jobs.pieces > 0 then cast(coalesce(spoiled.spoiled, 0) as double) / jobs.pieces end
            as spoilage_rate
    from jobs
    left join spoiled on jobs.job_id = spoiled.job_id
)

select * from final

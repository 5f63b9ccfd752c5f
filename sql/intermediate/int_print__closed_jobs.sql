-- grain: one row per original print job (JYYYYMMDD) whose every piece the print shop has reported mailed in
-- its latest print (the original, or the last reprint of a spoiled piece), with the day of the job's last
-- report. Its print files (batches, PDFs, built and delivered job folders) are no longer needed once the
-- retention has passed since last_report (convoc.housekeeping). A job with a piece never reported, or whose
-- latest print was spoiled, is not here: its files stay.
with prints as (
    select
        origin_job_id,
        piece_id,
        job_id,
        coalesce(try_cast(regexp_extract(job_id, '-R([0-9]+)$', 1) as integer), 0) as print_number
    from core.fct_print_piece
),

latest as (
    select *
    from prints
    qualify row_number() over (partition by origin_job_id, piece_id order by print_number desc) = 1
),

reported as (
    select latest.origin_job_id, events.status, events.event_date
    from latest
    left join core.fct_print_event as events using (job_id, piece_id)
),

final as (
    select origin_job_id, max(event_date) as last_report, count(*) as pieces
    from reported
    group by origin_job_id
    having bool_and(coalesce(status = 'mailed', false))
)

select * from final order by origin_job_id

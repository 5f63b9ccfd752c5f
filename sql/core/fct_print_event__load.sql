-- core.fct_print_event from the confirmation file $file_name. grain: one row per job × piece reported;
-- a piece reported again (in this file or a later one) replaces its earlier row, so loading the same
-- confirmation twice counts it once. Within the file, the last line about a piece wins.
delete from core.fct_print_event
where (job_id, piece_id) in (select (job_id, piece_id) from staging.print_confirm where source_file = $file_name);

insert into core.fct_print_event
with staged as (
    select * from staging.print_confirm where source_file = $file_name
    qualify row_number() over (partition by job_id, piece_id order by line_number desc) = 1
),

pieces as (
    select job_id, origin_job_id, piece_id, invitation_id from core.fct_print_piece
),

final as (
    select
        staged.job_id,
        pieces.origin_job_id,
        staged.piece_id,
        pieces.invitation_id,
        staged.status,
        staged.event_date,
        staged.source_file
    from staged
    inner join pieces using (job_id, piece_id)
)

select * from final;

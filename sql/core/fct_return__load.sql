-- core.fct_return from the returned-mail file $file_name. grain: one row per original piece returned
-- (origin job × piece); a piece reported again replaces its earlier row. The invitation's return shows in
-- core.dim_invitation_current.
delete from core.fct_return
where (origin_job_id, piece_id) in (
    select (pieces.origin_job_id, staged.piece_id)
    from staging.print_return as staged
    inner join core.fct_print_piece as pieces using (job_id, piece_id)
    where staged.source_file = $file_name
);

insert into core.fct_return
with staged as (
    select * from staging.print_return where source_file = $file_name
    qualify row_number() over (partition by job_id, piece_id order by line_number desc) = 1
),

pieces as (
    select job_id, origin_job_id, piece_id, invitation_id from core.fct_print_piece
),

final as (
    select
        pieces.origin_job_id,
        staged.piece_id,
        staged.job_id,
        pieces.invitation_id,
        staged.reason,
        staged.returned_on,
        staged.source_file
    from staged
    inner join pieces using (job_id, piece_id)
)

select * from final;

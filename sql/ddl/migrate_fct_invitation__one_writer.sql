-- Migration of a warehouse made before each core table had one writer, when core.fct_invitation also held
-- what became of each letter: its print batch and piece (written by the letters stage), its return (written
-- by the returns load) and a stored status (refreshed by the waves). Run by convoc.warehouse.ensure_schema,
-- only while any of those columns is still there. The print facts move to core.fct_print_batch_letter (the
-- returns are in core.fct_return already, the status is derived by core.dim_invitation_current), then the
-- columns go. Creates no table.

-- a warehouse that predates some of the columns: add them first, so the same steps apply to every one
alter table core.fct_invitation add column if not exists print_batch varchar;
alter table core.fct_invitation add column if not exists piece_id bigint;

insert into core.fct_print_batch_letter
with printed as (
    select * from core.fct_invitation where piece_id is not null
),

final as (
    select
        printed.wave_date,
        strftime(printed.wave_date, 'J%Y%m%d') as job_id,
        printed.print_batch,
        printed.piece_id,
        printed.invitation_id
    from printed
    anti join core.fct_print_batch_letter as recorded using (invitation_id)
)

select * from final;

alter table core.fct_invitation drop column if exists status;
alter table core.fct_invitation drop column if exists print_batch;
alter table core.fct_invitation drop column if exists piece_id;
alter table core.fct_invitation drop column if exists return_reason;
alter table core.fct_invitation drop column if exists returned_on;

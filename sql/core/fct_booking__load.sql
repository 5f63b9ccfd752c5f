-- core.fct_booking from the bookings file $file_name: a booking seen again (e.g. now administered)
-- replaces its earlier row. grain: one row per booking code.
delete from core.fct_booking
where booking_code in (select booking_code from staging.booking where source_file = $file_name);

insert into core.fct_booking
with staged as (
    select * from staging.booking where source_file = $file_name
),

invitations as (
    select booking_code, invitation_id from core.fct_invitation
),

final as (
    select
        staged.booking_code,
        invitations.invitation_id,
        staged.booked_at,
        staged.centre,
        staged.slot,
        staged.administered_at,
        staged.source_file
    from staged
    inner join invitations using (booking_code)
)

select * from final;

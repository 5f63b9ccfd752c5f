-- core.dim_invitation_current: a view, written by no one (convoc.warehouse.ensure_schema creates it).
-- grain: one row per invitation of core.fct_invitation — its planned columns, and what has become of it so
-- far, derived from the facts each time it is read, so it is never stale between two runs of the waves:
-- - status: attended (a booking with a dose given or test taken: administered_at), booked (a booking, none
--   given yet), expired (no booking, and valid_until before its campaign's latest wave day in core.fct_wave:
--   statuses are as of that day, so re-running an earlier wave day leaves them unchanged), else open;
-- - print_batch, piece_id: where its letter was printed (core.fct_print_batch_letter; null until recorded);
-- - return_reason, returned_on: its letter came back (core.fct_return; null otherwise).
create or replace view core.dim_invitation_current as
with invitations as (
    select * from core.fct_invitation
),

bookings as (
    select invitation_id, max(administered_at) as administered_at
    from core.fct_booking
    group by invitation_id
),

latest_waves as (
    select campaign, max(wave_date) as as_of
    from core.fct_wave
    group by campaign
),

letters as (
    select invitation_id, print_batch, piece_id from core.fct_print_batch_letter
),

-- one return per invitation (one original piece each); should a letter come back twice, the latest report
returns as (
    select invitation_id, reason, returned_on
    from core.fct_return
    qualify row_number() over (partition by invitation_id order by returned_on desc, source_file desc) = 1
),

final as (
    select
        invitations.invitation_id,
        invitations.resident_id,
        invitations.campaign,
        invitations.dose,
        invitations.attempt,
        invitations.wave_date,
        invitations.phase,
        invitations.booking_code,
        invitations.valid_from,
        invitations.valid_until,
        invitations.centre,
        invitations.language,
        invitations.channel,
        invitations.format,
        case
            when bookings.administered_at is not null then 'attended'
            when bookings.invitation_id is not null then 'booked'
            when invitations.valid_until < latest_waves.as_of then 'expired'
            else 'open'
        end as status,
        letters.print_batch,
        letters.piece_id,
        returns.reason as return_reason,
        returns.returned_on
    from invitations
    left join bookings using (invitation_id)
    left join latest_waves using (campaign)
    left join letters using (invitation_id)
    left join returns using (invitation_id)
)

select * from final;

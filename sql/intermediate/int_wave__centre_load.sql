-- grain: one row per centre: what already weighs on its capacity on $wave_date for campaign $campaign —
-- letters still open (sent, not booked, not expired) and booked slots inside the booking window.
with earlier as (
    select * from core.fct_invitation where campaign = $campaign and wave_date < $wave_date
),

bookings as (
    select * from core.fct_booking where booked_at < $wave_date
),

open_letters as (
    select earlier.centre, count(*) as open_invitations
    from earlier
    anti join bookings using (invitation_id)
    where earlier.valid_until >= $wave_date
    group by earlier.centre
),

booked_slots as (
    select earlier.centre, count(*) as booked_in_window
    from bookings
    inner join earlier using (invitation_id)
    where cast(bookings.slot as date) >= $wave_date
      and cast(bookings.slot as date) < $wave_date + $booking_window_days
    group by earlier.centre
),

final as (
    select
        coalesce(open_letters.centre, booked_slots.centre) as centre,
        coalesce(open_invitations, 0) as open_invitations,
        coalesce(booked_in_window, 0) as booked_in_window
    from open_letters
    full outer join booked_slots using (centre)
)

select * from final

-- grain: one row per valid row of one bookings file (one booking made or updated the day before)
-- Rows quarantined by validation (including unknown codes) are left out.
with source as (
    select * from raw.bookings where _file = $file_name
),

rejected as (
    select distinct line_number from quarantine.bookings_rejects where source_file = $file_name
),

final as (
    select
        cast($snapshot_date as date) as snapshot_date,
        _file as source_file,
        _line as line_number,
        booking_code,
        strptime(booked_at, '%Y-%m-%d %H:%M') as booked_at,
        centre,
        strptime(slot, '%Y-%m-%d %H:%M') as slot,
        strptime(administered_at, '%Y-%m-%d %H:%M') as administered_at
    from source
    where _line not in (select line_number from rejected)
)

select * from final

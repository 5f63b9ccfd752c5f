-- grain: one row per row of a bookings file (its valid raw rows, given as the table `_raw_rows`) whose
-- code no invitation carries: mistyped in the booking system, or forged. They are quarantined.
with source as (
    select * from _raw_rows
),

invitations as (
    select booking_code from core.fct_invitation
),

final as (
    select
        cast($snapshot_date as date) as snapshot_date,
        source._file as source_file,
        source._line as line_number,
        'booking_code' as column_name,
        'unknown_code' as rule,
        source.booking_code as value
    from source
    anti join invitations using (booking_code)
)

select * from final

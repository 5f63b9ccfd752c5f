-- grain: one row per valid row of one contact_preferences file (one declaration by a resident)
-- Rows quarantined by validation (including unknown residents) are left out; no format given is standard.
with source as (
    select * from raw.contact_preferences where _file = $file_name
),

rejected as (
    select distinct line_number from quarantine.contact_preferences_rejects where source_file = $file_name
),

final as (
    select
        cast($snapshot_date as date) as snapshot_date,
        _file as source_file,
        _line as line_number,
        matricule,
        email,
        channel,
        coalesce(format, 'standard') as format,
        cast(consented_on as date) as consented_on,
        cast(withdrawn_on as date) as withdrawn_on
    from source
    where _line not in (select line_number from rejected)
)

select * from final

-- grain: one row per valid row of one register file (snapshot day × matricule)
-- Rows quarantined by validation are left out; values are cast, nothing else.
with source as (
    select * from raw.register where _file = $file_name
),

rejected as (
    select distinct line_number from quarantine.register_rejects where source_file = $file_name
),

final as (
    select
        cast($snapshot_date as date) as snapshot_date,
        _file as source_file,
        _line as line_number,
        matricule,
        family_name,
        given_name,
        cast(birth_date as date) as birth_date,
        sex,
        street,
        house_number,
        postcode,
        locality,
        commune,
        nationality,
        language,
        status
    from source
    where _line not in (select line_number from rejected)
)

select * from final

-- staging.register, a view: one row per valid row of the register file of each snapshot day (snapshot day ×
-- matricule), typed. raw.register holds only the rows no check refused, so nothing is filtered out here; a day
-- whose register was delivered again under another name (case) is the file loaded last. Values are cast,
-- nothing else. Made by convoc.sources.tables (with the raw tables it reads); no writer of its own.
with files as (
    select snapshot_date, file_name
    from raw.load_log
    where source = 'register'
    qualify row_number() over (partition by snapshot_date order by loaded_at desc, file_name desc) = 1
),

source as (
    select * from raw.register
),

final as (
    select
        files.snapshot_date,
        source._file as source_file,
        source._line as line_number,
        source.matricule,
        source.family_name,
        source.given_name,
        cast(source.birth_date as date) as birth_date,
        source.sex,
        source.street,
        source.house_number,
        source.postcode,
        source.locality,
        source.commune,
        source.nationality,
        source.language,
        source.status
    from source
    inner join files on files.file_name = source._file
)

select * from final

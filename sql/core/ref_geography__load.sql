-- core.ref_commune and core.ref_postcode: the reference files shipped with the package (convoc.reference),
-- read from their paths (parameters communes_csv, postcodes_csv) as convoc.reference reads them (every field text, an
-- empty one null; the population a number). convoc.warehouse.ensure_schema replaces both whenever it runs
-- (every stage that writes the warehouse), so they always match the installed package.

-- grain: one row per commune (the 2021 map): commune, canton, population, postcode range, main locality.
-- Writer: reference data (convoc.warehouse.ensure_schema, sql/core/ref_geography__load.sql).
create or replace table core.ref_commune as
with communes as (
    select * replace (cast(population_2021 as bigint) as population_2021)
    from read_csv($communes_csv, header = true, delim = ',', quote = '"', all_varchar = true)
),

final as (
    select * from communes
)

select * from final;

-- grain: one row per postcode: postcode (L-NNNN), postal locality, commune and canton.
-- Writer: reference data (convoc.warehouse.ensure_schema, sql/core/ref_geography__load.sql).
create or replace table core.ref_postcode as
with postcodes as (
    select * from read_csv($postcodes_csv, header = true, delim = ',', quote = '"', all_varchar = true)
),

final as (
    select
        'L-' || postcode as postcode,
        postal_locality,
        commune_2021 as commune,
        canton
    from postcodes
)

select * from final;

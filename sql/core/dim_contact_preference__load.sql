-- core.fct_contact_preference from the contact_preferences file $file_name (its rows replaced: a re-delivered
-- file changes nothing twice), then core.dim_contact_preference rebuilt from every declaration so far.
-- grain of the dimension: one row per resident × version (valid_from ≤ day < valid_to).
--
-- As of a day, a resident's preference is their latest declaration in a file of that day or before (by file
-- day, then file and line); a declaration whose consent is withdrawn puts the resident back on paper, standard.
-- Both dates are on or before the file's day (validation), so each version starts on the day of the file that
-- declared it: letters already sent are never re-decided. Rebuilt from the facts: an out-of-order backfill
-- gives the same dimension.
delete from core.fct_contact_preference where source_file = $file_name;

insert into core.fct_contact_preference
select
    snapshot_date, source_file, line_number, matricule, email, channel, format, consented_on, withdrawn_on
from staging.contact_preference
where source_file = $file_name;

delete from core.dim_contact_preference;

insert into core.dim_contact_preference
with declarations as (
    select
        *,
        row_number() over (
            partition by matricule, snapshot_date order by source_file desc, line_number desc
        ) as latest_of_day
    from core.fct_contact_preference
),

final as (
    select
        matricule,
        withdrawn_on is not null as withdrawn,
        case when withdrawn_on is not null then null else email end as email,
        case when withdrawn_on is not null then 'paper' else channel end as channel,
        case when withdrawn_on is not null then 'standard' else format end as format,
        snapshot_date as valid_from,
        lead(snapshot_date) over (partition by matricule order by snapshot_date) as valid_to,
        source_file,
        line_number
    from declarations
    where latest_of_day = 1
)

select
    matricule, email, channel, format, withdrawn, valid_from, valid_to, valid_to is null as is_current,
    source_file, line_number
from final

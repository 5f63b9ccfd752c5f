-- grain: one row per snapshot day × measure × detail, for days up to $day: what the ingest made of each day's
-- landing files — rows, loaded and quarantined per source (the latest content of each file), and register
-- rows quarantined per rule (a row failing two rules counts under each). The ingest's own bookkeeping (raw
-- load log, quarantine), read here so that the marts read core alone: convoc.stats.marts builds this into the
-- temp table _load_counts, an input of marts.fct_operations_daily.
with loads as (
    select snapshot_date, source, rows, rejected_rows
    from raw.load_log
    where snapshot_date <= $day
    qualify row_number() over (partition by file_name order by loaded_at desc) = 1
),

register_rules as (
    select snapshot_date, rule, count(distinct line_number) as value
    from quarantine.register_rejects
    where snapshot_date <= $day
    group by snapshot_date, rule
),

final as (
    select snapshot_date as day, 'rows' as measure, source as detail, sum(rows) as value
    from loads group by snapshot_date, source
    union all
    select snapshot_date, 'loaded', source, sum(rows - rejected_rows) from loads group by snapshot_date, source
    union all
    select snapshot_date, 'quarantined', source, sum(rejected_rows) from loads group by snapshot_date, source
    union all
    select snapshot_date, 'rule', rule, value from register_rules
)

select day, measure, detail, cast(value as bigint) as value from final

-- grain: one row per landing source loaded before $day: the file last loaded for its latest snapshot day
-- before $day and its row count — what the day's row counts are compared to.
with loads as (
    select * from raw.load_log where snapshot_date < $day
),

final as (
    select
        source,
        arg_max(file_name, (snapshot_date, loaded_at)) as file_name,
        arg_max(rows, (snapshot_date, loaded_at)) as rows
    from loads
    group by source
)

select * from final

-- The control room (convoc.control_room.figures): the operations counts of the days first..last, from the
-- published copy. grain: one row per day × area × measure × detail (marts.fct_operations_daily).
select day, area, measure, detail, value
from marts.fct_operations_daily
where day between $first and $last

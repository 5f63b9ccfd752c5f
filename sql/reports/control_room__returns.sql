-- The control room: letters returned per return day × reason (all campaigns), days first..last.
select day, reason, sum(returned) as returned
from marts.fct_returns_by_reason
where day between $first and $last
group by day, reason

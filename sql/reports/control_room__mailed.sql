-- The control room: letters the print shop mailed per mailing day (all campaigns), days first..last.
select day, sum(letters_mailed) as mailed
from marts.fct_postage_daily
where day between $first and $last
group by day

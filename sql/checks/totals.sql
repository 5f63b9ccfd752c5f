-- Not a rule: the totals the rules above covered up to $day, for the run's log. grain: one row.
with invitations as (
    select count(*) as invitations from core.fct_invitation where wave_date <= $day
),

mailed as (
    select count(*) as mailed from core.fct_print_event where status = 'mailed' and event_date <= $day
),

final as (
    select invitations.invitations, mailed.mailed
    from invitations
    cross join mailed
)

select * from final

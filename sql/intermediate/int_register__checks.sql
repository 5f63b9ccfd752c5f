-- grain: one row per rejected line × rule of one register file ($file_name): the register team's list of
-- rows to correct at the source, like the address checks of returned mail. The matricule is given where the
-- row's own is valid (to find the person); values stay masked; `detail` names the characters refused (code
-- points) or the length. $extract is the day's normalised extract (Parquet), for the matricules.
with rejects as (
    select * from quarantine.register_rejects where source_file = $file_name
),

extracted as (
    select _line as line_number, matricule from read_parquet($extract)
),

unusable_matricules as (
    select distinct line_number from rejects where rule in ('matricule_check_digit', 'missing_required')
        and column_name = 'matricule'
),

final as (
    select
        rejects.line_number as line,
        case when unusable_matricules.line_number is null then extracted.matricule end as matricule,
        rejects.column_name as column_name,
        rejects.rule,
        rejects.value_masked,
        rejects.detail
    from rejects
    left join extracted using (line_number)
    left join unusable_matricules using (line_number)
)

select * from final order by line, rule, column_name

-- grain: one row per invitation of campaign $campaign's wave of $wave_date, as core.fct_invitation holds it.
-- Input besides the parameters: temp view _wave_kept, the selection's rows the print shop takes
-- (convoc.waves.plan.write_wave). The invitation id is campaign:dose:resident:attempt; its booking code is made
-- here (sql/macros/booking_code.sql) from HMAC's padded keys $inner_pad and $outer_pad (the signing key itself
-- never enters SQL) and the campaign's $suffix (null for none).
with kept as (
    select
        *,
        $campaign || ':' || dose || ':' || resident_id || ':' || attempt as invitation_id
    from _wave_kept
),

coded as (
    select *, booking_code_bits(invitation_id, $inner_pad, $outer_pad) as code_bits
    from kept
),

final as (
    select
        invitation_id,
        resident_id,
        $campaign as campaign,
        dose,
        attempt,
        $wave_date as wave_date,
        phase,
        booking_code(code_bits, $suffix) as booking_code,
        $valid_from as valid_from,
        $valid_until as valid_until,
        centre,
        language,
        channel,
        format
    from coded
)

select * from final

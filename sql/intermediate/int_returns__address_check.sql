-- grain: one row per letter returned as undeliverable, reported in the returned-mail files loaded on
-- $snapshot_date: what the register team must check — the person, the address the letter was sent to
-- (the register's version on the wave day) and what the post office said.
with returns as (
    select r.*
    from core.fct_return as r
    inner join raw.load_log as l on l.file_name = r.source_file
    where l.snapshot_date = $snapshot_date
),

invitations as (
    select invitation_id, resident_id, wave_date, campaign from core.fct_invitation
),

residents as (
    select * from core.dim_resident
),

final as (
    select
        residents.matricule,
        residents.family_name,
        residents.given_name,
        residents.street,
        residents.house_number,
        residents.postcode,
        residents.locality,
        residents.commune,
        returns.reason,
        returns.returned_on,
        invitations.campaign,
        invitations.wave_date,
        returns.origin_job_id as job_id,
        returns.piece_id
    from returns
    inner join invitations using (invitation_id)
    inner join residents
        on residents.resident_id = invitations.resident_id
        and residents.valid_from <= invitations.wave_date
        and (residents.valid_to is null or residents.valid_to > invitations.wave_date)
)

select * from final order by postcode, street, house_number, matricule

"""Reconciliation of the marts with the warehouse, up to a day. Read-only; any violation fails the run.

Rules (each checked per wave day up to the day, or per mailed piece):

- ``invited = sum of dispatch rows``: invitations in ``core.fct_invitation`` = ``sum(invited)`` of
  ``marts.fct_dispatch_daily``;
- ``mailed <= printed``: mailed confirmations ≤ pieces printed (original and reprint jobs), and in the mart
  invitations mailed ≤ invitations printed;
- ``printed <= invited + reprints``: pieces in original jobs ≤ invitations (one piece each), so pieces in all
  jobs ≤ invitations + reprinted pieces;
- ``booked <= invited``: invitations booked ≤ invitations, and no booking without an invitation;
- ``mailed piece = one invitation``: every piece confirmed mailed is a piece of its job carrying exactly one
  invitation, the one the confirmation names, which exists; and no piece is mailed twice (first print and
  reprint).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from convoc.errors import ConvocError

if TYPE_CHECKING:
    import duckdb

SHOWN = 5  # violating days or pieces listed per rule

_PER_WAVE_DAY = """
with core_invited as (
    select wave_date as day, count(*) as invited
    from core.fct_invitation where wave_date <= $day group by wave_date
),
pieces as (
    select invitation.wave_date as day,
           count(*) filter (where not piece.reprint) as original_pieces,
           count(*) filter (where piece.reprint) as reprint_pieces
    from core.fct_print_piece as piece
    inner join core.fct_invitation as invitation using (invitation_id)
    where invitation.wave_date <= $day
    group by invitation.wave_date
),
mailed as (
    select invitation.wave_date as day, count(*) as mailed_pieces
    from core.fct_print_event as event
    inner join core.fct_invitation as invitation using (invitation_id)
    where event.status = 'mailed' and invitation.wave_date <= $day
    group by invitation.wave_date
),
booked as (
    select invitation.wave_date as day, count(distinct booking.invitation_id) as booked_invitations
    from core.fct_booking as booking
    inner join core.fct_invitation as invitation using (invitation_id)
    where invitation.wave_date <= $day
    group by invitation.wave_date
),
mart as (
    select day, sum(invited) as invited, sum(printed) as printed, sum(mailed) as mailed, sum(booked) as booked
    from marts.fct_dispatch_daily where day <= $day group by day
)
select
    coalesce(core_invited.day, mart.day) as day,
    coalesce(core_invited.invited, 0) as core_invited,
    coalesce(mart.invited, 0) as mart_invited,
    coalesce(mart.printed, 0) as mart_printed,
    coalesce(mart.mailed, 0) as mart_mailed,
    coalesce(mart.booked, 0) as mart_booked,
    coalesce(pieces.original_pieces, 0) as original_pieces,
    coalesce(pieces.reprint_pieces, 0) as reprint_pieces,
    coalesce(mailed.mailed_pieces, 0) as mailed_pieces,
    coalesce(booked.booked_invitations, 0) as booked_invitations
from core_invited
full outer join mart using (day)
left join pieces on pieces.day = coalesce(core_invited.day, mart.day)
left join mailed on mailed.day = coalesce(core_invited.day, mart.day)
left join booked on booked.day = coalesce(core_invited.day, mart.day)
order by day
"""

_ORPHAN_BOOKINGS = """
select count(*) from core.fct_booking as booking
where cast(booking.booked_at as date) <= $day
  and not exists (select 1 from core.fct_invitation as i where i.invitation_id = booking.invitation_id)
"""

# Mailed confirmations up to $day whose piece does not carry exactly the one invitation they name.
_MAILED_PIECES = """
with events as (
    select job_id, piece_id, invitation_id
    from core.fct_print_event where status = 'mailed' and event_date <= $day
),
matched as (
    select
        events.job_id,
        events.piece_id,
        events.invitation_id,
        count(piece.invitation_id) as pieces,
        count(distinct piece.invitation_id) as invitations,
        bool_and(piece.invitation_id = events.invitation_id) as same_invitation,
        bool_or(exists (select 1 from core.fct_invitation as i where i.invitation_id = events.invitation_id))
            as known_invitation
    from events
    left join core.fct_print_piece as piece on piece.job_id = events.job_id and piece.piece_id = events.piece_id
    group by events.job_id, events.piece_id, events.invitation_id
)
select job_id, piece_id, pieces, invitations
from matched
where pieces <> 1 or invitations <> 1 or not coalesce(same_invitation, false) or not coalesce(known_invitation, false)
order by job_id, piece_id
"""

_MAILED_TWICE = """
select origin_job_id, piece_id, count(*) as mailings
from core.fct_print_event
where status = 'mailed' and event_date <= $day
group by origin_job_id, piece_id
having count(*) > 1
order by origin_job_id, piece_id
"""


@dataclass(frozen=True)
class Violation:
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.detail}"


class ReconciliationFailed(ConvocError):
    """The marts and the warehouse disagree, or the print loop lost or doubled a letter."""

    def __init__(self, day: date, violations: list[Violation]) -> None:
        self.day = day
        self.violations = violations
        super().__init__(
            f"reconciliation up to {day} failed ({len(violations)} rule(s) violated):\n"
            + "\n".join(f"  - {v}" for v in violations)
        )


def _listed(items: list[str]) -> str:
    more = f" (+{len(items) - SHOWN} more)" if len(items) > SHOWN else ""
    return "; ".join(items[:SHOWN]) + more


def check(con: duckdb.DuckDBPyConnection, day: date) -> list[Violation]:
    """Every violated rule up to ``day``, with the numbers (empty when all hold)."""
    params: dict[str, Any] = {"day": day}
    rows = con.execute(_PER_WAVE_DAY, params).fetchall()
    invited, mailed, printed, booked = [], [], [], []
    for row in rows:
        d, core_inv, mart_inv, mart_printed, mart_mailed, mart_booked, orig, reprints, mailed_pieces, booked_inv = row
        if core_inv != mart_inv:
            invited.append(f"wave {d}: core.fct_invitation {core_inv}, marts.fct_dispatch_daily {mart_inv}")
        if mailed_pieces > orig + reprints or mart_mailed > mart_printed:
            mailed.append(
                f"wave {d}: {mailed_pieces} pieces mailed of {orig + reprints} printed "
                f"(mart: {mart_mailed} invitations mailed, {mart_printed} printed)"
            )
        if orig > core_inv or mart_printed > mart_inv:
            printed.append(
                f"wave {d}: {orig + reprints} pieces printed > {core_inv} invited + {reprints} reprints "
                f"(mart: {mart_printed} printed of {mart_inv} invited)"
            )
        if booked_inv > core_inv or mart_booked > mart_inv:
            booked.append(f"wave {d}: {max(booked_inv, mart_booked)} invitations booked of {core_inv} invited")
    orphan = con.execute(_ORPHAN_BOOKINGS, params).fetchone()
    if orphan and orphan[0]:
        booked.append(f"{orphan[0]} booking(s) of no invitation")
    bad_pieces = [
        f"{job} piece {piece}: {n_pieces} piece record(s), {n_inv} invitation(s)"
        for job, piece, n_pieces, n_inv in con.execute(_MAILED_PIECES, params).fetchall()
    ]
    bad_pieces += [
        f"{origin} piece {piece} mailed {n} times" for origin, piece, n in con.execute(_MAILED_TWICE, params).fetchall()
    ]
    found = [
        ("invited = sum of dispatch rows", invited),
        ("mailed <= printed", mailed),
        ("printed <= invited + reprints", printed),
        ("booked <= invited", booked),
        ("mailed piece = one invitation", bad_pieces),
    ]
    return [Violation(rule, _listed(items)) for rule, items in found if items]


def reconcile(con: duckdb.DuckDBPyConnection, day: date) -> dict[str, int]:
    """Check every rule up to ``day``; raise ``ReconciliationFailed`` naming each violated rule.

    Returns the totals checked (invitations, pieces mailed) for the log."""
    violations = check(con, day)
    if violations:
        raise ReconciliationFailed(day, violations)
    row = con.execute(
        "select (select count(*) from core.fct_invitation where wave_date <= $day), "
        "(select count(*) from core.fct_print_event where status = 'mailed' and event_date <= $day)",
        {"day": day},
    ).fetchone()
    invitations, mailed = row if row else (0, 0)
    return {"invitations": int(invitations), "mailed": int(mailed)}

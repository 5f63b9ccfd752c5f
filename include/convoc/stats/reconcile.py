"""Reconciliation of the marts with the warehouse, up to a day. Read-only; any violation fails the run.

Each rule is one SQL file under ``sql/checks/`` returning one row per violation, its numbers in ``detail``
(``RULES`` maps the rule's name to its file). Rules (each checked per wave day up to the day, or per
mailed piece):

- ``invited = sum of dispatch rows``: invitations in ``core.fct_invitation`` = ``sum(invited)`` of
  ``marts.fct_dispatch_daily``;
- ``mailed <= printed``: mailed confirmations ≤ pieces printed (original and reprint jobs), and in the mart
  invitations mailed ≤ invitations printed;
- ``printed <= invited + reprints``: pieces in original jobs ≤ invitations (one piece each), so pieces in all
  jobs ≤ invitations + reprinted pieces;
- ``booked <= invited``: invitations booked ≤ invitations, and no booking without an invitation;
- ``mailed piece = one invitation``: every piece confirmed mailed is a piece of its job carrying exactly one
  invitation, the one the confirmation names, which exists; and no piece is mailed twice (first print and
  reprint);
- ``every e-mail invitation sent or explained``: on each wave day whose e-mails went out, every invitation by e-mail
  (channels email and both) has an attempt in ``core.fct_email_attempt`` — accepted, or deferred or failed, which
  explains it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from convoc import warehouse
from convoc.errors import ConvocError

if TYPE_CHECKING:
    import duckdb

SHOWN = 5  # violating days or pieces listed per rule

RULES: tuple[tuple[str, str], ...] = (
    ("invited = sum of dispatch rows", "checks/invited_equals_dispatch.sql"),
    ("mailed <= printed", "checks/mailed_within_printed.sql"),
    ("printed <= invited + reprints", "checks/printed_within_invited.sql"),
    ("booked <= invited", "checks/booked_within_invited.sql"),
    ("mailed piece = one invitation", "checks/mailed_piece_one_invitation.sql"),
    ("every e-mail invitation sent or explained", "checks/every_email_attempted.sql"),
)
"""Each rule's name (as the failure names it) and its file under ``sql/``, in the order they are reported."""


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
    violations = []
    for rule, path in RULES:
        details = warehouse.query(con, warehouse.select(path), params).get_column("detail").to_list()
        if details:
            violations.append(Violation(rule, _listed([str(d) for d in details])))
    return violations


def reconcile(con: duckdb.DuckDBPyConnection, day: date) -> dict[str, int]:
    """Check every rule up to ``day``; raise ``ReconciliationFailed`` naming each violated rule.

    Returns the totals checked (invitations, pieces mailed) for the log."""
    violations = check(con, day)
    if violations:
        raise ReconciliationFailed(day, violations)
    [(invitations, mailed)] = warehouse.execute(con, warehouse.select("checks/totals.sql"), {"day": day}).fetchall()
    return {"invitations": int(invitations), "mailed": int(mailed)}

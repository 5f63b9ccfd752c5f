"""The print shop's cut-off: the day's print job must be ``READY`` by a time of day (``CONVOC_PRINT_CUTOFF``,
default 14:00, in ``CONVOC_PRINT_CUTOFF_TZ``, default Europe/Luxembourg — the print shop's clock, summer time
included).

``job_status`` reads what is on disk: the job's delivery receipt (written the moment the print shop has the job,
``convoc.handoff.daily.write_receipt``) makes it ``ready``; a day whose letters were cut into no batch at all
(``letters_render`` ran and the waves sent nothing) owes no job (``no_letters``), nor does a day without any
landing file (``no_input``: the chain skips such a day by design — no register extract on a Sunday);
anything else is ``pending``.
``check`` is what the ``print_deadline`` DAG's sensor asks every few minutes: done, not yet, or — at the
cut-off with the job still pending — ``DeadlineMissed``, which alerts once.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from convoc.errors import ConvocError
from convoc.handoff.daily import RECEIPTS
from convoc.letters.batches import day_dir, job_id

Status = Literal["ready", "no_letters", "no_input", "pending"]


class DeadlineMissed(ConvocError):
    """The day's print job was not READY at the print shop's cut-off."""


def cutoff(day: date, at: time, zone: str) -> datetime:
    """The cut-off of ``day``: ``at`` on that day in ``zone`` (an aware datetime)."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(zone))


def job_status(print_root: Path, landing: Path, day: date) -> Status:
    """Whether ``day``'s print job is at the print shop (``ready``), is owed none (``no_letters``,
    ``no_input``), or not yet."""
    if (print_root / RECEIPTS / f"{job_id(day)}.json").is_file():
        return "ready"
    batches = day_dir(print_root, day) / "batches"
    if batches.is_dir() and not any(batches.glob("*.parquet")):
        return "no_letters"
    if not any(landing.glob(f"*_{day:%Y%m%d}.csv")):
        return "no_input"
    return "pending"


def check(print_root: Path, landing: Path, day: date, at: time, zone: str, now: datetime) -> bool:
    """True when nothing is left to wait for (the job is READY, or the day owes none); False while the job is
    pending before the cut-off; ``DeadlineMissed`` once the cut-off has passed with the job pending."""
    status = job_status(print_root, landing, day)
    if status != "pending":
        return True
    deadline = cutoff(day, at, zone)
    if now >= deadline:
        raise DeadlineMissed(
            f"deadline missed: print job {job_id(day)} is not READY at the print shop's cut-off "
            f"{deadline:%Y-%m-%d %H:%M} {zone}; the print shop cannot print it today. Check the day's "
            "register_ingest, invitation_waves, letters_render and print_handoff runs"
        )
    return False

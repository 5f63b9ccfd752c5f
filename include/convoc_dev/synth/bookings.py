"""Simulated booking system: which invitations are booked when, and which doses are given.

Stateless and deterministic: every draw for an invitation comes from a hash of (seed, invitation id), so
the bookings of a day do not depend on which days were simulated before. The events of day D are
delivered the next morning as ``bookings_<D+1>.csv`` (the landing format of ``convoc.sources.specs``).
"""

from __future__ import annotations

import hashlib
import math
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from convoc.sources.specs import BOOKINGS

if TYPE_CHECKING:
    import duckdb

_FORMAT = "%Y-%m-%d %H:%M"


def _uniform(seed: int, invitation_id: str, what: str) -> float:
    digest = hashlib.blake2b(f"{seed}:{invitation_id}:{what}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def simulate_day(
    con: duckdb.DuckDBPyConnection,
    day: date,
    *,
    seed: int = 42,
    uptake: float = 0.8,
    mean_delay_days: float = 3.0,
    show_rate: float = 0.95,
    booking_window_days: int = 14,
) -> pl.DataFrame:
    """The booking rows of ``day``: bookings made that day, and bookings whose dose was given that day.

    An invitation is booked with probability ``uptake``, an exponential delay (mean ``mean_delay_days``)
    after its letter becomes valid, if that is still within its validity; the slot is 1 to
    ``booking_window_days`` days later (early slots likelier), 08:00–19:30; the person turns up with
    probability ``show_rate``.
    """
    invitations = con.execute(
        "select invitation_id, booking_code, centre, valid_from, valid_until from core.fct_invitation "
        "where valid_from <= $d and valid_until + $w >= $d order by invitation_id",
        {"d": day, "w": booking_window_days + 1},
    ).fetchall()
    rows = []
    for invitation_id, code, centre, valid_from, valid_until in invitations:
        if _uniform(seed, invitation_id, "book") >= uptake:
            continue
        delay = math.floor(-math.log(1 - _uniform(seed, invitation_id, "delay")) * mean_delay_days)
        booked_on = valid_from + timedelta(days=delay)
        if booked_on > valid_until:
            continue
        booked_at = datetime.combine(booked_on, time(8)) + timedelta(
            minutes=int(_uniform(seed, invitation_id, "hour") * 14 * 60)
        )
        # Most people take one of the first free slots.
        slot_delay = 1 + int(_uniform(seed, invitation_id, "slot") ** 2 * booking_window_days)
        slot_day = booked_on + timedelta(days=slot_delay)
        slot = datetime.combine(slot_day, time(8)) + timedelta(
            minutes=30 * int(_uniform(seed, invitation_id, "time") * 24)
        )
        administered = None
        if slot_day == day and _uniform(seed, invitation_id, "show") < show_rate:
            administered = slot + timedelta(minutes=5 + int(_uniform(seed, invitation_id, "wait") * 40))
        elif booked_on != day:
            continue
        rows.append(
            (code, booked_at.strftime(_FORMAT), centre, slot.strftime(_FORMAT),
             administered.strftime(_FORMAT) if administered else None)
        )  # fmt: skip
    return pl.DataFrame(rows, schema=dict.fromkeys(BOOKINGS.columns, pl.String), orient="row")


def write_day(con: duckdb.DuckDBPyConnection, day: date, landing: Path, **options: float | int) -> Path:
    """Simulate ``day`` and deliver it as the next day's bookings file; returns its path."""
    frame = simulate_day(con, day, **options)  # type: ignore[arg-type]
    landing.mkdir(parents=True, exist_ok=True)
    path = landing / BOOKINGS.file_name(day + timedelta(days=1))
    frame.write_csv(path, line_terminator="\n", null_value="")
    return path

"""Damaged register rows, each breaking exactly one validation rule, and the truth file naming them.

A register file of ``rows`` rows gets ``round(rate × rows)`` damaged rows (at least one per class once the
file has 100 rows), spread evenly over the eight classes in ``RULES``. Each row is damaged in one column
only; a duplicate pair counts as two rows, and both are in the truth. Rows the caller marks ineligible
(priority-list members) are never damaged, so the lists always name clean register rows.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from convoc import reference
from convoc.sources.specs import REGISTER
from convoc.synth import pools
from convoc.synth.population import BoolArray, IntArray

if TYPE_CHECKING:
    from numpy.random import Generator

RULES = (
    "matricule_check_digit",
    "duplicate_matricule",
    "birth_date_unparseable",
    "birth_date_future",
    "unknown_postcode",
    "unknown_commune",
    "missing_required",
    "control_character",
)
# A missing matricule is not a defect class of its own (its row could not be traced back).
REQUIRED = tuple(c for c in REGISTER.required if c != "matricule")
# C0 controls and DEL, without tab, line breaks and NUL, and without \x0b \x0c \x1c–\x1e, which
# Python's str.splitlines() takes for line breaks (a reader using it would miscount the lines).
CONTROL_CHARACTERS = tuple(chr(c) for c in (*range(0x01, 0x09), *range(0x0E, 0x1C), 0x1F, 0x7F))
TRUTH_SCHEMA = {"file": pl.String, "line": pl.Int64, "column": pl.String, "rule": pl.String}
FUTURE_DAYS = 3000


def allocate(rows: int, rate: float, eligible: int) -> dict[str, int]:
    """Damaged rows per rule: evenly split, a duplicate pair being two rows of its class."""
    total = round(rate * rows) if rate > 0 else 0
    if rate > 0 and rows >= 100:
        total = max(total, len(RULES) + 1)
    total = min(total, eligible)
    pairs = max(1, round(total / (2 * len(RULES)))) if total > len(RULES) else 0
    others = [r for r in RULES if r != "duplicate_matricule"]
    rest = total - 2 * pairs
    counts = {rule: rest // len(others) + (1 if k < rest % len(others) else 0) for k, rule in enumerate(others)}
    counts["duplicate_matricule"] = 2 * pairs
    return {rule: counts[rule] for rule in RULES}


@cache
def _unknown_postcodes() -> tuple[str, ...]:
    known = reference.postcode_set()
    return tuple(code for code in (f"L-{i:04d}" for i in range(1000, 10000)) if code not in known)


@cache
def _unknown_communes() -> tuple[str, ...]:
    known = reference.commune_set()
    return tuple(name for name in pools.UNKNOWN_COMMUNES if name not in known)


def _pick(rng: Generator, values: tuple[str, ...], n: int) -> pl.Series:
    return pl.Series(values, dtype=pl.String).gather(rng.integers(0, len(values), n))


def _broken_check_digits(rng: Generator, matricules: pl.Series) -> pl.Series:
    """Each matricule with its Luhn (12th) or Verhoeff (13th) digit replaced by another digit."""
    from stdnum import luhn, verhoeff

    n = len(matricules)
    position = 11 + rng.integers(0, 2, n)
    frame = pl.DataFrame({"m": matricules, "pos": position, "shift": rng.integers(1, 10, n)})
    damaged = frame.select(
        pl.col("m").str.slice(0, pl.col("pos"))
        + ((pl.col("m").str.slice(pl.col("pos"), 1).cast(pl.Int64) + pl.col("shift")) % 10).cast(pl.String)
        + pl.col("m").str.slice(pl.col("pos") + 1)
    ).to_series()
    for m in damaged.to_list():
        if luhn.is_valid(m[:12]) and verhoeff.is_valid(m[:11] + m[12]):
            raise AssertionError(f"damaged matricule {m} is still valid")
    return damaged


def _unparseable(rng: Generator, dates: pl.Series) -> pl.Series:
    """Dates no YYYY-MM-DD reader accepts: month 13+, day 30/31 of February, other layouts, 'n/a'."""
    frame = pl.DataFrame({"d": dates, "kind": rng.integers(0, 5, len(dates)), "k": rng.integers(0, 7, len(dates))})
    year, month, day = pl.col("d").str.slice(0, 4), pl.col("d").str.slice(5, 2), pl.col("d").str.slice(8, 2)
    return frame.select(
        pl.when(pl.col("kind") == 0)
        .then(year + "-" + (13 + pl.col("k")).cast(pl.String) + "-" + day)
        .when(pl.col("kind") == 1)
        .then(day + "/" + month + "/" + year)
        .when(pl.col("kind") == 2)
        .then(year + month + day)
        .when(pl.col("kind") == 3)
        .then(year + "-02-" + (30 + pl.col("k") % 2).cast(pl.String))
        .otherwise(pl.lit("n/a"))
    ).to_series()


def _future(rng: Generator, n: int, day: date) -> pl.Series:
    later = np.datetime64(day, "D") + rng.integers(1, FUTURE_DAYS + 1, n).astype("timedelta64[D]")
    return pl.Series(later).cast(pl.Date).dt.strftime("%Y-%m-%d")


def _with_control_character(rng: Generator, names: pl.Series) -> pl.Series:
    """Each name with one control character inserted after its first letter or later (never at an end)."""
    n = len(names)
    frame = pl.DataFrame({"s": names, "u": rng.random(n), "c": _pick(rng, CONTROL_CHARACTERS, n)})
    position = (1 + pl.col("u") * (pl.col("s").str.len_chars() - 1)).floor().cast(pl.Int64)
    return frame.select(pl.col("s").str.slice(0, position) + pl.col("c") + pl.col("s").str.slice(position)).to_series()


def damage(
    rng: Generator, register: pl.DataFrame, eligible: BoolArray, rate: float, day: date, file_name: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The register (text columns, in file order) with damaged rows, and the truth rows naming them.

    Truth: file, line (physical line: header 1, first row 2), column, rule — sorted by line.
    """
    candidates = np.flatnonzero(eligible)
    counts = allocate(register.height, rate, len(candidates))
    chosen = rng.permutation(candidates)[: sum(counts.values())]
    start = np.cumsum([0, *counts.values()])
    rows = {rule: chosen[start[k] : start[k + 1]] for k, rule in enumerate(RULES)}
    changes: list[tuple[str, IntArray, pl.Series | None]] = []
    truth: list[tuple[IntArray, pl.Series, str]] = []

    def note(rule: str, at: IntArray, column: str | pl.Series) -> None:
        columns = column if isinstance(column, pl.Series) else pl.Series([column] * len(at), dtype=pl.String)
        truth.append((at, columns, rule))

    at = rows["matricule_check_digit"]
    changes.append(("matricule", at, _broken_check_digits(rng, register["matricule"].gather(at))))
    note("matricule_check_digit", at, "matricule")

    at = rows["duplicate_matricule"]
    source, target = at[0::2], at[1::2]
    changes.append(("matricule", target, register["matricule"].gather(source)))
    note("duplicate_matricule", at, "matricule")

    at = rows["birth_date_unparseable"]
    changes.append(("birth_date", at, _unparseable(rng, register["birth_date"].gather(at))))
    note("birth_date_unparseable", at, "birth_date")

    at = rows["birth_date_future"]
    changes.append(("birth_date", at, _future(rng, len(at), day)))
    note("birth_date_future", at, "birth_date")

    at = rows["unknown_postcode"]
    changes.append(("postcode", at, _pick(rng, _unknown_postcodes(), len(at))))
    note("unknown_postcode", at, "postcode")

    at = rows["unknown_commune"]
    changes.append(("commune", at, _pick(rng, _unknown_communes(), len(at))))
    note("unknown_commune", at, "commune")

    at = rows["missing_required"]
    emptied = rng.integers(0, len(REQUIRED), len(at))
    for k, column in enumerate(REQUIRED):
        changes.append((column, at[emptied == k], None))
    note("missing_required", at, pl.Series(REQUIRED, dtype=pl.String).gather(emptied))

    at = rows["control_character"]
    in_family = rng.random(len(at)) < 0.5
    for column, where in (("family_name", in_family), ("given_name", ~in_family)):
        changes.append((column, at[where], _with_control_character(rng, register[column].gather(at[where]))))
    note("control_character", at, pl.Series(np.where(in_family, "family_name", "given_name"), dtype=pl.String))

    columns = {c: register[c].clone() for c in register.columns}
    for column, at, values in changes:
        if len(at):
            columns[column].scatter(at, values)
    damaged = pl.DataFrame(list(columns.values()))
    truth_frame = pl.concat(
        [
            pl.DataFrame(
                {
                    "file": pl.Series([file_name] * len(at), dtype=pl.String),
                    "line": pl.Series(at + 2, dtype=pl.Int64),
                    "column": column,
                    "rule": pl.Series([rule] * len(at), dtype=pl.String),
                }
            )
            for at, column, rule in truth
        ]
    ).sort("line")
    return damaged, truth_frame

"""Row-level defects for a register file, each breaking exactly one validation rule, with the truth.

Classes (rule names as quarantined): matricule_check_digit, duplicate_matricule, birth_date_unparseable,
birth_date_future, unknown_postcode, unknown_commune, missing_required, control_character.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from convoc import reference
from convoc.synth import pools

if TYPE_CHECKING:
    from numpy.random import Generator

CLASSES = (
    "matricule_check_digit",
    "duplicate_matricule",
    "birth_date_unparseable",
    "birth_date_future",
    "unknown_postcode",
    "unknown_commune",
    "missing_required",
    "control_character",
)
MISSABLE = ("family_name", "given_name", "birth_date", "sex", "street", "postcode", "locality", "commune",
            "nationality", "status")  # fmt: skip
CONTROL = [chr(c) for c in [*range(0x01, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]]
CLASS_COLUMN = {
    "matricule_check_digit": "matricule",
    "duplicate_matricule": "matricule",
    "birth_date_unparseable": "birth_date",
    "birth_date_future": "birth_date",
    "unknown_postcode": "postcode",
    "unknown_commune": "commune",
}
TRUTH_SCHEMA = {"file": pl.String, "line": pl.Int64, "column": pl.String, "rule": pl.String}


@cache
def _unknown_postcodes() -> list[str]:
    known = reference.postcode_set()
    return [p for p in (f"L-{i:04d}" for i in range(10000)) if p not in known]


def damage(
    register: pl.DataFrame, rate: float, rng: Generator, day: date, file_name: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Damage ``round(rate × rows)`` rows of a register frame (text columns, file order); return it and the truth.

    Line numbers in the truth are physical lines of the written file (header = line 1).
    """
    rows = register.height
    total = round(rate * rows)
    if total == 0 or rate <= 0:
        return register, pl.DataFrame(schema=TRUTH_SCHEMA)
    per_class = np.full(len(CLASSES), total // len(CLASSES))
    per_class[: total % len(CLASSES)] += 1
    if rows >= 100:
        per_class = np.maximum(per_class, 1)
    n_dup = int(per_class[CLASSES.index("duplicate_matricule")])
    needed = int(per_class.sum()) + n_dup  # each duplicate also needs an undamaged source row
    if needed > rows:
        raise ValueError(f"defect rate {rate} needs {needed} rows, the file has {rows}")
    chosen = rng.choice(rows, size=needed, replace=False)

    updates: dict[str, dict[int, str | None]] = {c: {} for c in register.columns}
    unknown = _unknown_postcodes()
    truth: list[tuple[str, int, str, str]] = []

    def value(column: str, i: int) -> str:
        return str(register[column][i])

    at = 0
    for cls, count in zip(CLASSES, per_class.tolist(), strict=True):
        idx = chosen[at : at + count]
        at += count
        for i in idx.tolist():
            column = CLASS_COLUMN.get(cls, "")
            if cls == "matricule_check_digit":
                m = value(column, i)
                pos = 11 + int(rng.integers(0, 2))
                digit = (int(m[pos]) + int(rng.integers(1, 10))) % 10
                new: str | None = m[:pos] + str(digit) + m[pos + 1 :]
            elif cls == "duplicate_matricule":
                source = int(chosen[at])
                at += 1
                new = value(column, source)
                truth.append((file_name, source + 2, column, cls))
            elif cls == "birth_date_unparseable":
                y, m, d = value(column, i).split("-")
                bad = [f"{d}/{m}/{y}", f"{y}{m}{d}", f"{y}-13-{d}", f"{y}-02-31", "n/a", f"{d}.{m}.{y}"]
                new = bad[int(rng.integers(0, len(bad)))]
            elif cls == "birth_date_future":
                new = (day + timedelta(days=int(rng.integers(1, 3001)))).isoformat()
            elif cls == "unknown_postcode":
                new = unknown[int(rng.integers(0, len(unknown)))]
            elif cls == "unknown_commune":
                new = pools.UNKNOWN_COMMUNES[int(rng.integers(0, len(pools.UNKNOWN_COMMUNES)))]
            elif cls == "missing_required":
                column = MISSABLE[int(rng.integers(0, len(MISSABLE)))]
                new = None
            else:
                column = ("family_name", "given_name")[int(rng.integers(0, 2))]
                name = value(column, i)
                pos = int(rng.integers(1, max(2, len(name))))
                new = name[:pos] + CONTROL[int(rng.integers(0, len(CONTROL)))] + name[pos:]
            updates[column][i] = new
            truth.append((file_name, i + 2, column, cls))
    damaged = register.with_columns(
        register[c].scatter(list(changes), list(changes.values())) for c, changes in updates.items() if changes
    )
    return damaged, pl.DataFrame(truth, schema=TRUTH_SCHEMA, orient="row").sort("line", "column")

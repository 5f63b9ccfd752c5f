"""Who is on the four priority-group lists of the 2021 campaign, drawn once from the first snapshot.

Memberships are kept by person (``pid``); each day's lists are the members still ``resident`` that day,
so people who die or leave drop off and nobody's draw changes from one day to the next. National sizes
(scaled to the population): ≈ 6,000 care-home residents, 7,000 care-home staff, 25,000 health workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from convoc_dev.synth import pools
from convoc_dev.synth.population import DAYS_PER_YEAR, CareHomes, FloatArray, IntArray, scaled, weighted_sample

if TYPE_CHECKING:
    from numpy.random import Generator

# Share of adults per vulnerability level, on average; the older, the likelier.
VULNERABLE_SHARES = (("high", 0.015), ("significant", 0.03), ("moderate", 0.05))
# Conditions of priority phase 5: (condition, share, sex 'F' or None, lowest age, highest age).
CONDITIONS = (
    ("pregnancy", 0.01, "F", 18, 45),
    ("bmi_30_40", 0.05, None, 40, 64),
    ("diabetes", 0.03, None, 40, 64),
    ("hypertension", 0.06, None, 40, 64),
)


@dataclass(frozen=True)
class Memberships:
    """The priority-group members by ``pid``, with the columns of each list except the matricule."""

    carehomes: pl.DataFrame
    healthworkers: pl.DataFrame
    vulnerable: pl.DataFrame
    conditions: pl.DataFrame


def _registered_on(rng: Generator, n: int, day: date) -> pl.Series:
    """Registration dates in the weeks before the first snapshot."""
    days_before = rng.integers(1, 76, n).astype("timedelta64[D]")
    return pl.Series(np.datetime64(day, "D") - days_before).cast(pl.Date)


def _pick(rng: Generator, weights: FloatArray, k: int) -> IntArray:
    return weighted_sample(rng, weights, min(k, int(np.count_nonzero(weights))))


def draw(rng: Generator, people: pl.DataFrame, homes: CareHomes, day: date) -> Memberships:
    """Draw every list's members among the residents of the first snapshot ``people``."""
    n = people.height
    pid = people["pid"].to_numpy()
    age = (np.datetime64(day, "D") - people["birth_date"].to_numpy()).astype(np.int64) / DAYS_PER_YEAR
    resident = (people["status"] == "resident").to_numpy()
    female = (people["sex"] == "F").to_numpy()
    home = people["home"].to_numpy()
    home_names = pl.Series(homes.name, dtype=pl.String)
    home_communes = pl.Series(homes.commune, dtype=pl.String)

    in_home = np.flatnonzero(resident & (home >= 0))
    staff = _pick(rng, (resident & (home < 0) & (age >= 20) & (age < 65)).astype(float), scaled(7_000, n))
    # Staff work in homes in proportion to their residents (every home has at least one place).
    places = np.bincount(home[home >= 0], minlength=len(homes.name)) + 1
    workplace = rng.choice(len(places), size=len(staff), p=places / places.sum())
    carehomes = pl.concat(
        [
            pl.DataFrame(
                {
                    "pid": pid[in_home],
                    "role": pl.Series(["resident"] * len(in_home), dtype=pl.String),
                    "facility": home_names.gather(home[in_home]),
                    "commune": home_communes.gather(home[in_home]),
                }
            ),
            pl.DataFrame(
                {
                    "pid": pid[staff],
                    "role": pl.Series(["staff"] * len(staff), dtype=pl.String),
                    "facility": home_names.gather(workplace),
                    "commune": home_communes.gather(workplace),
                }
            ),
        ]
    )

    eligible = resident & (home < 0) & (age >= 22) & (age < 67)
    eligible[staff] = False
    health = _pick(rng, eligible.astype(float), scaled(25_000, n))
    shares = np.array([share for _, share, _ in pools.PROFESSIONS])
    profession = rng.choice(len(shares), size=len(health), p=shares / shares.sum())
    sector_names = list(pools.SECTORS)
    cumulative = np.zeros((len(pools.PROFESSIONS), len(sector_names)))
    for k, (_, _, sectors) in enumerate(pools.PROFESSIONS):
        for name, share in sectors:
            cumulative[k, sector_names.index(name)] = share
    cumulative = np.cumsum(cumulative, axis=1)
    sector = (rng.random(len(health))[:, None] >= cumulative[profession]).sum(axis=1)
    healthworkers = pl.DataFrame(
        {
            "pid": pid[health],
            "profession": pl.Series([p for p, _, _ in pools.PROFESSIONS], dtype=pl.String).gather(profession),
            "sector": pl.Series(sector_names, dtype=pl.String).gather(np.minimum(sector, len(sector_names) - 1)),
        }
    )

    # Vulnerability: one level at most per adult, likelier with age; a doctor registered each.
    adult = resident & (age >= 18)
    risk = np.where(adult, np.exp(0.035 * (age - 18)), 0.0)
    risk /= risk[adult].mean() if adult.any() else 1.0
    u = rng.random(n)
    level = np.full(n, -1, dtype=np.int64)
    bound = np.zeros(n)
    for k, (_, share) in enumerate(VULNERABLE_SHARES):
        upper = bound + share * risk
        level[adult & (u >= bound) & (u < upper)] = k
        bound = upper
    vulnerable_people = np.flatnonzero(level >= 0)
    conditions_of_level = [codes for _, codes in pools.VULNERABLE_CONDITIONS]
    counts = np.array([len(c) for c in conditions_of_level], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    chosen_level = level[vulnerable_people]
    condition = offsets[chosen_level] + np.floor(rng.random(len(vulnerable_people)) * counts[chosen_level]).astype(
        np.int64
    )
    doctors = rng.choice(900_000, size=max(5, n // 400), replace=False) + 100_000
    doctor = doctors[rng.integers(0, len(doctors), len(vulnerable_people))]
    vulnerable = pl.DataFrame(
        {
            "pid": pid[vulnerable_people],
            "level": pl.Series([name for name, _ in VULNERABLE_SHARES], dtype=pl.String).gather(chosen_level),
            "condition": pl.Series([c for codes in conditions_of_level for c in codes], dtype=pl.String).gather(
                condition
            ),
            "registered_on": _registered_on(rng, len(vulnerable_people), day),
            "doctor_code": "D" + pl.Series(doctor, dtype=pl.Int64).cast(pl.String),
        }
    )

    parts = []
    for name, share, sex, low, high in CONDITIONS:
        fits = resident & (age >= low) & (age < high + 1)
        if sex == "F":
            fits &= female
        members = np.flatnonzero(fits & (rng.random(n) < share))
        parts.append(
            pl.DataFrame(
                {
                    "pid": pid[members],
                    "condition": pl.Series([name] * len(members), dtype=pl.String),
                    "registered_on": _registered_on(rng, len(members), day),
                }
            )
        )
    return Memberships(
        carehomes=carehomes,
        healthworkers=healthworkers,
        vulnerable=vulnerable,
        conditions=pl.concat(parts),
    )


def lists(memberships: Memberships, people: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The day's four lists (file columns, text), members resident that day, sorted by matricule."""
    alive = people.filter(pl.col("status") == "resident").select("pid", "matricule")

    def members(frame: pl.DataFrame, columns: list[str], order: list[str]) -> pl.DataFrame:
        joined = frame.join(alive, on="pid", how="inner")
        return joined.select(
            pl.col(c).dt.strftime("%Y-%m-%d") if joined.schema[c] == pl.Date else pl.col(c) for c in columns
        ).sort(order)

    return {
        "priority_carehomes": members(
            memberships.carehomes, ["matricule", "role", "facility", "commune"], ["matricule", "role"]
        ),
        "priority_healthworkers": members(
            memberships.healthworkers, ["matricule", "profession", "sector"], ["matricule"]
        ),
        "priority_vulnerable": members(
            memberships.vulnerable,
            ["matricule", "level", "condition", "registered_on", "doctor_code"],
            ["matricule"],
        ),
        "priority_conditions": members(
            memberships.conditions, ["matricule", "condition", "registered_on"], ["matricule", "condition"]
        ),
    }


def member_pids(memberships: Memberships) -> pl.Series:
    """Everyone on any list (damaging their register row would change who the lists name)."""
    return pl.concat(
        [
            memberships.carehomes["pid"],
            memberships.healthworkers["pid"],
            memberships.vulnerable["pid"],
            memberships.conditions["pid"],
        ]
    ).unique()

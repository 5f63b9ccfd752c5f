"""Synthetic landing files: what a real register extract and the priority-group lists would hold.

``generate`` writes, for each day, a full register snapshot and four priority lists (see
``convoc.sources.specs`` for the columns), optionally with damaged rows and a truth file naming each.
Same arguments, same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from convoc.sources.specs import (
    PRIORITY_CAREHOMES,
    PRIORITY_CONDITIONS,
    PRIORITY_HEALTHWORKERS,
    PRIORITY_VULNERABLE,
    REGISTER,
)
from convoc.synth import population
from convoc.synth.damage import damage


@dataclass(frozen=True)
class GenerateResult:
    files: list[Path]
    truth_files: list[Path]
    residents: int
    defect_rows: int


def _register(people: pl.DataFrame) -> pl.DataFrame:
    return people.select(
        "matricule",
        "family_name",
        "given_name",
        population.birth_date_text(people).alias("birth_date"),
        "sex",
        "street",
        "house_number",
        "postcode",
        "locality",
        "commune",
        "nationality",
        "language",
        "status",
    ).sort("matricule")


def _priority_lists(people: pl.DataFrame, day: date) -> dict[str, pl.DataFrame]:
    alive = people.filter(pl.col("status") == "resident")
    registered = (pl.lit(day.toordinal()) - pl.col("registered_ago") - date(1970, 1, 1).toordinal()).cast(pl.Date)
    carehomes = pl.concat(
        [
            alive.filter(pl.col("facility").is_not_null()).select(
                "matricule", pl.lit("resident").alias("role"), "facility", pl.col("facility_commune").alias("commune")
            ),
            alive.filter(pl.col("staff_facility").is_not_null()).select(
                "matricule",
                pl.lit("staff").alias("role"),
                pl.col("staff_facility").alias("facility"),
                pl.col("staff_commune").alias("commune"),
            ),
        ]
    )
    conditions = pl.concat(
        [
            alive.filter(pl.col(flag)).select(
                "matricule", pl.lit(name).alias("condition"), registered.dt.strftime("%Y-%m-%d").alias("registered_on")
            )
            for flag, name in [("pregnant", "pregnancy"), ("bmi_30_40", "bmi_30_40"), ("diabetes", "diabetes"),
                               ("hypertension", "hypertension")]
        ]
    )  # fmt: skip
    return {
        PRIORITY_CAREHOMES.name: carehomes.sort("matricule", "role"),
        PRIORITY_HEALTHWORKERS.name: alive.filter(pl.col("profession").is_not_null())
        .select("matricule", "profession", "sector")
        .sort("matricule"),
        PRIORITY_VULNERABLE.name: alive.filter(pl.col("vulnerable_level").is_not_null())
        .select(
            "matricule",
            pl.col("vulnerable_level").alias("level"),
            pl.col("vulnerable_condition").alias("condition"),
            registered.dt.strftime("%Y-%m-%d").alias("registered_on"),
            "doctor_code",
        )
        .sort("matricule"),
        PRIORITY_CONDITIONS.name: conditions.sort("matricule", "condition"),
    }


def _next_day(people: pl.DataFrame, rng: np.random.Generator, day: date, serial_base: int) -> pl.DataFrame:
    """Yesterday's population with a day of moves, deaths, emigrations, births and arrivals."""
    n = people.height
    resident = (people["status"] == "resident").to_numpy()
    ages = (day.toordinal() - people["birth_ordinal"].to_numpy()) / 365.25
    person = people["person"].to_numpy()

    movers = person[resident & (rng.random(n) < 0.0005)]
    deaths = person[resident & (rng.random(n) < np.where(ages >= 75, 0.0003, 0.00001))]
    leavers = person[resident & (ages >= 20) & (ages <= 60) & (rng.random(n) < 0.00005)]
    moved = population.random_addresses(rng, len(movers)).with_columns(pl.Series("person", movers))
    people = people.update(moved, on="person", include_nulls=True)
    people = people.with_columns(
        pl.when(pl.col("person").is_in(deaths.tolist()))
        .then(pl.lit("deceased"))
        .when(pl.col("person").is_in(leavers.tolist()))
        .then(pl.lit("emigrated"))
        .otherwise(pl.col("status"))
        .alias("status")
    )

    # Newborns join a household of a resident aged 25–40; arrivals are adults at a new address.
    age_days = pl.lit(day.toordinal()) - pl.col("birth_ordinal")
    parents = people.filter(pl.col("status") == "resident", age_days >= 25 * 365, age_days <= 40 * 365)
    n_births = int(rng.binomial(n, 0.00003)) if parents.height else 0
    n_arrivals = int(rng.binomial(n, 0.00004))
    next_id = int(people["person"].max()) + 1  # type: ignore[arg-type]
    new = []
    if n_births:
        babies = parents[rng.integers(0, parents.height, n_births).tolist()].with_columns(
            pl.lit(day.toordinal() - 1, dtype=pl.Int64).alias("birth_ordinal"),
            pl.lit("child").alias("role"),
        )
        sex = np.where(rng.random(n_births) < 0.5, "F", "M")
        given = population.names(rng, babies["nationality"].to_numpy(), sex).tolist()
        new.append(babies.with_columns(pl.Series("sex", sex), pl.Series("given_name", given, dtype=pl.String)))
    if n_arrivals:
        template = people[rng.integers(0, n, n_arrivals).tolist()]
        address = population.random_addresses(rng, n_arrivals)
        ages_new = rng.integers(20, 46, n_arrivals)
        sex = np.where(rng.random(n_arrivals) < 0.5, "F", "M")
        nationality = np.array(["PT", "FR", "IT", "BE", "DE", "ES", "PL", "RO", "IN"], dtype=object)[
            rng.integers(0, 9, n_arrivals)
        ]
        born = day.toordinal() - (ages_new * 365.25).astype(np.int64) - rng.integers(0, 365, n_arrivals)
        new.append(template.with_columns(
            *[address[c] for c in address.columns],
            pl.Series("birth_ordinal", born),
            pl.lit("head").alias("role"),
            pl.lit("resident").alias("status"),
            pl.Series("sex", sex),
            pl.Series("nationality", nationality.tolist(), dtype=pl.String),
            pl.Series("family_name", population.names(rng, nationality, None).tolist(), dtype=pl.String),
            pl.Series("given_name", population.names(rng, nationality, sex).tolist(), dtype=pl.String),
            pl.Series("language", population.language_for(rng, nationality).tolist(), dtype=pl.String),
        ))  # fmt: skip
    if not new:
        return people
    arrivals = pl.concat(new).with_columns(
        pl.Series("person", np.arange(next_id, next_id + sum(f.height for f in new), dtype=np.int64)),
        *[pl.lit(None, dtype=pl.String).alias(c) for c in ("facility", "facility_commune", "staff_facility",
          "staff_commune", "profession", "sector", "vulnerable_level", "vulnerable_condition", "doctor_code")],
        *[pl.lit(False).alias(c) for c in ("pregnant", "bmi_30_40", "diabetes", "hypertension")],
    )  # fmt: skip
    # Late serials (500+) cannot collide with the first snapshot's, which rank from 0.
    arrivals = population.assign_matricules(arrivals.drop("matricule"), rng, first_serial=serial_base)
    return pl.concat([people, arrivals.select(people.columns)])


def generate(
    residents: int,
    seed: int,
    out: Path,
    start_date: date = date(2021, 1, 29),
    days: int = 1,
    defects: float = 0.0,
) -> GenerateResult:
    """Write ``days`` daily snapshots of ``residents`` synthetic residents (and their changes) to ``out``."""
    if residents < 1 or days < 1:
        raise ValueError("residents and days must be at least 1")
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    people = population.assign_matricules(population.build(residents, rng, start_date), rng)
    files: list[Path] = []
    truth_files: list[Path] = []
    first_rows = 0
    defect_rows = 0
    for k in range(days):
        day = start_date + timedelta(days=k)
        if k:
            people = _next_day(people, rng, day, serial_base=500 + 10 * k)
        register = _register(people)
        first_rows = first_rows or register.height
        register_name = REGISTER.file_name(day)
        if defects > 0:
            register, truth = damage(register, defects, rng, day, register_name)
            truth_path = out / "_truth" / f"defects_{day:%Y%m%d}.csv"
            truth_path.parent.mkdir(exist_ok=True)
            truth.write_csv(truth_path)
            truth_files.append(truth_path)
            defect_rows += truth.height
        register.write_csv(out / register_name)
        files.append(out / register_name)
        for name, frame in _priority_lists(people, day).items():
            path = out / f"{name}_{day:%Y%m%d}.csv"
            frame.write_csv(path)
            files.append(path)
    return GenerateResult(files=files, truth_files=truth_files, residents=first_rows, defect_rows=defect_rows)

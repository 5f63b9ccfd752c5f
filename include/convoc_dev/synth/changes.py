"""One day in the life of the register: moves, deaths, emigrations, births and arrivals.

Rates are per resident and day, somewhat above Luxembourg's 2021 averages so that a small test
population changes every day (at least one event of each kind); row counts still move by well under
1 % a day, since the dead and the emigrated stay in the register with their status.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from convoc_dev.synth import population
from convoc_dev.synth.population import DAYS_PER_YEAR, PEOPLE_SCHEMA, AddressBook, weighted_sample

if TYPE_CHECKING:
    from numpy.random import Generator

MOVES = 0.0005  # people moving house (whole households)
DEATHS = 0.00005
EMIGRATIONS = 0.00006
BIRTHS = 0.00003
ARRIVALS = 0.0001
SAME_COMMUNE = 0.5  # share of moves within the commune


def _count(rate: float, residents: int) -> int:
    return max(1, round(rate * residents))


def _new_people(people: pl.DataFrame, births: pl.DataFrame, arrivals: pl.DataFrame) -> pl.DataFrame:
    """Newcomers with fresh pids and matricules (serials after the highest of their birth date)."""
    new = pl.concat([births, arrivals], how="diagonal_relaxed")
    top = people.group_by(pl.col("matricule").str.slice(0, 8).alias("day")).agg(
        pl.col("matricule").str.slice(8, 3).cast(pl.Int64).max().alias("top")
    )
    new = (
        new.with_columns(pl.col("birth_date").dt.strftime("%Y%m%d").alias("day"), pl.int_range(pl.len()).alias("i"))
        .join(top, on="day", how="left")
        .with_columns(
            (pl.col("top").fill_null(-1) + 1 + pl.int_range(pl.len()).over("day", order_by="i")).alias("serial")
        )
        .sort("i")
    )
    heads = population.matricule_heads(new["birth_date"], new["serial"])
    first_pid = int(people["pid"].max()) + 1  # type: ignore[arg-type]
    return new.with_columns(
        pl.Series("matricule", population.with_check_digits(heads), dtype=pl.String),
        pl.Series("pid", np.arange(first_pid, first_pid + new.height, dtype=np.int64)),
        pl.lit("resident").alias("status"),
    ).select(PEOPLE_SCHEMA.keys())


def next_day(rng: Generator, people: pl.DataFrame, book: AddressBook, day: date) -> pl.DataFrame:
    """The register of ``day`` from the register of the day before (both ``PEOPLE_SCHEMA``, by matricule)."""
    age = (np.datetime64(day, "D") - people["birth_date"].to_numpy()).astype(np.int64) / DAYS_PER_YEAR
    resident = (people["status"] == "resident").to_numpy()
    private = (people["home"] < 0).to_numpy()
    residents = int(resident.sum())

    status = people["status"].clone()
    dead = weighted_sample(rng, np.where(resident, np.exp(0.1 * (age - 80)), 0.0), _count(DEATHS, residents))
    status.scatter(dead, "deceased")
    leaving = np.where(resident & private & (age >= 18), np.where((age >= 20) & (age <= 60), 1.0, 0.3), 0.0)
    leaving[dead] = 0.0
    gone = weighted_sample(rng, leaving, min(_count(EMIGRATIONS, residents), int(np.count_nonzero(leaving))))
    status.scatter(gone, "emigrated")
    people = people.with_columns(status)
    resident[dead] = False
    resident[gone] = False

    # Moves: whole households (their resident members) to a new address.
    hh = people["hh"].to_numpy()
    households, size = np.unique(hh[resident & private], return_counts=True)
    order = rng.permutation(len(households))
    taken = order[: int(np.searchsorted(np.cumsum(size[order]), _count(MOVES, residents))) + 1]
    moving = households[taken]
    current = (
        pl.DataFrame({"hh": moving})
        .join(people.select("hh", "commune").unique("hh", keep="first"), on="hh", how="left")
        .sort("hh")
    )
    moving = current["hh"].to_numpy()
    commune = np.searchsorted(np.array(book.communes), current["commune"].to_numpy()).astype(np.int64)
    elsewhere = rng.random(len(moving)) >= SAME_COMMUNE
    commune[elsewhere] = book.draw_communes(rng, int(elsewhere.sum()))
    first_hh = int(people["hh"].max()) + 1  # type: ignore[arg-type]
    moved = population.new_addresses(rng, book, commune, people).with_columns(
        pl.Series("old_hh", moving), pl.Series("new_hh", np.arange(first_hh, first_hh + len(moving)))
    )
    address = ["street", "house_number", "postcode", "locality", "commune", "hn"]
    joined = people.join(moved, left_on="hh", right_on="old_hh", how="left", suffix="_new")
    moves = pl.col("new_hh").is_not_null() & (pl.col("status") == "resident")
    people = joined.with_columns(
        pl.when(moves).then(pl.col(f"{c}_new")).otherwise(pl.col(c)).alias(c) for c in address
    ).with_columns(pl.when(moves).then(pl.col("new_hh")).otherwise(pl.col("hh")).alias("hh"))
    people = people.select(PEOPLE_SCHEMA.keys())

    # Births: a newborn of a resident mother aged 20–45, in her household, with her name and nationality.
    mothers = weighted_sample(
        rng,
        (resident & private & (people["sex"] == "F").to_numpy() & (age >= 20) & (age < 46)).astype(float),
        _count(BIRTHS, residents),
    )
    female = rng.random(len(mothers)) < 0.49
    codes = population.nationality_codes()
    born = np.datetime64(day, "D") - rng.integers(0, 4, len(mothers)).astype("timedelta64[D]")
    their_nationality = people["nationality"].gather(mothers).replace_strict(codes, range(len(codes)))
    births = people[mothers].with_columns(
        pl.Series("birth_date", born).cast(pl.Date),
        pl.Series("sex", np.where(female, "F", "M"), dtype=pl.String),
        population.given_names(rng, their_nationality.to_numpy().astype(np.int64), female).alias("given_name"),
    )

    # Arrivals: adults from abroad, each in a new household at a new address.
    n = _count(ARRIVALS, residents)
    age_days = np.floor(np.clip(rng.normal(32, 9, n), 18, 75) * DAYS_PER_YEAR).astype(np.int64)
    nationality = population.draw_nationality(rng, n, foreign_only=True)
    female = rng.random(n) < 0.5
    first_hh += len(moving)
    homes = population.new_addresses(rng, book, book.draw_communes(rng, n), people)
    arrivals = homes.with_columns(
        pl.Series("birth_date", np.datetime64(day, "D") - age_days.astype("timedelta64[D]")).cast(pl.Date),
        population.family_names(rng, nationality).alias("family_name"),
        population.given_names(rng, nationality, female).alias("given_name"),
        pl.Series("sex", np.where(female, "F", "M"), dtype=pl.String),
        pl.Series("nationality", codes, dtype=pl.String).gather(nationality),
        population.language_series(population.draw_language(rng, nationality)).alias("language"),
        pl.Series("hh", np.arange(first_hh, first_hh + n, dtype=np.int64)),
        pl.lit(-1, dtype=pl.Int64).alias("home"),
    )
    newcomers = _new_people(people, births, arrivals)
    return pl.concat([people, newcomers]).sort("matricule")

"""Contact preferences: which residents asked to be invited by e-mail, on paper and by e-mail, or in large print.

The first day's file holds the declarations collected before the campaign (about a fifth of the adults: 12 % by
e-mail, 7 % both, and large print asked by 1.5 % — more often the older); each later day's file a few new ones
and people changing their mind (a new address, another channel, consent withdrawn). Addresses are made from the
person's names (accents dropped) at the country's common mail domains, some typed with a capitalised domain (the
ingest lower-cases it). With a defect rate, some rows are damaged, one rule each, and
``_truth/contact_preferences_defects_YYYYMMDD.csv`` names them (file, line, column, rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from convoc.sources.specs import CONTACT_PREFERENCES
from convoc_dev.synth.defects import TRUTH_SCHEMA
from convoc_dev.synth.population import DAYS_PER_YEAR, with_check_digits

if TYPE_CHECKING:
    from numpy.random import Generator

DOMAINS = ("pt.lu", "gmail.com", "outlook.com", "hotmail.fr", "education.lu", "web.de", "yahoo.fr", "protonmail.com")
FIRST_DAY_SHARES = {"email": 0.12, "both": 0.07, "paper": 0.015}
"""Of the residents aged 16 and over, who declared before the campaign, by channel (``paper``: large print)."""
LARGE_PRINT = (0.02, 0.10)
"""Share of e-mail and both declarations asking large print too: under 75, and 75 or older."""
NEW_PER_DAY = 0.0005
"""Share of the residents who declare for the first time on a later day."""
CHANGED_PER_DAY = 0.01
"""Share of the declarants who change their mind on a later day (withdraw, switch channel, new address)."""
DEFECT_RULES = (
    ("email", "invalid_email"),
    ("email", "missing_email"),
    ("channel", "invalid_value"),
    ("withdrawn_on", "withdrawn_before_consented"),
    ("matricule", "unknown_resident"),
    ("consented_on", "consented_on_future"),
)


@dataclass(frozen=True)
class Declared:
    """What each day's file says (by ``pid``) and the truth of its damaged rows."""

    frame: pl.DataFrame
    truth: pl.DataFrame


def _addresses(rng: Generator, people: pl.DataFrame) -> pl.Series:
    def ascii_part(column: str) -> pl.Expr:
        return (
            pl.col(column)
            .str.normalize("NFKD")
            .str.replace_all(r"[^A-Za-z0-9]", "")
            .str.to_lowercase()
            .str.slice(0, 20)
        )

    n = people.height
    domain = pl.Series(np.array(DOMAINS)[rng.integers(0, len(DOMAINS), n)])
    typed = rng.random(n) < 0.05  # some type the domain in capitals
    domain = pl.Series(np.where(typed, domain.str.to_uppercase().to_numpy(), domain.to_numpy()))
    number = pl.Series(rng.integers(1, 100, n)).cast(pl.String)
    local = people.select(
        pl.concat_str(ascii_part("given_name"), pl.lit("."), ascii_part("family_name"), number).alias("local")
    )["local"]
    return (local + "@" + domain).alias("email")


def _declarations(rng: Generator, people: pl.DataFrame, day: date, share: dict[str, float]) -> pl.DataFrame:
    """Declarations by some of ``people``, each choosing a channel with the given shares."""
    age = (np.datetime64(day, "D") - people["birth_date"].to_numpy()).astype(np.int64) / DAYS_PER_YEAR
    draw = rng.random(people.height)
    edges = np.cumsum(list(share.values()))
    channel = np.select([draw < e for e in edges], list(share.keys()), default="")
    chosen = channel != ""
    old = age >= 75
    large = rng.random(people.height) < np.where(old, LARGE_PRINT[1], LARGE_PRINT[0])
    large = np.where(channel == "paper", True, large)  # a paper declaration is a request for large print
    frame = people.with_columns(
        pl.Series("channel", channel),
        pl.Series("format", np.where(large, "large_print", "standard")),
        _addresses(rng, people),
        pl.Series(
            "consented_on", np.datetime64(day, "D") - rng.integers(0, 30, people.height).astype("timedelta64[D]")
        ).cast(pl.Date),
    ).filter(pl.Series(chosen))
    return frame.with_columns(
        pl.when(pl.col("channel") == "paper").then(None).otherwise(pl.col("email")).alias("email"),
        pl.lit(None, dtype=pl.Date).alias("withdrawn_on"),
    ).select("pid", "matricule", "email", "channel", "format", "consented_on", "withdrawn_on")


def first_day(rng: Generator, people: pl.DataFrame, day: date) -> pl.DataFrame:
    """The declarations collected before the campaign, among the residents aged 16 and over."""
    adults = people.filter(
        (pl.col("status") == "resident") & (pl.col("birth_date") <= pl.lit(day).dt.offset_by("-16y"))
    )
    return _declarations(rng, adults, day, FIRST_DAY_SHARES)


def later_day(rng: Generator, people: pl.DataFrame, current: pl.DataFrame, day: date) -> pl.DataFrame:
    """A later day's file: first declarations and changes of mind, among those still resident."""
    resident = people.filter(pl.col("status") == "resident")
    newcomers = resident.filter(~pl.col("pid").is_in(current["pid"].implode()))
    scale = NEW_PER_DAY / sum(FIRST_DAY_SHARES.values())
    fresh = _declarations(rng, newcomers, day, {k: v * scale for k, v in FIRST_DAY_SHARES.items()})
    still = current.filter(pl.col("pid").is_in(resident["pid"].implode()) & pl.col("withdrawn_on").is_null())
    changing = still.filter(pl.Series(rng.random(still.height) < CHANGED_PER_DAY))
    kind = rng.integers(0, 3, changing.height)  # 0 withdraw, 1 switch channel, 2 new address
    switched = np.where(changing["channel"].to_numpy() == "email", "both", "email")
    changed = changing.with_columns(
        pl.when(pl.Series(kind == 0)).then(pl.lit(day)).otherwise(None).alias("withdrawn_on"),
        pl.when(pl.Series(kind == 1)).then(pl.Series(switched)).otherwise(pl.col("channel")).alias("channel"),
        pl.when(pl.Series(kind == 2))
        .then(pl.col("email").str.replace("@", ".new@"))
        .otherwise(pl.col("email"))
        .alias("email"),
    )
    changed = changed.with_columns(
        pl.when(pl.col("email").is_null() & pl.col("channel").is_in(["email", "both"]))
        .then(pl.lit("new.address@pt.lu"))
        .otherwise(pl.col("email"))
        .alias("email"),
        pl.when(pl.Series(kind == 1)).then(pl.lit(day)).otherwise(pl.col("consented_on")).alias("consented_on"),
    )
    return pl.concat([changed, fresh]).sort("matricule")


def latest(current: pl.DataFrame, declared: pl.DataFrame) -> pl.DataFrame:
    """Each declarant's latest declaration, after a day's file."""
    return pl.concat([current.filter(~pl.col("pid").is_in(declared["pid"].implode())), declared])


def damage(rng: Generator, frame: pl.DataFrame, rate: float, day: date) -> Declared:
    """Damage ``rate`` of the day's rows (at least one of each rule when the file is big enough), one rule a row."""
    n = frame.height
    count = min(n, max(len(DEFECT_RULES), round(rate * n))) if rate > 0 and n >= 2 * len(DEFECT_RULES) else 0
    at = np.sort(rng.choice(n, count, replace=False)) if count else np.array([], dtype=np.int64)
    rules = [DEFECT_RULES[k % len(DEFECT_RULES)] for k in range(count)]
    rows = frame.to_dicts()
    strangers = with_check_digits([f"19000101{k:03d}" for k in range(count)])
    for k, (row, (_column, rule)) in enumerate(zip((rows[i] for i in at), rules, strict=True)):
        if rule == "invalid_email":
            row.update(channel="email", email=(row["email"] or "someone@pt.lu").replace("@", "@@"))
        elif rule == "missing_email":
            row.update(channel="both", email=None)
        elif rule == "invalid_value":
            row.update(channel="fax")
        elif rule == "withdrawn_before_consented":
            row.update(withdrawn_on=row["consented_on"] - timedelta(days=3))
        elif rule == "unknown_resident":
            row.update(matricule=strangers[k])
        elif rule == "consented_on_future":
            row.update(consented_on=day + timedelta(days=5))
    damaged = pl.DataFrame(rows, schema=frame.schema)
    truth = pl.DataFrame(
        {
            "file": [CONTACT_PREFERENCES.file_name(day)] * count,
            "line": (at + 2).tolist(),
            "column": [c for c, _ in rules],
            "rule": [r for _, r in rules],
        },
        schema=TRUTH_SCHEMA,
    )
    return Declared(damaged, truth)


def as_file(frame: pl.DataFrame) -> pl.DataFrame:
    """The landing file's columns, as text, in file order."""
    return frame.select(
        pl.col(c).dt.strftime("%Y-%m-%d") if c in ("consented_on", "withdrawn_on") else pl.col(c)
        for c in CONTACT_PREFERENCES.columns
    )

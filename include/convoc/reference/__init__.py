"""Reference data shipped with the package: Luxembourg's 2021 communes and postcodes.

Sources and known gaps: README.md beside this file. Loaded once per process (the files are small).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

CANTONS: tuple[str, ...] = (
    "Capellen",
    "Clervaux",
    "Diekirch",
    "Echternach",
    "Esch-sur-Alzette",
    "Grevenmacher",
    "Luxembourg",
    "Mersch",
    "Redange",
    "Remich",
    "Vianden",
    "Wiltz",
)


def _read(name: str) -> pl.DataFrame:
    import polars as pl

    data = files(__package__).joinpath(name).read_bytes()
    return pl.read_csv(data, infer_schema=False)


@cache
def communes() -> pl.DataFrame:
    """One row per commune (102, the 2021 map): commune, canton, population_2021 (int), envelope, main_locality."""
    import polars as pl

    return _read("communes_2021.csv").with_columns(pl.col("population_2021").cast(pl.Int64))


@cache
def postcodes() -> pl.DataFrame:
    """One row per postcode (4,165): postcode ('1234'), postal_locality, commune_2021 (may be null), canton."""
    return _read("postcodes_lu.csv")


@cache
def postcode_set() -> frozenset[str]:
    """Every known postcode written as on an envelope, 'L-1234'."""
    return frozenset("L-" + p for p in postcodes()["postcode"].to_list())


@cache
def commune_set() -> frozenset[str]:
    return frozenset(communes()["commune"].to_list())

"""Reference data shipped with the package: Luxembourg's 2021 communes and postcodes.

Sources and known gaps: README.md beside this file. Loaded once per process (the files are small).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path
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


COMMUNES = "communes_2021.csv"
POSTCODES = "postcodes_lu.csv"


def path(name: str) -> Path:
    """Where the reference file ``name`` is (the package is installed as files: readers that take a path, such as
    DuckDB's ``read_csv`` in ``sql/core/ref_geography__load.sql``, read it there)."""
    found = Path(str(files(__package__).joinpath(name)))
    if not found.is_file():
        raise FileNotFoundError(f"reference file {name} not found at {found}")
    return found


def _read(name: str) -> pl.DataFrame:
    import polars as pl

    return pl.read_csv(path(name).read_bytes(), infer_schema=False)


@cache
def communes() -> pl.DataFrame:
    """One row per commune (102, the 2021 map): commune, canton, population_2021 (int), envelope, main_locality."""
    import polars as pl

    return _read(COMMUNES).with_columns(pl.col("population_2021").cast(pl.Int64))


@cache
def postcodes() -> pl.DataFrame:
    """One row per postcode (4,165): postcode ('1234'), postal_locality, commune_2021 (may be null), canton."""
    return _read(POSTCODES)


@cache
def postcode_set() -> frozenset[str]:
    """Every known postcode written as on an envelope, 'L-1234'."""
    return frozenset("L-" + p for p in postcodes()["postcode"].to_list())


@cache
def commune_set() -> frozenset[str]:
    return frozenset(communes()["commune"].to_list())

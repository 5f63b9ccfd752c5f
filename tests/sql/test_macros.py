"""The macros of sql/macros/: age in completed years and the analysts' age bands, at their edges."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from convoc import warehouse


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect() as c:
        warehouse.create_macros(c)
        warehouse.create_macros(c)  # idempotent
        yield c


def age(con: duckdb.DuckDBPyConnection, born: date, on_day: date) -> int:
    row = con.execute("select age_in_years($born, $day)", {"born": born, "day": on_day}).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize(
    ("born", "on_day", "expected"),
    [
        (date(1950, 3, 14), date(2021, 3, 14), 71),  # the birthday itself counts
        (date(1950, 3, 14), date(2021, 3, 13), 70),
        (date(1950, 3, 14), date(2021, 3, 15), 71),
        (date(2005, 12, 31), date(2021, 1, 1), 15),
        (date(2005, 1, 1), date(2020, 12, 31), 15),
        (date(2005, 1, 1), date(2021, 1, 1), 16),
        (date(2021, 1, 29), date(2021, 1, 29), 0),  # born on the day
        (date(2000, 2, 29), date(2021, 2, 28), 20),  # leap-day birth, common year: not yet on 28 February …
        (date(2000, 2, 29), date(2021, 3, 1), 21),  # … but on 1 March
        (date(2000, 2, 29), date(2024, 2, 28), 23),
        (date(2000, 2, 29), date(2024, 2, 29), 24),  # a leap year: on the day itself
        (date(1999, 3, 1), date(2000, 2, 29), 0),
        (date(1999, 3, 1), date(2000, 3, 1), 1),
    ],
)
def test_age_in_completed_years(con: duckdb.DuckDBPyConnection, born: date, on_day: date, expected: int) -> None:
    assert age(con, born, on_day) == expected


def test_age_agrees_with_the_calendar_over_four_years(con: duckdb.DuckDBPyConnection) -> None:
    """Every day of 2020–2023 for people born on leap days, month ends and ordinary days."""

    def completed_years(born: date, on_day: date) -> int:
        years = on_day.year - born.year
        return years - ((on_day.month, on_day.day) < (born.month, born.day))

    births = [date(1940, 2, 29), date(1960, 2, 28), date(1961, 3, 1), date(1975, 12, 31), date(2004, 6, 15)]
    days = [date(2020, 1, 1) + timedelta(days=k) for k in range(4 * 365 + 1)]
    con.execute("create temp table cases (born date, on_day date)")
    con.executemany("insert into cases values (?, ?)", [(b, d) for b in births for d in days])
    got = con.execute("select born, on_day, age_in_years(born, on_day) from cases").fetchall()
    assert len(got) == len(births) * len(days)
    assert all(years == completed_years(born, on_day) for born, on_day, years in got)


@pytest.mark.parametrize(
    ("years", "band"),
    [
        (None, "unknown"),
        (0, "0-15"),
        (15, "0-15"),
        (16, "16-54"),
        (54, "16-54"),
        (55, "55-64"),
        (64, "55-64"),
        (65, "65-69"),
        (69, "65-69"),
        (70, "70-74"),
        (74, "70-74"),
        (75, "75-79"),
        (79, "75-79"),
        (80, "80+"),
        (115, "80+"),
    ],
)
def test_age_band_edges(con: duckdb.DuckDBPyConnection, years: int | None, band: str) -> None:
    assert con.execute("select age_band(cast($a as integer))", {"a": years}).fetchone() == (band,)


def test_a_birthday_moves_a_resident_into_the_next_band_on_the_day(con: duckdb.DuckDBPyConnection) -> None:
    born = date(1941, 2, 1)
    bands = con.execute(
        "select age_band(age_in_years($born, $d - 1)), age_band(age_in_years($born, $d))",
        {"born": born, "d": date(2021, 2, 1)},
    ).fetchone()
    assert bands == ("75-79", "80+")


def test_age_bands_list_every_band_youngest_first(con: duckdb.DuckDBPyConnection) -> None:
    from convoc.report.figures import age_bands

    listed = con.execute("select age_band, lower_age from age_bands()").fetchall()
    assert listed == [("0-15", 0), ("16-54", 16), ("55-64", 55), ("65-69", 65), ("70-74", 70), ("75-79", 75),
                      ("80+", 80)]  # fmt: skip
    assert age_bands(con) == tuple(b for b, _ in listed)  # the report's bars


def test_macros_on_a_read_only_connection(tmp_path: Path) -> None:
    """The report reads the analysts' copy read-only: the macros are temporary, so they are created there too, and
    nothing of them is stored in the database file."""
    path = tmp_path / "published.duckdb"
    duckdb.connect(str(path)).close()
    with duckdb.connect(str(path), read_only=True) as con:
        warehouse.create_macros(con)
        assert con.execute("select age_band(age_in_years(date '1941-02-01', date '2021-02-01'))").fetchone() == ("80+",)
    with duckdb.connect(str(path), read_only=True) as con:
        stored = con.execute("select count(*) from duckdb_functions() where function_name = 'age_band'").fetchone()
        assert stored == (0,)

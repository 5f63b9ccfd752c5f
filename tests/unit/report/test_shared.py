"""The copy shared beyond the analysts: the report's small-cell rule on every count, within each group of cells
published side by side."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from convoc.report.shared import TABLES, SharedTable, protect_table, publish_shared

RETURNS = SharedTable("t", "unused", ("day",), ("returned",))


def test_a_small_cell_is_hidden_and_one_more_so_that_the_total_gives_nothing_away() -> None:
    frame = pl.DataFrame(
        {
            "day": [date(2021, 2, 1)] * 4 + [date(2021, 2, 2)] * 3,
            "reason": ["moved", "deceased", "unknown_address", "other", "moved", "deceased", "unknown_address"],
            "returned": [3, 0, 12, 40, 5, 0, 9],
        }
    )
    out = protect_table(frame, RETURNS)
    # Day 1: 3 is small; the smallest other non-zero (12) is masked; 0 and 40 stay.
    assert out.filter(pl.col("day") == date(2021, 2, 1)).select("returned", "returned_suppressed").rows() == [
        (None, "small"),
        (0, None),
        (None, "masked"),
        (40, None),
    ]
    # Day 2: nothing small, everything shown.
    assert out.filter(pl.col("day") == date(2021, 2, 2))["returned"].to_list() == [5, 0, 9]
    assert out.columns == ["day", "reason", "returned", "returned_suppressed"]


def test_two_small_cells_need_no_secondary_mask() -> None:
    frame = pl.DataFrame({"day": [1, 1, 1], "returned": [2, 4, 30]})
    assert protect_table(frame, RETURNS)["returned_suppressed"].to_list() == ["small", "small", None]


def test_an_empty_table_keeps_its_columns() -> None:
    out = protect_table(pl.DataFrame(schema={"day": pl.Date, "returned": pl.Int64}), RETURNS)
    assert out.columns == ["day", "returned", "returned_suppressed"] and out.is_empty()


@pytest.fixture
def marts(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "published.duckdb"))
    con.execute("create schema marts")
    con.execute(
        "create table marts.fct_dispatch_daily as select * from (values "
        "(date '2021-02-01', 'vaccination', 1, 'Luxembourg', 'Luxembourg', '80-84', 'fr', '1', 7, 7, 7, 0, 2, 1, 0),"
        "(date '2021-02-01', 'vaccination', 1, 'Luxembourg', 'Hesperange', '80-84', 'de', '1', 1, 1, 1, 0, 0, 0, 0),"
        "(date '2021-02-01', 'vaccination', 1, 'Esch-sur-Alzette', 'Esch-sur-Alzette', '80-84', 'fr', '1', "
        "30, 30, 30, 1, 10, 8, 1)) "
        "as t(day, campaign, dose, canton, commune, age_band, language, phase, invited, printed, mailed, returned, "
        "booked, vaccinated, reprinted)"
    )
    con.execute(
        "create table marts.fct_campaign_progress as select * from (values "
        "(date '2021-02-01', 'vaccination', '80-84', 'Luxembourg', 100, 8, 2, 1, 0.01),"
        "(date '2021-02-01', 'vaccination', '80-84', 'Esch-sur-Alzette', 200, 30, 10, 8, 0.04)) "
        "as t(as_of_date, campaign, age_band, canton, eligible, invited, booked, vaccinated, coverage)"
    )
    con.execute(
        "create table marts.fct_returns_by_reason as select * from (values (date '2021-02-01', 'vaccination', "
        "'moved', 1)) as t(day, campaign, reason, returned)"
    )
    con.execute(
        "create table marts.fct_postage_daily as select * from (values (date '2021-02-01', 'vaccination', 38, "
        "0.80::decimal(6,2), 30.40::decimal(12,2))) as t(day, campaign, letters_mailed, price_eur, cost_eur)"
    )
    return con


def test_the_shared_copy_is_coarser_protected_and_private(marts: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    target = tmp_path / "shared" / "convoc_shared.duckdb"
    counts = publish_shared(marts, target)
    assert counts == {f"marts.{t.name}": n for t, n in zip(TABLES, (2, 2, 1, 1), strict=True)}
    assert target.stat().st_mode & 0o777 == 0o600
    with duckdb.connect(str(target), read_only=True) as shared:
        dispatch = shared.execute(
            "select canton, invited, invited_suppressed, booked, booked_suppressed from marts.fct_dispatch_daily "
            "order by canton"
        ).fetchall()
        # Luxembourg's two communes are one canton row (8 invited, shown); 2 + 0 = 2 booked is small, and the
        # other canton's 10 is masked with it.
        assert dispatch == [("Esch-sur-Alzette", 30, None, None, "masked"), ("Luxembourg", 8, None, None, "small")]
        progress = shared.execute(
            "select canton, vaccinated, coverage from marts.fct_campaign_progress order by canton"
        ).fetchall()
        assert progress == [("Esch-sur-Alzette", None, None), ("Luxembourg", None, None)]  # 1 small, 8 masked
        assert shared.execute("select returned, returned_suppressed from marts.fct_returns_by_reason").fetchall() == [
            (None, "small")
        ]
        columns = {c for (c,) in shared.execute("select column_name from duckdb_columns()").fetchall()}
    assert not {"commune", "language", "phase"} & columns

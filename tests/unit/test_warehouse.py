"""convoc.warehouse.ensure_schema: idempotent, and a warehouse made before each core table had one writer is
brought to the current tables with nothing lost."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from convoc import warehouse

LEGACY_INVITATION = """
create table core.fct_invitation (
    invitation_id varchar not null, resident_id bigint not null, campaign varchar not null, dose integer not null,
    attempt integer not null, wave_date date not null, phase varchar not null, booking_code varchar not null,
    valid_from date not null, valid_until date not null, centre varchar not null, language varchar,
    status varchar not null, print_batch varchar, piece_id bigint, return_reason varchar, returned_on date
)
"""


def test_ensure_schema_twice_changes_nothing(tmp_path: Path) -> None:
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        warehouse.ensure_schema(con)
        catalog = "select table_name, column_name, data_type from duckdb_columns() order by all"
        before = con.execute(catalog).fetchall()
        warehouse.ensure_schema(con)
        assert con.execute(catalog).fetchall() == before


def test_the_reference_tables_hold_the_package_files_as_convoc_reference_reads_them(tmp_path: Path) -> None:
    # DuckDB reads the shipped CSV files itself (no polars in the tasks that only write the warehouse): the same rows,
    # types and nulls as convoc.reference's frames, which the campaigns and the generator use.
    import polars as pl
    from polars.testing import assert_frame_equal

    from convoc import reference

    with warehouse.connect(tmp_path / "w.duckdb") as con:
        warehouse.ensure_schema(con)
        communes = warehouse.query(con, "select * from core.ref_commune")
        postcodes = warehouse.query(con, "select * from core.ref_postcode")
    expected = reference.postcodes().select(
        ("L-" + pl.col("postcode")).alias("postcode"),
        "postal_locality",
        pl.col("commune_2021").alias("commune"),
        "canton",
    )
    assert (communes.height, postcodes.height) == (102, 4165)
    assert communes.schema["population_2021"] == pl.Int64
    assert_frame_equal(communes.sort("commune"), reference.communes().sort("commune"))
    assert_frame_equal(postcodes.sort("postcode"), expected.sort("postcode"))
    assert postcodes["commune"].null_count() == expected["commune"].null_count()


def test_a_legacy_warehouse_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "legacy.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema core")
        con.execute(LEGACY_INVITATION)
        con.execute(
            "insert into core.fct_invitation values "
            "('vaccination:1:1:1', 1, 'vaccination', 1, 1, date '2021-01-29', '2a', 'A', date '2021-01-30', "
            "date '2021-02-12', 'c1', 'fr', 'open', 'J20210129-0001', 7, 'moved', date '2021-02-03'), "
            "('vaccination:1:2:1', 2, 'vaccination', 1, 1, date '2021-01-29', '2a', 'B', date '2021-01-30', "
            "date '2021-02-12', 'c1', 'de', 'open', null, null, null, null)"
        )
    with warehouse.connect(path) as con:
        warehouse.ensure_schema(con)
        columns = con.execute(
            "select column_name from duckdb_columns() where table_name = 'fct_invitation' order by column_index"
        ).fetchall()
        assert [c for (c,) in columns][-4:] == ["centre", "language", "channel", "format"]
        assert con.execute("select * from core.fct_print_batch_letter").fetchall() == [
            (date(2021, 1, 29), "J20210129", "J20210129-0001", 7, "vaccination:1:1:1")
        ]
        assert con.execute(
            "select invitation_id, status, print_batch, piece_id from core.dim_invitation_current order by 1"
        ).fetchall() == [("vaccination:1:1:1", "open", "J20210129-0001", 7), ("vaccination:1:2:1", "open", None, None)]
        warehouse.ensure_schema(con)  # nothing left to migrate
        assert con.execute("select count(*) from core.fct_print_batch_letter").fetchall() == [(1,)]


def test_a_stale_attempt_cannot_write_after_a_newer_one(tmp_path: Path) -> None:
    # Attempt 1 was declared lost and retried; attempt 2 wrote. Attempt 1, still running, tries to land its
    # late write: refused, rolled back, the retry's rows stay. Another task instance is not concerned.
    from convoc.warehouse import StaleWriter, connect, transaction, writer

    task = "letters_render.record_batches[-1] scheduled__2021-01-29"
    with connect(tmp_path / "w.duckdb") as con:
        con.execute("create table t (who varchar)")
        with writer(task, 2), transaction(con):
            con.execute("insert into t values ('retry')")
        stale = pytest.raises(StaleWriter, match=r"attempt 1 is stale, attempt 2 has written since")
        with stale, writer(task, 1), transaction(con):
            con.execute("insert into t values ('zombie')")
        with writer(task, 2), transaction(con):  # the same attempt again (a second transaction): fine
            con.execute("insert into t values ('retry, later')")
        with writer("letters_render.record_batches[-1] scheduled__2021-01-30", 1), transaction(con):
            con.execute("insert into t values ('other day')")
        with transaction(con):  # outside Airflow (the CLI, tests): not fenced
            con.execute("insert into t values ('cli')")
        assert [w for (w,) in con.execute("select who from t").fetchall()] == [
            "retry",
            "retry, later",
            "other day",
            "cli",
        ]
        assert con.execute("select attempt from audit.writer_fence where task_key = $k", {"k": task}).fetchall() == [
            (2,)
        ]

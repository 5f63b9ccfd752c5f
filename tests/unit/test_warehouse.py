"""convoc.warehouse.ensure_schema: idempotent, and a warehouse made before each core table had one writer is
brought to the current tables with nothing lost."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

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
        assert [c for (c,) in columns][-2:] == ["centre", "language"]
        assert con.execute("select * from core.fct_print_batch_letter").fetchall() == [
            (date(2021, 1, 29), "J20210129", "J20210129-0001", 7, "vaccination:1:1:1")
        ]
        assert con.execute(
            "select invitation_id, status, print_batch, piece_id from core.dim_invitation_current order by 1"
        ).fetchall() == [("vaccination:1:1:1", "open", "J20210129-0001", 7), ("vaccination:1:2:1", "open", None, None)]
        warehouse.ensure_schema(con)  # nothing left to migrate
        assert con.execute("select count(*) from core.fct_print_batch_letter").fetchall() == [(1,)]

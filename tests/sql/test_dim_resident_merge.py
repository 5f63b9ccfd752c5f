"""sql/core/dim_resident__merge.sql on an in-memory DuckDB: given staged snapshots, expected versions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import duckdb
import pytest

from convoc import warehouse
from convoc.sources.tables import ensure_source_tables

D1, D2, D3 = date(2021, 2, 1), date(2021, 2, 2), date(2021, 2, 3)


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect()
    warehouse.ensure_schema(c)
    ensure_source_tables(c)
    yield c
    c.close()


def stage(con: duckdb.DuckDBPyConnection, day: date, people: dict[str, str]) -> None:
    """Stage a snapshot: matricule → street (everything else fixed), as the ingest does — the day's register file
    in raw.register and the load log, seen through the view staging.register."""
    name = f"register_{day:%Y%m%d}.csv"
    con.execute("delete from raw.register where _file = $f", {"f": name})
    con.execute("delete from raw.load_log where file_name = $f", {"f": name})
    for line, (m, street) in enumerate(sorted(people.items()), start=2):
        con.execute(
            "insert into raw.register (_file, _line, matricule, family_name, given_name, birth_date, sex, street, "
            "house_number, postcode, locality, commune, nationality, language, status) values ($f, $l, $m, 'Thill', "
            "'Léa', '1950-01-01', 'F', $s, '1', 'L-1009', 'Luxembourg', 'Luxembourg', 'LU', 'fr', 'resident')",
            {"f": name, "l": line, "m": m, "s": street},
        )
    con.execute(
        "insert into raw.load_log values ($f, 'register', $d, 'sha', $n, 0, 'utf-8', now())",
        {"f": name, "d": day, "n": len(people)},
    )


def merge(con: duckdb.DuckDBPyConnection, day: date) -> None:
    warehouse.run_script(con, "core/dim_resident__merge.sql", {"snapshot_date": day})


def versions(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return con.execute(
        "select resident_id, matricule, street, valid_from, valid_to, is_current from core.dim_resident "
        "order by resident_id, valid_from"
    ).fetchall()


def test_first_snapshot_assigns_ids_in_matricule_order(con: duckdb.DuckDBPyConnection) -> None:
    stage(con, D1, {"B": "rue B", "A": "rue A"})
    merge(con, D1)
    assert versions(con) == [(1, "A", "rue A", D1, None, True), (2, "B", "rue B", D1, None, True)]


def test_change_closes_old_version_and_new_resident_gets_next_id(con: duckdb.DuckDBPyConnection) -> None:
    stage(con, D1, {"A": "rue A", "B": "rue B"})
    merge(con, D1)
    stage(con, D2, {"A": "rue A", "B": "rue B2", "C": "rue C"})
    merge(con, D2)
    assert versions(con) == [
        (1, "A", "rue A", D1, None, True),
        (2, "B", "rue B", D1, D2, False),
        (2, "B", "rue B2", D2, None, True),
        (3, "C", "rue C", D2, None, True),
    ]


def test_rerunning_a_day_changes_nothing(con: duckdb.DuckDBPyConnection) -> None:
    stage(con, D1, {"A": "rue A"})
    merge(con, D1)
    stage(con, D2, {"A": "rue A2"})
    merge(con, D2)
    before = versions(con)
    merge(con, D2)
    merge(con, D1)
    assert versions(con) == before


def test_redelivered_day_rewrites_its_own_version(con: duckdb.DuckDBPyConnection) -> None:
    stage(con, D1, {"A": "rue A"})
    merge(con, D1)
    stage(con, D2, {"A": "typo"})
    merge(con, D2)
    stage(con, D2, {"A": "rue A2"})  # corrected file for D2
    merge(con, D2)
    assert versions(con) == [(1, "A", "rue A", D1, D2, False), (1, "A", "rue A2", D2, None, True)]


def test_out_of_order_backfill_inserts_between(con: duckdb.DuckDBPyConnection) -> None:
    stage(con, D1, {"A": "rue A"})
    merge(con, D1)
    stage(con, D3, {"A": "rue A3"})
    merge(con, D3)
    stage(con, D2, {"A": "rue A2", "B": "rue B"})
    merge(con, D2)
    assert versions(con) == [
        (1, "A", "rue A", D1, D2, False),
        (1, "A", "rue A2", D2, D3, False),
        (1, "A", "rue A3", D3, None, True),
        (2, "B", "rue B", D2, None, True),
    ]


def test_backfill_in_order_equals_one_by_one(con: duckdb.DuckDBPyConnection) -> None:
    days = {D1: {"A": "a1", "B": "b1"}, D2: {"A": "a2", "B": "b1", "C": "c"}, D3: {"A": "a2", "B": "b3"}}
    for day, people in days.items():
        stage(con, day, people)
        merge(con, day)
    one_by_one = versions(con)
    other = duckdb.connect()
    warehouse.ensure_schema(other)
    ensure_source_tables(other)
    for day, people in days.items():
        stage(other, day, people)
    for day in days:  # staged first, merged afterwards, like a backfill after a bulk extract
        merge(other, day)
    assert versions(other) == one_by_one
    assert sum(1 for v in one_by_one if v[5]) == 3  # one current version per resident


# --- staging.register: a view of raw.register ---------------------------------------------------------------------


def test_staging_register_shows_each_day_s_register_typed(con: duckdb.DuckDBPyConnection) -> None:
    stage(con, D1, {"A": "rue A", "B": "rue B"})
    stage(con, D2, {"A": "rue A2"})
    assert con.execute(
        "select snapshot_date, source_file, line_number, matricule, street, birth_date from staging.register "
        "order by 1, 3"
    ).fetchall() == [
        (D1, "register_20210201.csv", 2, "A", "rue A", date(1950, 1, 1)),
        (D1, "register_20210201.csv", 3, "B", "rue B", date(1950, 1, 1)),
        (D2, "register_20210202.csv", 2, "A", "rue A2", date(1950, 1, 1)),
    ]


def test_a_day_delivered_again_under_another_name_is_the_file_loaded_last(con: duckdb.DuckDBPyConnection) -> None:
    stage(con, D1, {"A": "rue A", "B": "rue B"})
    con.execute(
        "insert into raw.register (_file, _line, matricule, family_name, given_name, birth_date, sex, street, "
        "house_number, postcode, locality, commune, nationality, language, status) values ('REGISTER_20210201.csv', "
        "2, 'C', 'Thill', 'Léa', '1950-01-01', 'F', 'rue C', '1', 'L-1009', 'Luxembourg', 'Luxembourg', 'LU', 'fr', "
        "'resident')"
    )
    con.execute(
        "insert into raw.load_log values ('REGISTER_20210201.csv', 'register', $d, 'sha2', 1, 0, 'utf-8', "
        "now() + interval 1 minute)",
        {"d": D1},
    )
    assert con.execute("select source_file, matricule from staging.register").fetchall() == [
        ("REGISTER_20210201.csv", "C")
    ]


def test_a_warehouse_with_a_staged_copy_gets_the_view() -> None:
    """Warehouses made before the view held staging.register as a table (a copy of raw.register's rows)."""
    c = duckdb.connect()
    warehouse.ensure_schema(c)
    c.execute("create table staging.register (snapshot_date date, matricule varchar)")
    c.execute("insert into staging.register values (date '2021-02-01', 'A')")
    ensure_source_tables(c)
    ensure_source_tables(c)  # idempotent
    kind = "select table_type from information_schema.tables where table_schema = 'staging' and table_name = 'register'"
    assert c.execute(kind).fetchall() == [("VIEW",)]
    stage(c, D1, {"B": "rue B"})
    assert c.execute("select matricule from staging.register").fetchall() == [("B",)]
    c.close()

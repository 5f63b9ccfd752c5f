"""Reconciliation: the tiny warehouse of tests/sql/test_marts.py passes; each rule, broken once, fails the
check with an error naming that rule (and only that rule) with its numbers."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from convoc.errors import ConvocError
from convoc.stats.reconcile import ReconciliationFailed, check, reconcile

# The hand-built warehouse of the marts tests (one source of truth for the tiny case).
_spec = importlib.util.spec_from_file_location("marts_case", Path(__file__).parents[2] / "sql" / "test_marts.py")
assert _spec and _spec.loader
case = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(case)

DAY = date(2021, 2, 10)


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect() as con:
        case.build_warehouse(con)
        case.build(con, DAY)
        yield con


def test_a_consistent_warehouse_passes(con: duckdb.DuckDBPyConnection) -> None:
    assert check(con, DAY) == []
    assert reconcile(con, DAY) == {"invitations": 5, "mailed": 5}


BREAKS = {
    "invited = sum of dispatch rows": (
        "insert into core.fct_invitation (invitation_id, resident_id, campaign, dose, attempt, wave_date, phase, "
        "booking_code, valid_from, valid_until, centre) values ('vaccination:1:6:1', 6, 'vaccination', 1, 1, "
        "date '2021-02-01', '6', 'C', date '2021-02-01', date '2021-02-15', 'c1')",
        "wave 2021-02-01: core.fct_invitation 5, marts.fct_dispatch_daily 4",
    ),
    "mailed <= printed": (
        "update marts.fct_dispatch_daily set mailed = printed + 1 where phase = '2a'",
        "wave 2021-02-01: 4 pieces mailed of 5 printed (mart: 6 invitations mailed, 4 printed)",
    ),
    "printed <= invited + reprints": (
        "insert into core.fct_print_piece values ('J20210201', 'J20210201', 9, 'vaccination:1:1:1', 'f.pdf', 1, 1, "
        "false)",
        "wave 2021-02-01: 6 pieces printed > 4 invited + 1 reprints",
    ),
    "booked <= invited": (
        "insert into core.fct_booking values ('X', 'vaccination:9:9:9', timestamp '2021-02-05 10:00', 'c1', "
        "timestamp '2021-02-06 10:00', null, 'b.csv')",
        "1 booking(s) of no invitation",
    ),
    "mailed piece = one invitation": (
        "insert into core.fct_print_event values ('J20210201', 'J20210201', 50, 'vaccination:1:1:1', 'mailed', "
        "date '2021-02-02', 'c.csv')",
        "J20210201 piece 50: 0 piece record(s), 0 invitation(s)",
    ),
}


@pytest.mark.parametrize("rule", sorted(BREAKS))
def test_each_rule_names_itself(con: duckdb.DuckDBPyConnection, rule: str) -> None:
    statement, numbers = BREAKS[rule]
    con.execute(statement)
    with pytest.raises(ReconciliationFailed) as raised:
        reconcile(con, DAY)
    assert isinstance(raised.value, ConvocError)
    assert [v.rule for v in raised.value.violations] == [rule]
    assert rule in str(raised.value) and numbers in str(raised.value)


def test_a_piece_mailed_twice(con: duckdb.DuckDBPyConnection) -> None:
    # The print shop reports the spoiled first print of piece 2 as mailed too: two letters for one invitation.
    con.execute("update core.fct_print_event set status = 'mailed' where job_id = 'J20210201' and piece_id = 2")
    [violation] = check(con, DAY)
    assert violation.rule == "mailed piece = one invitation"
    assert "J20210201 piece 2 mailed 2 times" in violation.detail


def test_only_days_up_to_the_day_count(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "insert into core.fct_print_event values ('J20210201', 'J20210201', 50, 'vaccination:1:1:1', 'mailed', "
        "date '2021-02-20', 'c.csv')"
    )
    assert check(con, DAY) == []
    assert [v.rule for v in check(con, date(2021, 2, 20))] == ["mailed piece = one invitation"]

"""Print-shop feedback through ingest: confirmations and returned mail, checked against delivered jobs."""

from __future__ import annotations

import csv
import stat
from datetime import date, timedelta

import duckdb
import pytest
from conftest import person, write_register

from convoc import ingest, warehouse
from convoc.config import Settings

DAY = date(2021, 2, 1)


def _run(settings: Settings, day: date) -> dict[str, ingest.Loaded]:
    write_register(settings.landing / f"register_{day:%Y%m%d}.csv", [person(1), person(2), person(3)])
    extracted = ingest.extract_day(settings, day)
    verdicts = ingest.validate_day(settings, extracted, day)
    return {x.source: x for x in ingest.load_day(settings, extracted, verdicts, day)}


def _query(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture
def delivered(settings: Settings) -> Settings:
    """Job J20210201 delivered with pieces 1–3 (invitations of residents 1–3) and its reprint of piece 2."""
    _run(settings, DAY - timedelta(days=1))
    with warehouse.connect(settings.warehouse) as con:
        warehouse.ensure_schema(con)
        con.execute(
            "insert into core.fct_print_job values "
            "('J20210201', 'J20210201', 'J20210201', 'original', '2021-02-01', 1, 3, 3, 3, 'x', 'local', now()), "
            "('J20210201-R1', 'J20210201', 'J20210201-R1', 'reprint', '2021-02-02', 1, 1, 1, 1, 'y', 'local', now())"
        )
        con.execute(
            "insert into core.fct_print_piece values "
            "('J20210201', 'J20210201', 1, 'vaccination:1:1:1', 'J20210201-0001.pdf', 1, 1, false), "
            "('J20210201', 'J20210201', 2, 'vaccination:1:2:1', 'J20210201-0001.pdf', 2, 1, false), "
            "('J20210201', 'J20210201', 3, 'vaccination:1:3:1', 'J20210201-0001.pdf', 3, 1, false), "
            "('J20210201-R1', 'J20210201', 2, 'vaccination:1:2:1', 'J20210201-R1-0001.pdf', 1, 1, true)"
        )
    return settings


def _confirm(settings: Settings, day: date, rows: str) -> None:
    (settings.landing / f"print_confirm_{day:%Y%m%d}.csv").write_text("job_id,piece_id,status,event_date\n" + rows)


def _returns(settings: Settings, day: date, rows: str) -> None:
    (settings.landing / f"returns_{day:%Y%m%d}.csv").write_text("job_id,piece_id,reason,returned_on\n" + rows)


def test_confirmations_load_and_unknown_jobs_or_pieces_are_quarantined(delivered: Settings) -> None:
    day = DAY + timedelta(days=1)
    _confirm(
        delivered,
        day,
        "J20210201,1,mailed,2021-02-01\n"
        "J20210201,2,spoiled,2021-02-01\n"
        "J20210201,3,mailed,2021-02-01\n"
        "J20210131,1,mailed,2021-02-01\n"  # a job never delivered
        "J20210201,4,mailed,2021-02-01\n"  # a piece the job does not carry
        "J20210201,x,mailed,2021-02-01\n"
        "J20210201,1,lost,2021-02-01\n"
        "J20210201,1,mailed,2021-02-09\n",  # after the file's day
    )
    loaded = _run(delivered, day)["print_confirm"]
    assert (loaded.rows, loaded.staged_rows, loaded.rejected_rows) == (8, 3, 5)
    assert _query(delivered, "select line_number, rule from quarantine.print_confirm_rejects order by 1, 2") == [
        (5, "unknown_job"), (6, "unknown_piece"), (7, "not_an_integer"), (8, "invalid_value"),
        (9, "event_date_future")]  # fmt: skip
    assert _query(delivered, "select piece_id, invitation_id, status from core.fct_print_event order by 1") == [
        (1, "vaccination:1:1:1", "mailed"),
        (2, "vaccination:1:2:1", "spoiled"),
        (3, "vaccination:1:3:1", "mailed"),
    ]


def test_the_same_confirmation_twice_counts_once(delivered: Settings) -> None:
    day = DAY + timedelta(days=1)
    _confirm(delivered, day, "J20210201,1,mailed,2021-02-01\nJ20210201,1,mailed,2021-02-01\n")
    _run(delivered, day)
    _run(delivered, day)  # the same file again: load_log skips it
    later = day + timedelta(days=1)
    _confirm(delivered, later, "J20210201,1,mailed,2021-02-01\nJ20210201-R1,2,mailed,2021-02-02\n")
    _run(delivered, later)  # the same piece reported again in another file
    assert _query(delivered, "select job_id, piece_id, count(*) from core.fct_print_event group by all order by 1") == [
        ("J20210201", 1, 1),
        ("J20210201-R1", 2, 1),
    ]


def test_returns_flag_mailed_pieces_and_quarantine_the_others(delivered: Settings) -> None:
    day = DAY + timedelta(days=1)
    _confirm(delivered, day, "J20210201,1,mailed,2021-02-01\nJ20210201,2,spoiled,2021-02-01\n")
    _run(delivered, day)
    later = day + timedelta(days=3)
    _returns(
        delivered,
        later,
        "J20210201,1,moved,2021-02-04\n"
        "J20210201,2,unknown_address,2021-02-04\n"  # spoiled, never mailed
        "J20210201,3,deceased,2021-02-04\n"  # not (yet) confirmed as mailed
        "J20210201,1,eaten_by_dog,2021-02-04\n",
    )
    loaded = _run(delivered, later)["returns"]
    assert (loaded.staged_rows, loaded.rejected_rows) == (1, 3)
    assert _query(delivered, "select line_number, rule from quarantine.returns_rejects order by 1") == [
        (3, "never_mailed"),
        (4, "never_mailed"),
        (5, "invalid_value"),
    ]
    assert _query(delivered, "select origin_job_id, piece_id, invitation_id, reason from core.fct_return") == [
        ("J20210201", 1, "vaccination:1:1:1", "moved")
    ]


def test_returned_letters_flag_their_invitation_and_reach_the_address_check_list(delivered: Settings) -> None:
    from convoc.handoff.address_checks import write_address_checks

    with warehouse.connect(delivered.warehouse) as con:
        con.execute(
            "insert into core.fct_invitation (invitation_id, resident_id, campaign, dose, attempt, wave_date, phase, "
            "booking_code, valid_from, valid_until, centre, language) values "
            "('vaccination:1:1:1', 1, 'vaccination', 1, 1, '2021-01-31', '2a', 'C1', '2021-02-01', '2021-02-14', "
            "'victor_hugo', 'fr'), "
            "('vaccination:1:3:1', 3, 'vaccination', 1, 1, '2021-01-31', '2a', 'C3', '2021-02-01', '2021-02-14', "
            "'victor_hugo', 'fr')"
        )
    day = DAY + timedelta(days=1)
    _confirm(delivered, day, "J20210201,1,mailed,2021-02-01\nJ20210201,3,mailed,2021-02-01\n")
    _run(delivered, day)
    later = day + timedelta(days=3)
    _returns(delivered, later, "J20210201,1,moved,2021-02-04\n")
    _run(delivered, later)
    assert _query(
        delivered, "select invitation_id, return_reason, returned_on from core.dim_invitation_current order by 1"
    ) == [
        ("vaccination:1:1:1", "moved", date(2021, 2, 4)),
        ("vaccination:1:3:1", None, None),
    ]
    # Whatever the register let through, a name that a spreadsheet would run as a formula (DDE) is listed as text.
    injection = "=cmd|' /C calc'!A0"
    with warehouse.connect(delivered.warehouse) as con:
        con.execute(
            "update core.dim_resident set family_name = ?, given_name = ? where matricule = ?",
            [injection, "-Inês", person(1)["matricule"]],
        )
    out = delivered.reports / "address_check"
    with warehouse.connect(delivered.warehouse, read_only=True) as con:
        path, rows = write_address_checks(con, later, out)
        _, none_before = write_address_checks(con, day, out)
    with path.open(newline="", encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert rows == 1 and none_before == 0 and len(table) == 1
    [row] = table
    assert row["matricule"] == person(1)["matricule"] and row["reason"] == "moved" and row["piece_id"] == "1"
    assert row["street"] == person(1)["street"] and row["job_id"] == "J20210201"
    assert row["family_name"] == "'" + injection and row["given_name"] == "'-Inês"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(out.stat().st_mode) == 0o700


def _pending(settings: Settings) -> list[tuple[object, ...]]:
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        rows = warehouse.query(con, warehouse.select("intermediate/int_print__pending_reprints.sql"))
    return list(rows.iter_rows())


def test_pending_reprints_follow_each_piece_to_its_latest_print(delivered: Settings) -> None:
    with warehouse.connect(delivered.warehouse) as con:  # only the original job delivered so far
        con.execute("delete from core.fct_print_piece where job_id = 'J20210201-R1'")
        con.execute("delete from core.fct_print_job where job_id = 'J20210201-R1'")
    day = DAY + timedelta(days=1)
    _confirm(delivered, day, "J20210201,1,mailed,2021-02-01\nJ20210201,2,spoiled,2021-02-01\n")
    _run(delivered, day)
    assert _pending(delivered) == [("J20210201", 2, "vaccination:1:2:1", "J20210201-R1")]

    with warehouse.connect(delivered.warehouse) as con:  # the reprint is delivered: nothing pending
        con.execute(
            "insert into core.fct_print_job values ('J20210201-R1', 'J20210201', 'J20210201-R1', 'reprint', "
            "'2021-02-02', 1, 1, 1, 1, 'y', 'local', now() + interval 1 hour)"
        )
        con.execute(
            "insert into core.fct_print_piece values "
            "('J20210201-R1', 'J20210201', 2, 'vaccination:1:2:1', 'J20210201-R1-0001.pdf', 1, 1, true)"
        )
    assert _pending(delivered) == []

    later = day + timedelta(days=1)  # the reprint is spoiled too: a second reprint
    _confirm(delivered, later, "J20210201-R1,2,spoiled,2021-02-02\n")
    _run(delivered, later)
    assert _pending(delivered) == [("J20210201", 2, "vaccination:1:2:1", "J20210201-R2")]

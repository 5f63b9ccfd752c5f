"""Retention's audit trail: every deletion is logged before it happens, so no file is ever deleted unlogged; a run
cut short is completed by its retry, which logs nothing twice. (The whole retention on a real day:
tests/e2e/test_print_loop.py.)"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import pytest

from convoc import warehouse
from convoc.config import Settings
from convoc.housekeeping import remove, sweep

DAY = date(2021, 3, 15)  # the retention (30 days) reaches back to 2021-02-13


def _old(root: Path, relative: str, content: str = "Gonçalves, 12 rue de la Gare") -> None:
    """A file holding personal data under ``root``, it and its folders last changed on 2021-01-29."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    stamp = datetime(2021, 1, 29).timestamp()
    while path != root:
        os.utime(path, (stamp, stamp))
        path = path.parent


@pytest.fixture
def past(settings: Settings) -> list[Path]:
    """A working folder and a day's Data Docs, both past the retention on DAY; and a recent working folder."""
    _old(settings.work, "register_ingest/20210129/register.parquet")
    _old(settings.quality_docs, "20210129/manual/index.html")
    (settings.work / "letters_render").mkdir(parents=True)
    (settings.work / "letters_render" / "recent").write_text("x")  # changed today: kept
    return [settings.work / "register_ingest", settings.quality_docs / "20210129"]


def _log(con: object) -> list[tuple[object, ...]]:
    return con.execute("select run_day, kind, item from audit.deletion_log order by item").fetchall()  # type: ignore[attr-defined]


def test_a_deletion_is_logged_before_it_happens_and_a_retry_completes_it_logging_once(
    settings: Settings, past: list[Path]
) -> None:
    expected = [(DAY, "data_docs", "reports/quality/20210129"), (DAY, "work_folder", "work/register_ingest")]
    with warehouse.connect(settings.warehouse) as con:
        warehouse.ensure_schema(con)
        with warehouse.transaction(con):
            found = sweep(con, settings, DAY)
        # The task dies here, after the commit, before remove(): logged, not yet deleted — never the other way.
        assert _log(con) == expected
        assert all(path.exists() for path in past)

        with warehouse.transaction(con):  # its retry, the same run day
            again = sweep(con, settings, DAY)
        assert [(d.kind, d.item) for d in again] == [(d.kind, d.item) for d in found]
        remove(again)
        assert not any(path.exists() for path in past)
        assert (settings.work / "letters_render" / "recent").exists()
        assert _log(con) == expected  # logged once

        with warehouse.transaction(con):  # nothing left to delete
            assert sweep(con, settings, DAY) == []
        remove([])


def test_a_sweep_rolled_back_logs_nothing_and_deletes_nothing(settings: Settings, past: list[Path]) -> None:
    with warehouse.connect(settings.warehouse) as con:
        warehouse.ensure_schema(con)
        with pytest.raises(RuntimeError), warehouse.transaction(con):
            sweep(con, settings, DAY)
            raise RuntimeError("the task was killed before its commit")
        assert _log(con) == []
    assert all(path.exists() for path in past)


def test_a_dry_run_lists_and_neither_logs_nor_deletes(settings: Settings, past: list[Path]) -> None:
    with warehouse.connect(settings.warehouse) as con:
        warehouse.ensure_schema(con)
        with warehouse.transaction(con):
            listed = sweep(con, settings, DAY, dry_run=True)
        assert [d.kind for d in listed] == ["work_folder", "data_docs"]
        assert listed[0].files == 1 and listed[0].bytes == len("Gonçalves, 12 rue de la Gare".encode())
        assert _log(con) == []
    assert all(path.exists() for path in past)

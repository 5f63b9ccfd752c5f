"""The print shop's cut-off: 14:00 in Luxembourg whatever the season, the job READY from its receipt, a day
without letters owing nothing, and the deadline missed only once the cut-off has passed."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from convoc.handoff.deadline import DeadlineMissed, check, cutoff, job_status

AT, ZONE = time(14, 0), "Europe/Luxembourg"
WINTER, SUMMER = date(2021, 1, 29), date(2021, 6, 29)


def test_the_cutoff_follows_luxembourgs_clock() -> None:
    assert cutoff(WINTER, AT, ZONE).astimezone(UTC) == datetime(2021, 1, 29, 13, 0, tzinfo=UTC)
    assert cutoff(SUMMER, AT, ZONE).astimezone(UTC) == datetime(2021, 6, 29, 12, 0, tzinfo=UTC)


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    """A landing folder with the register of 2021-01-29 and 2021-01-30."""
    folder = tmp_path / "landing"
    folder.mkdir()
    for day in ("20210129", "20210130"):
        (folder / f"register_{day}.csv").write_text("matricule\n")
    return folder


def test_pending_before_the_cutoff_missed_after(tmp_path: Path, landing: Path) -> None:
    before = datetime(2021, 1, 29, 12, 59, tzinfo=UTC)
    after = datetime(2021, 1, 29, 13, 0, tzinfo=UTC)
    assert job_status(tmp_path, landing, WINTER) == "pending"
    assert check(tmp_path, landing, WINTER, AT, ZONE, before) is False
    with pytest.raises(DeadlineMissed, match=r"J20210129 is not READY at the print shop's cut-off 2021-01-29 14:00"):
        check(tmp_path, landing, WINTER, AT, ZONE, after)


def test_a_ready_job_or_a_day_without_letters_owes_nothing(tmp_path: Path, landing: Path) -> None:
    late = datetime(2021, 1, 30, 9, 0, tzinfo=UTC)
    (tmp_path / "deliveries").mkdir()
    (tmp_path / "deliveries" / "J20210129.json").write_text("{}")
    assert job_status(tmp_path, landing, WINTER) == "ready" and check(tmp_path, landing, WINTER, AT, ZONE, late)
    (tmp_path / "20210130" / "batches").mkdir(parents=True)
    assert job_status(tmp_path, landing, date(2021, 1, 30)) == "no_letters"
    (tmp_path / "20210130" / "batches" / "J20210130-0001.parquet").write_bytes(b"")
    assert job_status(tmp_path, landing, date(2021, 1, 30)) == "pending"  # letters cut, no job delivered yet
    (tmp_path / "deliveries" / "J20210130-R1.json").write_text("{}")  # a reprint is not the day's job
    assert job_status(tmp_path, landing, date(2021, 1, 30)) == "pending"
    # No landing file at all for the day (a Sunday): the chain skips it, no job is owed.
    assert job_status(tmp_path, landing, date(2021, 1, 31)) == "no_input"
    assert check(tmp_path, landing, date(2021, 1, 31), AT, ZONE, datetime(2021, 2, 1, tzinfo=UTC)) is True

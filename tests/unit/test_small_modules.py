from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from convoc.config import Settings
from convoc.errors import ConvocError
from convoc.privacy import mask_value
from convoc.runtime import resolve_day, run_day


@pytest.mark.parametrize(
    ("value", "personal", "expected"),
    [
        ("Jo\x07ão", True, "Xx\\x07xx"),
        ("31/02/1985", True, "99/99/9999"),
        ("Luxemburg-Stadt", False, "Luxemburg-Stadt"),
        ("L-00\x1b0", False, "L-00\\x1b0"),
        (None, True, None),
        (float("nan"), False, None),
        ("x" * 100, False, "x" * 64 + "…"),
        ("Mül\u200bler", True, "Xxx\\u200bxxx"),
        ("y" * 20_000, True, "x" * 64 + "…"),
    ],
)
def test_mask_value(value: object, personal: bool, expected: str | None) -> None:
    assert mask_value(value, personal) == expected


def test_settings_defaults_and_overrides(tmp_path: Path) -> None:
    s = Settings.from_env({"CONVOC_HOME": str(tmp_path)})
    assert s.warehouse == tmp_path / "warehouse" / "convoc.duckdb"
    assert s.landing == tmp_path / "landing"
    assert s.quality_docs == tmp_path / "reports" / "quality"
    assert s.max_row_change == 0.05
    s = Settings.from_env(
        {"CONVOC_HOME": str(tmp_path), "CONVOC_WAREHOUSE": "/w.duckdb", "CONVOC_MAX_ROW_CHANGE": "0.2"}
    )
    assert (s.warehouse, s.max_row_change) == (Path("/w.duckdb"), 0.2)


def test_default_home_is_the_checkout_var() -> None:
    assert Settings.from_env({}).home == Path(__file__).resolve().parents[2] / "var"


@pytest.mark.parametrize("name", ["CONVOC_MAX_ROW_CHANGE", "CONVOC_MAX_MALFORMED_SHARE"])
@pytest.mark.parametrize("bad", ["five", "1.5", "-0.1"])
def test_settings_reject_bad_shares(name: str, bad: str) -> None:
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: bad})


@pytest.mark.parametrize("bad", ["thirty", "0", "-1", "2.5"])
def test_settings_reject_a_bad_retention(bad: str) -> None:
    with pytest.raises(ValueError, match="CONVOC_RETENTION_DAYS must be a"):
        Settings.from_env({"CONVOC_RETENTION_DAYS": bad})


@pytest.mark.parametrize("bad", ["many", "0", "-5", "2.5"])
def test_settings_reject_a_bad_batch_size(bad: str) -> None:
    with pytest.raises(ValueError, match=r"CONVOC_BATCH_SIZE must be a (whole )?number"):
        Settings.from_env({"CONVOC_BATCH_SIZE": bad})


def test_batch_size_setting() -> None:
    assert Settings.from_env({}).batch_size == 5000
    assert Settings.from_env({"CONVOC_BATCH_SIZE": "10000"}).batch_size == 10_000


@pytest.mark.parametrize("bad", ["lots", "999", "-5", "2500.5"])
def test_settings_reject_a_bad_ingest_chunk(bad: str) -> None:
    with pytest.raises(ValueError, match=r"CONVOC_INGEST_CHUNK_ROWS must be a (whole )?number"):
        Settings.from_env({"CONVOC_INGEST_CHUNK_ROWS": bad})
    assert Settings.from_env({}).ingest_chunk_rows == 350_000
    assert Settings.from_env({"CONVOC_INGEST_CHUNK_ROWS": "50000"}).ingest_chunk_rows == 50_000


def test_retention_settings(tmp_path: Path) -> None:
    assert Settings.from_env({"CONVOC_HOME": str(tmp_path)}).retention_days == 30
    assert Settings.from_env({"CONVOC_RETENTION_DAYS": "90"}).retention_days == 90
    assert Settings.from_env({"CONVOC_HOME": str(tmp_path)}).audit == tmp_path.resolve() / "audit"


def test_front_door_settings(tmp_path: Path) -> None:
    s = Settings.from_env({"CONVOC_HOME": str(tmp_path)})
    assert (s.max_malformed_share, s.ready_markers, s.keep_work) == (0.01, frozenset(), False)
    assert not s.requires_marker("register")
    s = Settings.from_env(
        {"CONVOC_MAX_MALFORMED_SHARE": "0.05", "CONVOC_READY_MARKERS": " Register, bookings ", "CONVOC_KEEP_WORK": "1"}
    )
    assert (s.max_malformed_share, s.keep_work) == (0.05, True)
    assert s.requires_marker("register") and s.requires_marker("bookings") and not s.requires_marker("returns")
    assert Settings.from_env({"CONVOC_READY_MARKERS": "all"}).requires_marker("returns")


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"partition_key": "2021-02-03"}, date(2021, 2, 3)),
        ({"partition_key": "2021-02-03T00:00:00"}, date(2021, 2, 3)),
        ({"dag_run": SimpleNamespace(partition_key="2021-02-04")}, date(2021, 2, 4)),
        ({"logical_date": datetime(2021, 2, 5, 0, 0)}, date(2021, 2, 5)),
        ({"params": {"day": "2021-02-06"}, "logical_date": datetime(2021, 2, 5)}, date(2021, 2, 6)),
        ({"params": {"day": None}, "partition_key": None, "logical_date": datetime(2021, 2, 5)}, date(2021, 2, 5)),
    ],
)
def test_resolve_day(context: dict[str, object], expected: date) -> None:
    assert resolve_day(context) == expected


def test_run_day_from_what_airflow_stores() -> None:
    """A run's day as the control room reads it from Airflow's metadata: conf, partition key, logical date."""
    assert run_day({"day": "2021-02-01"}, "2021-01-31", datetime(2021, 1, 30, tzinfo=UTC)) == date(2021, 2, 1)
    assert run_day({}, "2021-01-31", None) == date(2021, 1, 31)
    assert run_day(None, None, datetime(2021, 1, 30, tzinfo=UTC)) == date(2021, 1, 30)
    assert run_day({"day": None}, None, None) is None
    assert run_day({"day": "soon"}, "2021-01-31", None) is None


def test_resolve_day_without_any_day_says_what_to_do() -> None:
    with pytest.raises(ConvocError, match="trigger it with the param day=YYYY-MM-DD"):
        resolve_day({"params": {"day": None}, "logical_date": None})
    with pytest.raises(ConvocError, match="cannot read a day from 'soon'"):
        resolve_day({"params": {"day": "soon"}})

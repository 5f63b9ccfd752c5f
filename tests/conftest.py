"""Test environment: a private AIRFLOW_HOME and CONVOC_HOME, never the developer's own.

Set before anything imports Airflow, which reads its configuration once at import.
"""

from __future__ import annotations

import contextlib
import csv
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="convoc-airflow-"))
os.environ.update(
    AIRFLOW_HOME=str(_AIRFLOW_HOME),
    AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
    AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
    AIRFLOW__CORE__UNIT_TEST_MODE="True",
    AIRFLOW__API_AUTH__JWT_SECRET="convoc-tests-" + "0" * 51,  # 64 bytes, as a real deployment has
)
os.environ.pop("CONVOC_HOME", None)
os.environ.pop("CONVOC_WAREHOUSE", None)

REGISTER_HEADER = [
    "matricule",
    "family_name",
    "given_name",
    "birth_date",
    "sex",
    "street",
    "house_number",
    "postcode",
    "locality",
    "commune",
    "nationality",
    "language",
    "status",
]


def matricule(birth: str, serial: int) -> str:
    """A valid matricule for birth date YYYYMMDD and a serial, check digits by python-stdnum."""
    from stdnum import luhn, verhoeff

    head = f"{birth}{serial:03d}"
    return head + luhn.calc_check_digit(head) + verhoeff.calc_check_digit(head)


def person(serial: int, **overrides: str) -> dict[str, str]:
    """A valid register row; ``overrides`` damage or change single fields."""
    row = {
        "matricule": matricule("19500314", serial),
        "family_name": "Gonçalves",
        "given_name": "Inês",
        "birth_date": "1950-03-14",
        "sex": "F",
        "street": "rue de la Gare",
        "house_number": str(serial),
        "postcode": "L-1009",
        "locality": "Luxembourg",
        "commune": "Luxembourg",
        "nationality": "PT",
        "language": "pt",
        "status": "resident",
    }
    row.update(overrides)
    return row


def write_register(
    path: Path,
    rows: list[dict[str, str]],
    *,
    encoding: str = "utf-8",
    newline: str = "\n",
    header: list[str] | None = None,
    delimiter: str = ",",
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = header or REGISTER_HEADER
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.DictWriter(
            f, fieldnames=header, lineterminator=newline, delimiter=delimiter, extrasaction="ignore"
        )
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(autouse=True)
def _umask_restored() -> Iterator[None]:
    """convoc's stages make their process's files owner-only (umask 077); a test leaves the umask as it found it."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield
    os.umask(previous)


@pytest.fixture
def convoc_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "var"
    monkeypatch.setenv("CONVOC_HOME", str(home))
    return home


@pytest.fixture
def settings(convoc_home: Path):  # type: ignore[no-untyped-def]
    from convoc.config import Settings

    return Settings.from_env()


DAY = date(2021, 1, 29)


def run_dag(dag, day: date, **conf: object) -> str:  # type: ignore[no-untyped-def]
    """Run ``dag`` for ``day`` with ``dag.test()`` (the day as its logical date, ``conf`` as params); its final
    state, e.g. ``"success"``. Every end-to-end test runs the DAGs this way."""
    import pendulum

    logical_date = pendulum.datetime(day.year, day.month, day.day, tz="UTC")
    return str(dag.test(logical_date=logical_date, run_conf=conf or None).state)


@pytest.fixture(scope="session")
def dagbag(airflow_db: Path):  # type: ignore[no-untyped-def]
    """The project's DAGs by id, parsed once (``DagBag`` over ``dags/``)."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags")).dags


@pytest.fixture(scope="session")
def airflow_db() -> Iterator[Path]:
    """A migrated SQLite metadata database with the pools the DAGs use."""
    airflow = [sys.executable, "-m", "airflow"]
    subprocess.run([*airflow, "db", "migrate"], check=True, capture_output=True)
    subprocess.run([*airflow, "pools", "set", "warehouse", "1", "one DuckDB writer"], check=True, capture_output=True)
    yield _AIRFLOW_HOME


@pytest.fixture(scope="session")
def airflow_api(airflow_db: Path):  # type: ignore[no-untyped-def]
    """Airflow's API server app (plugins mounted, as ``airflow api-server`` serves it) in a test client, and a
    token of a logged-in admin of its auth manager (the simple auth manager of a test installation)."""
    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    client = TestClient(create_app())
    token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
    return client, token


class SmtpSink:
    """What a real SMTP server (aiosmtpd) received: (envelope recipients, parsed message) per message."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Any]] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        import email
        import email.policy

        self.messages.append(
            (list(envelope.rcpt_tos), email.message_from_bytes(envelope.content, policy=email.policy.default))
        )
        return "250 OK"


ALERT_TO = ("oncall@example.org", "backup@example.org")


def smtp_connection(port: int) -> str:
    """The Airflow connection ``convoc_smtp`` (as ``AIRFLOW_CONN_CONVOC_SMTP``) of a local test server: no TLS."""
    import json

    extra = {
        "disable_ssl": True,
        "disable_tls": True,
        "from_email": "convoc@example.org",
        "retry_limit": 1,
        "timeout": 5,
    }
    return json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port, "extra": extra})


@contextlib.contextmanager
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpSink]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd, a free port) while the block runs; ``convoc_smtp`` points at it."""
    from aiosmtpd.controller import Controller

    from convoc_dev.airflow_local import free_port

    port = free_port()
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("AIRFLOW_CONN_CONVOC_SMTP", smtp_connection(port))
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture
def smtp_sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpSink]:
    """A real SMTP server for the test (``smtp_server``); alerts go to ``ALERT_TO``."""
    monkeypatch.setenv("AIRFLOW__CONVOC__ALERT_TO", ", ".join(ALERT_TO))
    with smtp_server(monkeypatch) as sink:
        yield sink

"""The stage helper every task uses: settings, day, connection, and convoc's errors as Airflow's outcomes."""

from __future__ import annotations

import stat
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import airflow.sdk
import duckdb
import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException, AirflowSkipException

from convoc.codes import SigningKeyRefused
from convoc.errors import ConvocError, FileChanging, NoLandingFiles
from convoc_airflow.tasks import signing_key, stage

DAY = date(2021, 1, 29)


@pytest.fixture(autouse=True)
def context(monkeypatch: pytest.MonkeyPatch, convoc_home: Path) -> dict[str, object]:
    ctx: dict[str, object] = {"params": {"day": None}, "partition_key": "2021-01-29"}
    monkeypatch.setattr(airflow.sdk, "get_current_context", lambda: ctx)
    return ctx


def test_the_task_gets_its_settings_and_day(convoc_home: Path) -> None:
    with stage() as run:
        assert (run.day, run.settings.home) == (DAY, convoc_home.resolve())
        with pytest.raises(RuntimeError, match="opened no warehouse connection"):
            _ = run.con


def test_everything_the_task_creates_is_owner_only(tmp_path: Path) -> None:
    # Working copies, rejects, Data Docs written by libraries that take no mode: the umask decides (077).
    with stage():
        (tmp_path / "folder").mkdir()
        (tmp_path / "folder" / "file").write_text("Gonçalves")
    assert stat.S_IMODE((tmp_path / "folder").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "folder" / "file").stat().st_mode) == 0o600


def test_the_task_logs_its_peak_memory_and_cpu_also_when_it_fails(caplog: pytest.LogCaptureFixture) -> None:
    import re
    import resource

    caplog.set_level("INFO", logger="convoc")
    with stage():
        pass
    with pytest.raises(AirflowFailException), stage():
        raise ConvocError("the numbers disagree")
    found = [
        re.fullmatch(r"convoc: peak memory (\d+) MiB, CPU (\d+\.\d) s", r.getMessage())
        for r in caplog.records
        if "peak memory" in r.getMessage()
    ]
    assert len(found) == 2 and all(found)
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    peak, cpu = (float(v) for v in found[1].groups())  # type: ignore[union-attr]
    assert peak == pytest.approx(max(own.ru_maxrss, children.ru_maxrss) / 1024, abs=4)
    # this process's CPU and its children's, up to the log line
    assert own.ru_utime + own.ru_stime <= cpu + 0.05
    assert cpu <= sum(u.ru_utime + u.ru_stime for u in (own, children)) + 0.05


def test_a_write_is_one_transaction(convoc_home: Path) -> None:
    with stage(warehouse="write") as run:
        run.con.execute("create table t (x int)")
    with pytest.raises(AirflowFailException), stage(warehouse="write") as run:
        run.con.execute("insert into t values (1)")
        raise ConvocError("the numbers disagree")
    with duckdb.connect(str(convoc_home / "warehouse" / "convoc.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from t").fetchall() == [(0,)]  # rolled back


def test_errors_become_airflow_outcomes() -> None:
    with pytest.raises(AirflowSkipException, match="no landing file"), stage():
        raise NoLandingFiles("no landing file for 2021-01-29")
    with pytest.raises(FileChanging), stage():  # retried by Airflow
        raise FileChanging("register_20210129.csv: the file changed while it was read")
    with pytest.raises(AirflowFailException) as err, stage():
        try:
            raise ValueError("a value that must not be logged: Gonçalves")
        except ValueError:
            raise ConvocError("register_20210129.csv: refused [rule missing_column]") from None
    assert str(err.value) == "register_20210129.csv: refused [rule missing_column]"
    assert err.value.__cause__ is None and err.value.__suppress_context__
    with pytest.raises(KeyError), stage():  # not convoc's: Airflow retries it as any failure
        raise KeyError("x")


def test_a_run_without_day_fails_saying_what_to_do(context: dict[str, object]) -> None:
    context.pop("partition_key")
    with pytest.raises(AirflowFailException, match="trigger it with the param day=YYYY-MM-DD"), stage():
        pass


@pytest.mark.parametrize(
    ("password", "message"),
    [(None, "from the Airflow connection convoc_signing_key is 0 characters long"),
     ("short", "from the Airflow connection convoc_signing_key is 5 characters long")],
)  # fmt: skip
def test_a_signing_key_from_the_connection_is_checked_like_any(
    monkeypatch: pytest.MonkeyPatch, password: str | None, message: str
) -> None:
    monkeypatch.setattr(airflow.sdk.Connection, "get", staticmethod(lambda conn_id: SimpleNamespace(password=password)))
    with pytest.raises(SigningKeyRefused, match=message) as err:
        signing_key()
    assert password is None or password not in str(err.value)


def test_a_signing_key_from_the_connection_or_else_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(airflow.sdk.Connection, "get", staticmethod(lambda conn_id: SimpleNamespace(password="k" * 40)))
    assert signing_key() == b"k" * 40

    def missing(conn_id: str) -> None:
        raise AirflowNotFoundException(conn_id)

    monkeypatch.setattr(airflow.sdk.Connection, "get", staticmethod(missing))
    monkeypatch.setenv("CONVOC_SIGNING_KEY", "e" * 40)
    assert signing_key() == b"e" * 40


def test_a_task_writes_fenced_by_its_attempt(context: dict[str, object], convoc_home: Path) -> None:
    ti = SimpleNamespace(dag_id="print_handoff", task_id="record_jobs", map_index=-1, run_id="r1", try_number=2)
    context["ti"] = ti
    with stage(warehouse="write") as run:
        run.con.execute("create table t (x int)")
    context["ti"] = SimpleNamespace(**{**vars(ti), "try_number": 1})  # the zombie of attempt 1
    stale = pytest.raises(AirflowFailException, match="attempt 1 is stale, attempt 2 has written since")
    with stale, stage(warehouse="write") as run:
        run.con.execute("insert into t values (1)")
    with duckdb.connect(str(convoc_home / "warehouse" / "convoc.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from t").fetchall() == [(0,)]


def test_the_cpu_logged_counts_the_tasks_child_processes(caplog: pytest.LogCaptureFixture) -> None:
    import re
    import resource
    import subprocess
    import sys

    caplog.set_level("INFO", logger="convoc")
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.5: pass"
    with stage():
        subprocess.run([sys.executable, "-c", burn], check=True)
    own = resource.getrusage(resource.RUSAGE_SELF)
    [line] = [r.getMessage() for r in caplog.records if "peak memory" in r.getMessage()]
    found = re.fullmatch(r"convoc: peak memory (\d+) MiB, CPU (\d+\.\d) s", line)
    assert found
    assert float(found.group(2)) >= own.ru_utime + own.ru_stime + 0.45  # the child's half second in it

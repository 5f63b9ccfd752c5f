"""Real Airflow for the integration tests: a PostgreSQL metadata database of its own, every component a
process started and stopped by PID (``convoc_dev.airflow_local``), on free ports, in a temporary AIRFLOW_HOME.

Shared by ``test_airflow_local_executor.py`` and ``test_airflow_celery.py``: the synthetic population, the
reference warehouse (the same days run one by one with ``dag.test()``), the comparison of two warehouses,
and the wait for every run of every chain DAG (``convoc.deploy.CHAIN_DAGS``) for the days tested.

Under ``CI=true`` a missing PostgreSQL or Redis fails the test; elsewhere it skips it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import shutil
import signal
import socket
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from convoc.deploy import CHAIN_DAGS, init
from convoc_dev.airflow_local import LocalAirflow, clean_environment, free_port, session_members

ROOT = Path(__file__).resolve().parents[2]
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "root"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379

START = date(2021, 1, 29)
# Three days (a Friday to a Sunday): the first wave, a day with yesterday's letters open, and a third to see the
# backfill keep the order; each day more costs the suite about a minute (its reference and two backfills).
DAYS = 3
RESIDENTS = 2_000
SEED = 11
DEFECTS = 0.002
PARTITION_KEYS = [f"{START + timedelta(days=k):%Y-%m-%d}" for k in range(DAYS)]
SIGNING_KEY = "integration-" + "k" * 40
# Print batches of 50 letters instead of 5,000 (CONVOC_BATCH_SIZE): a population this small then still gives
# several mapped render tasks a day, alike in the reference and in every Airflow process.
BATCH_SIZE = 50
# The settings the DAGs read (besides the signing-key connection), as the tests give them.
CONVOC_SETTINGS = {
    "CONVOC_CAPACITY_SCALE": str(RESIDENTS / 634_730),
    "CONVOC_DUCKDB_MEMORY": "256MB",
    "CONVOC_BATCH_SIZE": str(BATCH_SIZE),
}


# services


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip the test when a service is missing, or fail it under ``CI=true``."""
    if _reachable(host, port):
        return
    reason = f"{name} is not reachable on {host}:{port}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {reason}: the integration tests need it")
    pytest.skip(reason)


def _admin_connection() -> Any:
    import psycopg2

    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres")
    conn.autocommit = True
    return conn


def create_database(prefix: str) -> str:
    """A new, empty PostgreSQL database of this test; its name."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    conn = _admin_connection()
    try:
        with conn.cursor() as cur:
            cur.execute(f'create database "{name}"')
    finally:
        conn.close()
    return name


def drop_database(name: str) -> None:
    conn = _admin_connection()
    try:
        with conn.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
    finally:
        conn.close()


def sqlalchemy_url(database: str) -> str:
    return f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


# the population and the reference


@functools.cache
def mail_server() -> int:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 for the whole test session: the e-mail invitations of the stacks
    and of the reference go there (it accepts everything; what it received is not compared — the send ledgers and
    core.fct_email_attempt are). Returns its port."""
    from aiosmtpd.controller import Controller

    class Accept:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 OK"

    port = free_port()
    Controller(Accept(), hostname="127.0.0.1", port=port).start()  # a daemon thread: ends with the session
    return port


def convoc_env(home: Path) -> dict[str, str]:
    import json

    smtp = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": mail_server(),
        "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "invitations@convoc.example.lu"},
    }
    return {"CONVOC_HOME": str(home), **CONVOC_SETTINGS, "AIRFLOW_CONN_CONVOC_SMTP": json.dumps(smtp)}


def day_of(key: str) -> date:
    return date.fromisoformat(key)


@functools.cache
def _population(root: Path) -> Path:
    from convoc_dev.synth import generate

    landing = root / "landing"
    generate(residents=RESIDENTS, seed=SEED, out=landing, start_date=START, days=DAYS, defects=DEFECTS)
    return landing


def _consumed(dag: Any) -> set[str]:
    condition = getattr(dag.timetable, "asset_condition", None)
    if condition is None:
        return set()
    if hasattr(condition, "uri"):
        return {condition.uri}
    return {asset.uri for _, asset in condition.iter_assets()}


def chain_of(dags: Mapping[str, Any], first: str) -> list[str]:
    """``first`` and every DAG scheduled on an asset a DAG of the chain produces, in the order they follow."""
    chain, produced = [first], {o.uri for t in dags[first].tasks for o in t.outlets}
    while followers := sorted(d for d, dag in dags.items() if d not in chain and _consumed(dag) & produced):
        chain += followers
        produced |= {o.uri for d in followers for t in dags[d].tasks for o in t.outlets}
    return chain


@functools.cache
def _reference(root: Path, landing: Path) -> Path:
    import pendulum
    from airflow.dag_processing.dagbag import DagBag

    home = root / "var"
    shutil.copytree(landing, home / "landing")
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert not bag.import_errors, bag.import_errors
    # Every DAG the scheduler runs after the first one is run here too, or the warehouses cannot match.
    chain = chain_of(bag.dags, CHAIN_DAGS[0])
    assert tuple(chain) == CHAIN_DAGS, (
        f"the DAGs follow each other as {chain}, but convoc.deploy.CHAIN_DAGS lists {list(CHAIN_DAGS)}: "
        "extend CHAIN_DAGS"
    )
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {**convoc_env(home), "CONVOC_SIGNING_KEY": SIGNING_KEY}.items():
            mp.setenv(name, value)
        for key in PARTITION_KEYS:
            day = day_of(key)
            for dag_id in CHAIN_DAGS:
                run = bag.dags[dag_id].test(logical_date=pendulum.datetime(day.year, day.month, day.day, tz="UTC"))
                assert str(run.state) == "success", f"reference: dag.test() of {dag_id} for {key}: {run.state}"
    return home


@pytest.fixture(scope="session")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The landing files of the synthetic population (RESIDENTS residents, DAYS daily snapshots)."""
    # Cached across the modules that import this fixture (each import registers it anew).
    return _population(tmp_path_factory.getbasetemp() / "airflow-population")


@pytest.fixture(scope="session")
def reference(population: Path, airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CONVOC_HOME after running the chain on the population day by day with ``dag.test()``."""
    root = tmp_path_factory.getbasetemp() / "airflow-reference"
    root.mkdir(exist_ok=True)
    return _reference(root, population)


LOAD_TIMESTAMPS = {
    "raw.load_log": "loaded_at",
    "core.fct_print_job": "delivered_at",
    "core.fct_email_attempt": "attempted_at",
}
"""Columns set to the time of loading (``now()``): the only ones two runs of the same days may differ in."""

PER_RUN_TABLES = {"audit.writer_fence"}
"""Tables keyed by Airflow's run ids and attempts (which differ between a backfill and ``dag.test()``)."""


def warehouse_tables(home: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table of the warehouse in ``home``, rows sorted; load timestamps left out, paths made relative."""
    import duckdb

    prefix = str(home)

    def cell(value: object) -> object:
        return value.replace(prefix, "$CONVOC_HOME") if isinstance(value, str) else value

    with duckdb.connect(str(home / "warehouse" / "convoc.duckdb"), read_only=True) as con:
        tables = con.execute("select table_schema, table_name from information_schema.tables order by 1, 2").fetchall()
        out = {}
        for schema, table in tables:
            name = f"{schema}.{table}"
            if name in PER_RUN_TABLES:
                continue
            select = f"select * exclude ({LOAD_TIMESTAMPS[name]})" if name in LOAD_TIMESTAMPS else "select *"
            rows = con.execute(f"{select} from {name}").fetchall()
            out[name] = sorted((tuple(cell(v) for v in row) for row in rows), key=repr)
    return out


PER_DELIVERY = {"READY": "delivery"}
"""Files of a delivered job holding a field that is new at every delivery (JSON key), left out of comparisons."""


def delivered_files(home: Path) -> dict[str, str]:
    """Released PDFs (``print/<day>/pdf/``) and delivered print jobs (``outbox/``): path under ``home`` → SHA-256."""
    import hashlib
    import json

    paths = [*home.glob("print/*/pdf/*.pdf"), *(p for p in home.glob("outbox/**/*") if p.is_file())]
    out = {}
    for path in sorted(paths):
        data = path.read_bytes()
        if path.name in PER_DELIVERY:
            fields = json.loads(data)
            fields.pop(PER_DELIVERY[path.name])
            data = json.dumps(fields, sort_keys=True).encode()
        out[str(path.relative_to(home))] = hashlib.sha256(data).hexdigest()
    return out


def assert_same_warehouse(actual: Path, expected: Path) -> None:
    """Table by table: same tables, same rows (load timestamps aside); then the same PDFs and print jobs."""
    got, want = warehouse_tables(actual), warehouse_tables(expected)
    assert got.keys() == want.keys(), f"tables here only {got.keys() - want.keys()}, missing {want.keys() - got.keys()}"
    differing = {
        table: {
            "only here": len(set(got[table]) - set(want[table])),
            "missing": len(set(want[table]) - set(got[table])),
        }
        for table in want
        if got[table] != want[table]
    }
    assert not differing, f"tables that differ from the dag.test() reference: {differing}"
    got_files, want_files = delivered_files(actual), delivered_files(expected)
    assert any(name.startswith("outbox/") for name in want_files), "the reference delivered no print job"
    differing_files = sorted(k for k in got_files.keys() | want_files.keys() if got_files.get(k) != want_files.get(k))
    assert not differing_files, f"files that differ from the dag.test() reference: {differing_files[:20]}"


def assert_same_published(actual: Path, expected: Path) -> None:
    """The analysts' published copy and the shared copy hold the same tables and rows as the reference's."""
    import duckdb

    for name in ("convoc.duckdb", "convoc_shared.duckdb"):
        copies = []
        for home in (actual, expected):
            with duckdb.connect(str(home / "warehouse" / "published" / name), read_only=True) as con:
                tables = con.execute("select schema_name, table_name from duckdb_tables() order by 1, 2").fetchall()
                copies.append({f"{s}.{t}": sorted(con.execute(f'select * from "{s}"."{t}"').fetchall(), key=repr)
                               for s, t in tables})  # fmt: skip
        assert copies[0].keys() == copies[1].keys(), name
        assert not [t for t in copies[1] if copies[0][t] != copies[1][t]], f"{name} differs from the reference"
    leftovers = [p.name for p in (actual / "warehouse" / "published").iterdir() if p.name.startswith(".")]
    assert not leftovers, f"half-written copies left: {leftovers}"


# the stack


def worker_hostname() -> str:
    """``[core] hostname_callable`` of the test workers: tells apart two workers on one machine."""
    return hostname_of(os.environ.get("CONVOC_TEST_WORKER", "main"))


def hostname_of(worker: str) -> str:
    """The hostname task instances run by test worker ``worker`` record."""
    return f"{socket.gethostname()}-{worker}"


@dataclass
class Stack:
    """One Airflow with its own metadata database, AIRFLOW_HOME and CONVOC_HOME."""

    airflow: LocalAirflow
    database: str
    convoc_home: Path
    base_url: str
    components: list[str] = field(default_factory=list)

    def start(self, name: str, *args: str, env: Mapping[str, str] | None = None) -> None:
        self.airflow.start(name, *args, env=env)
        self.components.append(name)

    def kill(self, name: str) -> list[int]:
        """SIGKILL component ``name`` and everything in its session at once (a machine lost)."""
        self.components.remove(name)
        return self.airflow.kill(name)

    def freeze(self, name: str) -> list[int]:
        """SIGSTOP every process of component ``name``: it can neither finish nor report anything."""
        launched = self.airflow.launched(name)
        members = session_members(launched) if launched else []
        for pid in members:
            os.kill(pid, signal.SIGSTOP)
        return members

    @staticmethod
    def thaw(pids: Sequence[int]) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def sql(self, query: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        import psycopg2

        conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=self.database)
        try:
            with conn, conn.cursor() as cur:
                cur.execute(query, params)
                return list(cur.fetchall())
        finally:
            conn.close()

    def wait_for_dags(self, dag_ids: Sequence[str] = CHAIN_DAGS, timeout: float = 180) -> None:
        """Until the dag-processor has serialized every DAG named (a backfill needs them)."""
        deadline = time.monotonic() + timeout
        while True:
            found = {
                d for (d,) in self.sql("select dag_id from serialized_dag where dag_id = any(%s)", [list(dag_ids)])
            }
            if found >= set(dag_ids):
                return
            self._check_alive()
            if time.monotonic() > deadline:
                raise AssertionError(f"DAGs not parsed after {timeout:.0f} s: {set(dag_ids) - found}\n{self.logs()}")
            time.sleep(2)

    def backfill(self, dag_id: str, keys: Sequence[str]) -> None:
        # one day at a time, as the docs say: a retried task must not let the next day overtake it
        self.airflow.cli(
            "backfill", "create", "--dag-id", dag_id, "--from-date", keys[0], "--to-date", keys[-1],
            "--max-active-runs", "1",
        )  # fmt: skip

    def runs(self, dag_ids: Sequence[str], keys: Sequence[str]) -> dict[tuple[str, str], list[str]]:
        """(dag, partition key) → states of its runs."""
        out: dict[tuple[str, str], list[str]] = {}
        for dag_id, key, state in self.sql(
            "select dag_id, partition_key, state from dag_run where dag_id = any(%s) and partition_key = any(%s)",
            [list(dag_ids), list(keys)],
        ):
            out.setdefault((dag_id, key), []).append(state)
        return out

    def wait_for_chain(
        self, keys: Sequence[str], dag_ids: Sequence[str] = CHAIN_DAGS, timeout: float = 420
    ) -> dict[tuple[str, str], list[str]]:
        """Until every chain DAG has a finished run for every key; fails at the first failed run."""
        deadline = time.monotonic() + timeout
        while True:
            runs = self.runs(dag_ids, keys)
            failed = {k: s for k, s in runs.items() if "failed" in s}
            if failed:
                raise AssertionError(f"failed runs: {failed}\n{self.diagnostics()}")
            if all("success" in runs.get((d, k), []) for d in dag_ids for k in keys):
                return runs
            self._check_alive()
            if time.monotonic() > deadline:
                missing = sorted((d, k) for d in dag_ids for k in keys if "success" not in runs.get((d, k), []))
                raise AssertionError(f"after {timeout:.0f} s, no successful run for {missing}\n{self.diagnostics()}")
            time.sleep(2)

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        while True:
            [(state,)] = self.sql("select state from dag_run where dag_id = %s and run_id = %s", [dag_id, run_id])
            if state in ("success", "failed"):
                return str(state)
            self._check_alive()
            if time.monotonic() > deadline:
                raise AssertionError(f"{dag_id} {run_id} still {state} after {timeout:.0f} s\n{self.diagnostics()}")
            time.sleep(1)

    def task_instances(self, dag_id: str, task_id: str, run_id: str | None = None) -> list[dict[str, Any]]:
        query = (
            "select ti.run_id, dr.partition_key, ti.map_index, ti.state, ti.try_number, ti.hostname"
            " from task_instance ti join dag_run dr on dr.dag_id = ti.dag_id and dr.run_id = ti.run_id"
            " where ti.dag_id = %s and ti.task_id = %s"
        )
        params: list[object] = [dag_id, task_id]
        if run_id is not None:
            query += " and ti.run_id = %s"
            params.append(run_id)
        names = ("run_id", "partition_key", "map_index", "state", "try_number", "hostname")
        return [dict(zip(names, row, strict=True)) for row in self.sql(query + " order by 1, 3", params)]

    def _check_alive(self) -> None:
        for name in self.components:
            if self.airflow.launched(name) is None:
                raise AssertionError(f"{name} died\n{self.airflow.log_tail(name)}")

    def logs(self) -> str:
        return "\n".join(f"--- {name} ---\n{self.airflow.log_tail(name, 15)}" for name in self.components)

    def diagnostics(self) -> str:
        """Task instances that did not succeed, with the end of their logs."""
        lines = []
        for dag_id, run_id, task_id, map_index, state, try_number in self.sql(
            "select dag_id, run_id, task_id, map_index, state, try_number from task_instance"
            " where state is distinct from 'success' order by dag_id, run_id, task_id"
        ):
            lines.append(f"{dag_id} {run_id} {task_id}[{map_index}] {state} try {try_number}")
            if state in ("failed", "up_for_retry", "upstream_failed"):
                for log in (self.airflow.home / "logs").glob(f"dag_id={dag_id}/run_id={run_id}/task_id={task_id}/**/*"):
                    if log.is_file():
                        lines.extend(log.read_text(errors="replace").splitlines()[-12:])
        return "\n".join(lines[-150:]) + "\n" + self.logs()


def stack_environment(
    tmp: Path, database: str, executor: str, extra: Mapping[str, str] | None = None
) -> tuple[dict[str, str], str]:
    """The environment of a test stack (nothing inherited from Airflow's test settings) and its API URL."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    home = tmp / "airflow"
    (home / "config").mkdir(parents=True)
    env = clean_environment()
    for name in [k for k in env if k.startswith("CONVOC_")]:
        del env[name]
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__MAX_MAP_LENGTH": "4096",
            "AIRFLOW__CORE__EXECUTOR": executor,
            "AIRFLOW__CORE__PARALLELISM": "4",
            # Chain DAGs run as soon as they are parsed: a backfill runs nothing on a paused DAG.
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url(database),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": base_url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            # Celery's result backend, when the executor is Celery: a table in the metadata database
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}",
            # No CONVOC_SIGNING_KEY: the tasks read the key from the Airflow connection init made.
            **convoc_env(tmp / "var"),
            **(extra or {}),
        }
    )
    return env, base_url


@functools.cache
def _hostname_path() -> str:
    return str(Path(__file__).resolve().parent)


def worker_environment(name: str) -> dict[str, str]:
    """What tells a Celery worker apart on this machine: its task instances' hostname."""
    return {
        "CONVOC_TEST_WORKER": name,
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "airflow_stack.worker_hostname",
        "PYTHONPATH": os.pathsep.join(filter(None, [_hostname_path(), os.environ.get("PYTHONPATH")])),
    }


@contextlib.contextmanager
def open_stack(
    tmp: Path,
    population: Path,
    executor: str,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[Stack]:
    """Start api-server, scheduler and dag-processor on a fresh database; yield; stop them, drop it."""
    database = create_database("convoc_it")
    env, base_url = stack_environment(tmp, database, executor, extra_env)
    airflow = LocalAirflow(env)
    stack = Stack(airflow, database, tmp / "var", base_url)
    shutil.copytree(population, stack.convoc_home / "landing")
    try:
        # the init step of make airflow-up and docker-compose.yaml: migrate, pools, the signing-key connection
        init({**env, "CONVOC_SIGNING_KEY": SIGNING_KEY})
        stack.start("api-server", "api-server")
        stack.start("scheduler", "scheduler", "--skip-serve-logs")
        stack.start("dag-processor", "dag-processor")
        airflow.wait_healthy(base_url, components=stack.components)
        stack.wait_for_dags()
        yield stack
    finally:
        try:
            airflow.stop_all(stack.components)
            airflow.stop_all()  # anything else a test started (workers) and left
        finally:
            drop_database(database)


def report(message: str) -> None:
    """A line in the test's output (shown with -s or -rA): timings and what ran where."""
    print(message, file=sys.stderr)

"""A real Airflow on this machine, for development and tests: each component a process of its own, started
and stopped by its PID.

``make airflow-up`` / ``make airflow-down`` (``python -m convoc_dev.airflow_local up|down``) and the integration
tests (``tests/integration/airflow_stack.py``) run Airflow through ``LocalAirflow``, the ``airflow`` CLI of
``convoc.deploy`` with processes:

- ``init`` (``convoc.deploy.init``) migrates the metadata database and creates what the DAGs need: the pool
  ``warehouse`` and the connection ``convoc_signing_key``, as a deployment's init step does;
- ``start`` runs one component (``airflow scheduler``, ``airflow celery worker``, …) as the leader of a new
  session, its output in ``$AIRFLOW_HOME/run/<name>.log``, its PID and start time in ``<name>.pid``;
- ``stop`` sends SIGTERM to the component's process group, waits, then SIGKILLs whatever is left of its
  session. Task processes lead process groups of their own but stay in the session, so nothing the
  component forked survives it; a process started by anyone else is never signalled (a PID whose start
  time differs from the recorded one is a reused PID and is left alone).

Nothing here imports Airflow: components and the CLI run as subprocesses with the environment given.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from convoc.deploy import AirflowCli, AirflowCommandError, init
from convoc.errors import ConvocError

LOCAL_COMPONENTS: Mapping[str, tuple[str, ...]] = {
    "api-server": ("api-server",),
    "scheduler": ("scheduler", "--skip-serve-logs"),
    "dag-processor": ("dag-processor",),
    "triggerer": ("triggerer", "--skip-serve-logs"),
}
"""What ``airflow-up`` starts (one machine: the API server reads task logs from the shared log folder)."""

DEFAULT_PORT = 8080


class AirflowLocalError(AirflowCommandError):
    """A component did not start, a command failed, or a process could not be stopped."""


@dataclass(frozen=True)
class Launched:
    """A component started by ``LocalAirflow.start``: the leader of its own session."""

    name: str
    pid: int
    started: float
    """The process's start time (``psutil.Process.create_time``): tells our process from a reused PID."""
    log: Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_time(pid: int) -> float | None:
    import psutil

    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def _alive(pid: int) -> bool:
    import psutil

    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def session_members(leader: Launched) -> list[int]:
    """Live processes of the session ``leader`` started (the leader too, while it lives)."""
    import psutil

    members = []
    for proc in psutil.process_iter(["pid", "create_time", "status"]):
        try:
            if (
                os.getsid(proc.info["pid"]) == leader.pid
                and proc.info["create_time"] >= leader.started - 1
                and proc.info["status"] != psutil.STATUS_ZOMBIE
            ):
                members.append(int(proc.info["pid"]))
        except (ProcessLookupError, PermissionError):
            continue
    return members


def _signal(pids: Iterable[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def clean_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default ``os.environ``) without Airflow's settings, so that only the ones given apply."""
    base = os.environ if base is None else base
    return {k: v for k, v in base.items() if not (k.startswith("AIRFLOW__") or k == "AIRFLOW_HOME")}


class LocalAirflow(AirflowCli):
    """Airflow components on this machine for one ``AIRFLOW_HOME``, with pid files under ``<home>/run``."""

    # processes

    def pid_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def start(self, name: str, *args: str, env: Mapping[str, str] | None = None) -> Launched:
        """Start ``airflow ARGS`` as component ``name`` (leader of a new session); record its pid file."""
        if (current := self.launched(name)) is not None:
            raise AirflowLocalError(f"{name} already runs (pid {current.pid}); stop it first")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        log = self.run_dir / f"{name}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [*self.airflow, *args],
                env={**self.env, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.home,
            )
        started = _start_time(proc.pid)
        if started is None:
            raise AirflowLocalError(f"{name} exited at once; see {log}")
        self.pid_file(name).write_text(f"{proc.pid} {started!r}\n", encoding="utf-8")
        return Launched(name, proc.pid, started, log)

    def launched(self, name: str) -> Launched | None:
        """Component ``name`` as recorded in its pid file, if that process still runs."""
        path = self.pid_file(name)
        try:
            pid_text, started_text = path.read_text(encoding="utf-8").split()
            pid, started = int(pid_text), float(started_text)
        except (FileNotFoundError, ValueError):
            return None
        recorded = Launched(name, pid, started, self.run_dir / f"{name}.log")
        now = _start_time(pid)
        if now is not None and abs(now - started) < 1 and _alive(pid):
            return recorded
        # The leader is gone (or its PID was reused); children left in its session still count as ours.
        return recorded if session_members(recorded) else None

    def components(self) -> list[str]:
        """Names of the components with a pid file."""
        return sorted(p.stem for p in self.run_dir.glob("*.pid")) if self.run_dir.is_dir() else []

    def stop(self, name: str, timeout: float = 30) -> bool:
        """Stop component ``name`` and everything left in its session; remove its pid file. True if it ran."""
        launched = self.launched(name)
        if launched is not None:
            if _alive(launched.pid) and abs((_start_time(launched.pid) or 0) - launched.started) < 1:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(launched.pid, signal.SIGTERM)
            else:  # the leader is gone: what it left in its session, one by one
                _signal(session_members(launched), signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while session_members(launched) and time.monotonic() < deadline:
                time.sleep(0.2)
            _signal(session_members(launched), signal.SIGKILL)
            deadline = time.monotonic() + 10
            while left := session_members(launched):
                if time.monotonic() > deadline:
                    raise AirflowLocalError(f"{name}: processes {left} outlived SIGKILL")
                time.sleep(0.1)
        self.pid_file(name).unlink(missing_ok=True)
        return launched is not None

    def kill(self, name: str) -> list[int]:
        """SIGKILL every process of component ``name`` at once, as a machine failure would; return their PIDs."""
        launched = self.launched(name)
        if launched is None:
            return []
        members = session_members(launched)
        _signal(members, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while session_members(launched) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.pid_file(name).unlink(missing_ok=True)
        return members

    def stop_all(self, names: Sequence[str] | None = None) -> list[str]:
        """Stop the components named (default: all with a pid file), in reverse order of ``names``."""
        stopped = []
        for name in reversed(list(names) if names is not None else self.components()):
            if self.stop(name):
                stopped.append(name)
        return stopped

    def wait_healthy(self, base_url: str, timeout: float = 180, components: Sequence[str] = ("api-server",)) -> None:
        """Wait until the API server answers its health check; fail early if a component died."""
        deadline = time.monotonic() + timeout
        url = base_url.rstrip("/") + "/api/v2/monitor/health"
        while True:
            for name in components:
                if self.launched(name) is None:
                    raise AirflowLocalError(f"{name} stopped during start-up:\n{self.log_tail(name)}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise AirflowLocalError(f"no answer from {url} after {timeout:.0f} s:\n{self.log_tail('api-server')}")
            time.sleep(1)

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.run_dir / f"{name}.log"
        if not path.is_file():
            return f"({path} missing)"
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


# make airflow-up / airflow-down, and the init step of docker-compose.yaml


def local_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of ``airflow-up``: ``env`` plus LocalExecutor and the API server on 127.0.0.1.

    The metadata database is ``CONVOC_AIRFLOW_DB`` (an SQLAlchemy URL, ``postgresql+psycopg2://…``) when set,
    else Airflow's SQLite file in ``AIRFLOW_HOME``. The API server listens on ``AIRFLOW__API__PORT`` (8080).
    Unless set otherwise: DAGs start unpaused (a backfill runs nothing on a paused DAG, and each consumer
    must be unpaused to follow its producer) and at most two tasks per CPU run at once.
    """
    env = dict(os.environ if env is None else env)
    port = env.get("AIRFLOW__API__PORT") or str(DEFAULT_PORT)
    base_url = f"http://127.0.0.1:{port}"
    env.update(
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__API__HOST="127.0.0.1",
        AIRFLOW__API__PORT=port,
        AIRFLOW__API__BASE_URL=base_url,
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"{base_url}/execution/",
    )
    env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    env.setdefault("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "False")
    env.setdefault("AIRFLOW__CORE__PARALLELISM", str(2 * (os.cpu_count() or 2)))
    # Task logs can quote a file name or a rule, never a value, but they stay owner-only all the same.
    env.setdefault("AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FOLDER_PERMISSIONS", "0o700")
    env.setdefault("AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FILE_PERMISSIONS", "0o600")
    if env.get("CONVOC_AIRFLOW_DB"):
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = env["CONVOC_AIRFLOW_DB"]
    return env


def _login(home: Path) -> str:
    path = home / "simple_auth_manager_passwords.json.generated"
    try:
        users = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return f"see {path}"
    return ", ".join(f"{user} / {password}" for user, password in users.items())


def up(env: Mapping[str, str] | None = None) -> int:
    """Start api-server, scheduler, dag-processor and triggerer (LocalExecutor) unless they run; print the UI.

    Writes ``$AIRFLOW_HOME/run/env.sh`` (owner-only): the settings to source in a shell that runs the
    ``airflow`` CLI against this instance (``airflow backfill create …``).
    """
    env = local_environment(env)
    airflow = LocalAirflow(env)
    missing = [name for name in LOCAL_COMPONENTS if airflow.launched(name) is None]
    if missing:
        database = env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN") or f"SQLite in {airflow.home}"
        print(f"AIRFLOW_HOME={airflow.home}; metadata database: {_hide_password(database)}")
        init(env, create_key=True)  # the deployment's init step, with a key file made if need be
        _write_env_file(airflow.run_dir / "env.sh", env)
        try:
            for name in missing:
                launched = airflow.start(name, *LOCAL_COMPONENTS[name])
                print(f"started {name:<13} pid {launched.pid:<7} log {launched.log}")
            airflow.wait_healthy(env["AIRFLOW__API__BASE_URL"], components=list(LOCAL_COMPONENTS))
        except (AirflowLocalError, KeyboardInterrupt):
            airflow.stop_all(missing)
            raise
    else:
        print(f"already running: {', '.join(LOCAL_COMPONENTS)}")
    print(f"\nAirflow UI: {env['AIRFLOW__API__BASE_URL']}  login: {_login(airflow.home)}")
    print(f"Campaigns (the control room): {env['AIRFLOW__API__BASE_URL'].rstrip('/')}/plugin/campaigns")
    print(f"CLI in another shell: source {airflow.run_dir / 'env.sh'}")
    print(f"Stop with: make airflow-down   (pid files in {airflow.run_dir})")
    return 0


_SHELL_SETTINGS = ("AIRFLOW_HOME",)
_SECRETS = ("CONVOC_SIGNING_KEY",)  # kept in the Airflow connection, not in a file


def _write_env_file(path: Path, env: Mapping[str, str]) -> None:
    import shlex

    names = [
        k for k in sorted(env) if (k.startswith(("AIRFLOW__", "CONVOC_")) or k in _SHELL_SETTINGS) and k not in _SECRETS
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("# written by make airflow-up: the settings its Airflow runs with\n")
        f.writelines(f"export {name}={shlex.quote(env[name])}\n" for name in names)


def down(env: Mapping[str, str] | None = None) -> int:
    """Stop the components ``up`` started (by their pid files), and nothing else."""
    env = dict(os.environ if env is None else env)
    airflow = LocalAirflow(env)
    names = airflow.components()
    # The API server last: tasks still running report to it while the others shut down.
    order = [n for n in names if n != "api-server"] + [n for n in names if n == "api-server"]
    for name in order:
        print(f"{'stopped' if airflow.stop(name) else 'not running'}: {name}")
    if not names:
        print(f"nothing to stop (no pid files in {airflow.run_dir})")
    return 0


def _hide_password(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m convoc_dev.airflow_local", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down"])
    args = parser.parse_args(argv)
    try:
        return up() if args.command == "up" else down()
    except (AirflowCommandError, ConvocError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""Deploying convoc on an Airflow: what the DAGs need besides their code, made by one idempotent step.

``init`` migrates the metadata database and creates the pool ``warehouse`` (one slot: DuckDB takes one writer
process) and the connection ``convoc_signing_key`` (the booking-code key, from ``CONVOC_SIGNING_KEY`` or
``CONVOC_SIGNING_KEY_FILE``; an existing connection is kept). The init service of docker-compose.yaml runs it
(``python -m convoc.deploy init``), and so does ``make airflow-up``. Nothing here imports Airflow: the
``airflow`` CLI runs as a subprocess with the environment given.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from convoc.errors import ConvocError
from convoc.runtime import CHAIN

CHAIN_DAGS: tuple[str, ...] = CHAIN
"""The daily chain in the order its DAGs follow each other (each scheduled on an asset the one before produces,
per partition key = day): a backfill of the first runs each of the others once per day. The integration tests
run and wait for every DAG listed here and fail while a DAG that follows the chain is missing from the list."""

POOLS: Mapping[str, tuple[int, str]] = {"warehouse": (1, "one DuckDB writer at a time")}
"""Pools the DAGs use: name → (slots, description)."""

SIGNING_KEY_CONNECTION = "convoc_signing_key"
"""The Airflow connection whose password is the booking-code signing key (see ``convoc.codes``)."""


class AirflowCommandError(RuntimeError):
    """An ``airflow`` command failed; the message holds its exit code and the tail of its output."""


class AirflowCli:
    """The ``airflow`` CLI of one ``AIRFLOW_HOME``, run as a subprocess with the environment given."""

    def __init__(self, env: Mapping[str, str]) -> None:
        if not env.get("AIRFLOW_HOME"):
            raise AirflowCommandError("AIRFLOW_HOME is not set")
        self.env = dict(env)
        self.home = Path(self.env["AIRFLOW_HOME"])
        self.run_dir = self.home / "run"
        self.airflow = (sys.executable, "-m", "airflow")

    def cli(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``airflow ARGS`` to completion with this environment; its output is returned."""
        done = subprocess.run(
            [*self.airflow, *args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
            raise AirflowCommandError(f"airflow {' '.join(args)} exited with {done.returncode}:\n{tail}")
        return done

    def prepare(self, signing_key: str | None = None) -> None:
        """Migrate the metadata database; create the pools and, given a key, the signing-key connection.

        An existing connection is kept as it is (it may hold a deployment's key).
        """
        self.home.mkdir(parents=True, exist_ok=True)
        self.cli("db", "migrate", timeout=600)
        for name, (slots, description) in POOLS.items():
            self.cli("pools", "set", name, str(slots), description)
        if signing_key is not None:
            self.add_connection(SIGNING_KEY_CONNECTION, {"conn_type": "generic", "password": signing_key})

    def add_connection(self, conn_id: str, fields: Mapping[str, Any]) -> bool:
        """Create connection ``conn_id`` unless it exists; True when created.

        Goes through ``airflow connections import`` from an owner-only file, so that no secret appears
        on a command line.
        """
        if self.cli("connections", "get", conn_id, "-o", "json", check=False).returncode == 0:
            return False
        self.run_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="connection-", suffix=".json", dir=self.run_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({conn_id: dict(fields)}, f)
            self.cli("connections", "import", name)
        finally:
            os.unlink(name)
        return True


def _signing_key(env: Mapping[str, str], *, create: bool) -> tuple[str | None, str]:
    """The signing key for a new connection and where it came from: ``CONVOC_SIGNING_KEY``, else the file
    ``CONVOC_SIGNING_KEY_FILE`` (with ``create``: default ``$CONVOC_HOME/secrets/signing.key``, made if missing)."""
    from convoc.codes import KEY_ENV, KEY_FILE_ENV, create_key_file, load_key
    from convoc.config import Settings

    if env.get(KEY_ENV):
        return load_key({KEY_ENV: env[KEY_ENV]}).decode(), KEY_ENV
    path_text = env.get(KEY_FILE_ENV)
    if not path_text and not create:
        return None, "nowhere"
    path = Path(path_text or Settings.from_env(dict(env)).home / "secrets" / "signing.key")
    if create:
        create_key_file(path)
    return load_key({KEY_FILE_ENV: str(path)}).decode(), str(path)


def init(env: Mapping[str, str] | None = None, *, create_key: bool = False) -> AirflowCli:
    """Migrate the metadata database, create the pools and the signing-key connection (when missing).

    The init service of docker-compose.yaml runs this (``python -m convoc.deploy init``), with the
    key in ``CONVOC_SIGNING_KEY``; ``airflow-up`` runs it with a key file it creates if need be.
    """
    env = dict(os.environ if env is None else env)
    airflow = AirflowCli(env)
    key, source = _signing_key(env, create=create_key)
    airflow.prepare(signing_key=key)
    if key is None and airflow.cli("connections", "get", SIGNING_KEY_CONNECTION, check=False).returncode != 0:
        raise AirflowCommandError(
            f"no connection {SIGNING_KEY_CONNECTION} and no key to create it from: set CONVOC_SIGNING_KEY "
            "(or CONVOC_SIGNING_KEY_FILE); without it invitation_waves refuses to run"
        )
    pools = ", ".join(f"{name} ({slots} slot{'s' * (slots != 1)})" for name, (slots, _) in POOLS.items())
    print(f"database migrated; pools: {pools}; connection {SIGNING_KEY_CONNECTION} (when new: key from {source})")
    return airflow


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m convoc.deploy", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["init"], help="migrate, pools, connections")
    parser.parse_args(argv)
    try:
        init()
    except (AirflowCommandError, ConvocError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

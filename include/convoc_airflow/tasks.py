"""Running a stage function inside an Airflow task.

``stage()`` gives a task what it needs — the settings, the day it works on (partition key, logical date or
the ``day`` param: ``convoc.runtime.resolve_day``) and, when asked, a warehouse connection (``write`` opens one
transaction around the block) — and turns convoc's errors into Airflow's outcomes:

- ``NoLandingFiles``: nothing to do today → the task is skipped;
- ``FileNotSettled`` (a landing file still being written) and ``DiskFull`` (no space left; nothing
  half-written kept): raised as they are → Airflow retries the task;
- any other ``ConvocError`` (bad input, a refused file, a wrong PDF, numbers that disagree): a retry cannot
  mend it → ``AirflowFailException``, no retry, the message as convoc wrote it (no chained exception: the
  cause may quote a value).

When the block ends, the task logs its process's peak memory and CPU time, its child processes' included (``convoc:
peak memory N MiB, CPU S s``: what bounds a worker's slots, what a task costs the machine, what the benchmarks
read). The process's files are made owner-only first (``convoc.files.private_umask``), and every warehouse
transaction of the task is fenced by its attempt (``convoc.warehouse.writer``): a zombie attempt's late write is
refused once a newer attempt has written.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import duckdb

    from convoc.config import Settings


@dataclass(frozen=True)
class StageRun:
    """What a task's stage call needs: settings, day, the Airflow context, and the connection if opened."""

    settings: Settings
    day: date
    context: Any
    connection: duckdb.DuckDBPyConnection | None = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self.connection is None:
            raise RuntimeError("this stage run opened no warehouse connection: stage(warehouse=...)")
        return self.connection


@contextmanager
def stage(
    *, warehouse: Literal["read", "write", "published"] | None = None, label: str | None = None
) -> Iterator[StageRun]:
    """The running task's stage: settings, day and (``read``, ``write`` in one transaction, or the analysts'
    ``published`` copy, read-only) a warehouse connection; convoc's errors become Airflow's outcomes. ``label``
    names a mapped task instance in the UI (``defaults.MAP_LABEL``)."""
    from airflow.sdk import get_current_context
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    from convoc import warehouse as wh
    from convoc.config import Settings
    from convoc.errors import ConvocError, DiskFull, FileNotSettled, NoLandingFiles
    from convoc.files import private_umask
    from convoc.runtime import resolve_day

    private_umask()
    context = get_current_context()
    if label is not None:
        context["map_label"] = label
    try:
        settings = Settings.from_env()
        day = resolve_day(context)
        with wh.writer(*_attempt(context)):
            if warehouse is None:
                yield StageRun(settings, day, context)
            elif warehouse == "write":
                with wh.connect(settings.warehouse) as con, wh.transaction(con):
                    yield StageRun(settings, day, context, con)
            else:
                path = settings.published if warehouse == "published" else settings.warehouse
                with wh.connect(path, read_only=True) as con:
                    yield StageRun(settings, day, context, con)
    except NoLandingFiles as exc:
        raise AirflowSkipException(str(exc)) from None
    except (FileNotSettled, DiskFull):
        raise
    except ConvocError as exc:
        raise AirflowFailException(str(exc)) from None
    finally:
        _log_usage()


def _log_usage() -> None:
    import logging
    import resource

    # The task's process from its start (Airflow's part included), and the child processes it has waited for (the
    # extract's, convoc.child): the larger peak of any one of them, their CPU together.
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    logging.getLogger("convoc").info(
        "convoc: peak memory %.0f MiB, CPU %.1f s",
        max(own.ru_maxrss, children.ru_maxrss) / 1024,
        sum(u.ru_utime + u.ru_stime for u in (own, children)),
    )


def _attempt(context: Any) -> tuple[str, int]:
    """The running task instance (DAG, task, map index, run) and its attempt, which fence its writes."""
    ti = context.get("ti")
    if ti is None:
        return "", 0
    key = f"{ti.dag_id}.{ti.task_id}[{getattr(ti, 'map_index', -1)}] {ti.run_id}"
    return key, int(ti.try_number)


def signing_key() -> bytes:
    """The booking-code signing key: the Airflow connection ``convoc_signing_key`` (its password) when there is
    one, else what ``convoc.codes.load_key`` finds (``CONVOC_SIGNING_KEY``, ``CONVOC_SIGNING_KEY_FILE``); checked
    the same way from every source (an empty or short key is refused, naming where it came from)."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    from convoc.codes import AIRFLOW_CONNECTION, checked_key, load_key

    try:
        connection = Connection.get(AIRFLOW_CONNECTION)
    except AirflowNotFoundException:
        return load_key()
    return checked_key(connection.password or "", f"the Airflow connection {AIRFLOW_CONNECTION}")

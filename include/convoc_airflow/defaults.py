"""What every convoc DAG has in common: owner, start, one run at a time, retries, the ``day`` param, and the
schedules of the daily chain (each stage runs once per day its upstream publishes: one partition per day)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.configuration import conf
from airflow.sdk import Asset, CronPartitionTimetable, Param, PartitionedAssetTimetable

from convoc_airflow.alerts import ConvocAlert

START = pendulum.datetime(2021, 1, 29, tz="UTC")
"""The first day a campaign can run (the earliest landing files)."""

RETRY_DELAY = timedelta(seconds=conf.getint("convoc", "retry_delay_seconds", fallback=60))
"""How long a failed task waits before its retry (``[convoc] retry_delay_seconds``, default 60; the fault
tests shorten it)."""

LIMITS: dict[str, timedelta] = {
    "extract_validate": timedelta(minutes=30),
    "load": timedelta(minutes=15),
    "waves": timedelta(minutes=10),
    "cut": timedelta(minutes=10),
    "render": timedelta(minutes=10),
    "verify": timedelta(minutes=10),
    "record": timedelta(minutes=10),
    "send": timedelta(minutes=60),
    "build": timedelta(minutes=20),
    "deliver": timedelta(minutes=45),
    "marts": timedelta(minutes=15),
    "publish": timedelta(minutes=10),
    "report": timedelta(minutes=10),
    "housekeeping": timedelta(minutes=30),
}
"""The time limit of each kind of task (``execution_timeout``): about twenty times what the benchmarks measure
for a national day of 650,000 residents on 2 cores (``bench/RESULTS.md``, ``docs/operations.md``), so that a
busy machine or a country ten times larger still fits, and a hung upload or render frees its worker (and the
one-slot pool) instead of holding it for ever. A task past its limit fails and is retried like any failure."""

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "convoc",
    "retries": 1,
    "retry_delay": RETRY_DELAY,
    "execution_timeout": timedelta(minutes=30),
    "on_failure_callback": [ConvocAlert()],
}
"""Every task: owned by convoc, retried once a minute later (a failure that a retry cannot mend raises
``AirflowFailException`` and is not retried: see ``tasks.stage``), never running past 30 minutes unless its
kind's limit says otherwise (``limit``), and alerting by e-mail when it fails for good — retries spent or
none possible (``alerts.ConvocAlert``; a retry itself sends nothing)."""


def limit(kind: str) -> dict[str, Any]:
    """Keyword arguments of a task of ``kind`` (a key of ``LIMITS``): its time limit."""
    return {"execution_timeout": LIMITS[kind]}


MAP_LABEL = "{{ map_label }}"
"""The ``map_index_template`` of every mapped task: the label the task gives itself (``stage(label=...)``), e.g.
the batch file or the job id, shown in the UI instead of a bare index."""

DAG_DEFAULTS: dict[str, Any] = {
    "start_date": START,
    "catchup": False,
    "max_active_runs": 1,
    "default_args": DEFAULT_ARGS,
}
"""Keyword arguments of every ``@dag``, beside its own schedule, params, tags and ``doc_md``."""

DAY_PARAMS: dict[str, Param] = {
    "day": Param(None, type=["null", "string"], format="date", description="YYYY-MM-DD, manual runs"),
}
"""The one param every DAG takes: the day a manual run works on (a manual trigger has no logical date)."""


WAREHOUSE_QUEUE: str = conf.get("convoc", "warehouse_queue", fallback="warehouse")
"""The Celery queue of every task that opens the warehouse (``[convoc] warehouse_queue``, env
``AIRFLOW__CONVOC__WAREHOUSE_QUEUE``; default ``warehouse``): served only by the worker on the machine that holds
the DuckDB file on its local disk. DuckDB is one writer process, and its file locking is not made for NFS."""

WAREHOUSE_TASK: dict[str, Any] = {"pool": "warehouse", "queue": WAREHOUSE_QUEUE}
"""Keyword arguments of a task that opens the warehouse: the one-slot pool (one writer at a time, whatever
runs a backfill) on the warehouse host's queue."""

PUBLISHED_TASK: dict[str, Any] = {"queue": WAREHOUSE_QUEUE}
"""A task that reads the analysts' published copy (beside the warehouse, on the same disk): that host's queue,
no slot (it never waits on the writer)."""


def daily() -> CronPartitionTimetable:
    """The chain's first stage: one run a day, its partition key the day (``YYYY-MM-DD``)."""
    return CronPartitionTimetable("0 0 * * *", timezone="UTC", key_format="%Y-%m-%d")


def after(asset_uri: str) -> PartitionedAssetTimetable:
    """A stage of the chain: one run per day the stage before publishes ``asset_uri`` (same partition key)."""
    return PartitionedAssetTimetable(assets=Asset(asset_uri))

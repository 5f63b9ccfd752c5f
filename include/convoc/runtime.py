"""What a task needs to know about the run it belongs to, without importing Airflow.

Every stage works on one day. Under a partitioned schedule the day is the run's partition key; under
``dag.test(logical_date=…)``, ``airflow dags test`` or a time-scheduled run it is the logical date; a
manual trigger has neither, and then the ``day`` param names it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from convoc.errors import ConvocError

# Asset URIs shared by producer and consumer DAGs.
REGISTER_ASSET = "convoc://warehouse/core/dim_resident"
WAVES_ASSET = "convoc://warehouse/core/fct_invitation"
LETTERS_ASSET = "convoc://print/letters"
EMAIL_ASSET = "convoc://mail/invitations"
HANDOFF_ASSET = "convoc://print/handoff"
MARTS_ASSET = "convoc://warehouse/marts"

CHAIN = (
    "register_ingest",
    "invitation_waves",
    "letters_render",
    "notify_digital",
    "print_handoff",
    "dispatch_stats",
)
"""The daily chain's DAGs, in the order a day goes through them (each runs once per day): the one list, used by the
deployment (``convoc.deploy.CHAIN_DAGS``) and the control room."""


def _as_day(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ConvocError(f"cannot read a day from {text!r}: expected YYYY-MM-DD") from None


def run_day(conf: Mapping[str, Any] | None, partition_key: Any, logical_date: Any) -> date | None:
    """The day a DAG run works on, from what Airflow stores of it: the ``day`` in its conf (a manual run's
    param), else its partition key, else its logical date; None if it names none (or a day unreadable)."""
    for value in ((conf or {}).get("day"), partition_key, logical_date):
        try:
            day = _as_day(value)
        except ConvocError:
            return None
        if day is not None:
            return day
    return None


def resolve_day(context: Mapping[str, Any]) -> date:
    """The day a task works on: the ``day`` param if set, else partition key, else logical date."""
    params = context.get("params") or {}
    dag_run = context.get("dag_run")
    candidates = (
        params.get("day"),
        context.get("partition_key"),
        getattr(dag_run, "partition_key", None),
        context.get("logical_date"),
    )
    for value in candidates:
        day = _as_day(value)
        if day is not None:
            return day
    raise ConvocError(
        "this run has no day: trigger it with the param day=YYYY-MM-DD "
        "(a manual trigger has no logical date), or run it on its daily schedule"
    )

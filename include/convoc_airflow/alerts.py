"""Alerts by e-mail: every task of every convoc DAG notifies when it fails for good — a failure a retry cannot
mend, or its last retry spent — through the SMTP provider's ``SmtpNotifier`` on the connection ``convoc_smtp``.

Recipients: ``[convoc] alert_to`` (env ``AIRFLOW__CONVOC__ALERT_TO``, comma-separated). Unset, nothing is sent
and the task log says so (a development machine has no mail server). The subject names the DAG, the task and
the day; the body the error summary, the try, and the link to the task's log. The summary is convoc's own
message (written to hold no personal data: file, line, column, rule, piece id) or, for any other exception —
whose text may quote a value — only its type. Subject and body are built here, never rendered as templates:
an error message cannot inject template code.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from airflow.configuration import conf
from airflow.providers.common.compat.notifier import BaseNotifier
from airflow.providers.smtp.notifications.smtp import SmtpNotifier

log = logging.getLogger(__name__)

SMTP_CONNECTION = "convoc_smtp"
SUMMARY_LIMIT = 2000


def recipients() -> list[str]:
    """``[convoc] alert_to``, split on commas."""
    return [r.strip() for r in conf.get("convoc", "alert_to", fallback="").split(",") if r.strip()]


def summary(exc: BaseException | None) -> str:
    """What the alert may say of ``exc``: convoc's message, or Airflow's timeout and failure messages (they
    carry convoc's message or none of the data); any other exception by its type only."""
    from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout, AirflowTaskTimeout

    from convoc.errors import ConvocError

    if exc is None:
        return "no exception recorded (the task was stopped, or its process died): see the log"
    name = type(exc).__name__
    if isinstance(exc, ConvocError | AirflowFailException | AirflowTaskTimeout | AirflowSensorTimeout):
        text = " ".join(str(exc).split())
        return f"{name}: {text[:SUMMARY_LIMIT]}" if text else name
    return f"{name} (its message is withheld here, as it may quote data: see the log)"


def _day(context: Any) -> str:
    from convoc.errors import ConvocError
    from convoc.runtime import resolve_day

    try:
        return resolve_day(context).isoformat()
    except ConvocError:
        return "no day"


def message(context: Any) -> tuple[str, str]:
    """The alert's subject and HTML body for a failed task's ``context``."""
    ti = context.get("ti")
    dag_id = getattr(ti, "dag_id", None) or "?"
    task_id = getattr(ti, "task_id", None) or "?"
    map_index = getattr(ti, "map_index", -1)
    label = context.get("map_label") or (str(map_index) if map_index is not None and map_index >= 0 else "")
    task = f"{task_id}[{label}]" if label else task_id
    day = _day(context)
    error = summary(context.get("exception"))
    url = getattr(ti, "log_url", "") or ""
    tries = getattr(ti, "try_number", None)
    subject = f"[convoc] {dag_id}.{task} failed for {day}"
    body = (
        f"<p><b>{html.escape(dag_id)}</b> · task <b>{html.escape(task)}</b> · day <b>{html.escape(day)}</b>"
        f"{f' · try {tries}' if tries else ''}</p>"
        f"<p>{html.escape(error)}</p>"
        f'<p>Log: <a href="{html.escape(url)}">{html.escape(url)}</a></p>'
        "<p>Retries are spent or cannot help: the run stays failed until someone clears it. "
        "docs/operations.md, “Alerts”, says what each stage's failures mean.</p>"
    )
    return subject, body


class ConvocAlert(BaseNotifier):  # type: ignore[misc]
    """A task's failure alert: a fresh ``SmtpNotifier`` per alert, on ``convoc_smtp`` to ``[convoc] alert_to``
    (read when the alert is sent), with convoc's subject and body. Nothing is kept between alerts: the one
    instance in the default arguments serves every task of a process (``dag.test`` runs many)."""

    template_fields = ()

    def notify(self, context: Any) -> None:
        to = recipients()
        if not to:
            log.warning("no alert sent: [convoc] alert_to (AIRFLOW__CONVOC__ALERT_TO) names no recipient")
            return
        subject, body = message(context)
        SmtpNotifier(to=to, subject=subject, html_content=body, smtp_conn_id=SMTP_CONNECTION).notify(context)

"""Failure alerts through the SMTP provider to a real SMTP server (aiosmtpd, started by the test): subject with
DAG, task and day; body with the error summary and the log URL; never the text of an exception that is not
convoc's own; nothing sent (and said so) without recipients."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from conftest import ALERT_TO, SmtpSink, smtp_connection, smtp_server

from convoc.errors import ConvocError
from convoc_airflow.alerts import ConvocAlert, message, summary
from convoc_dev.airflow_local import free_port

LOG_URL = (
    "http://airflow.example.org/dags/letters_render/runs/scheduled__2021-01-29/tasks/verify_batch/mapped/3?try_number=1"
)


def _context(exception: BaseException | None) -> dict[str, object]:
    ti = SimpleNamespace(dag_id="letters_render", task_id="verify_batch", map_index=3, try_number=1, log_url=LOG_URL)
    return {"ti": ti, "exception": exception, "params": {"day": "2021-01-29"}, "map_label": "J20210129-0004"}


def test_an_alert_reaches_the_smtp_server(smtp_sink: SmtpSink) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    failure = AirflowFailException("J20210129-0004.pdf: page 17 holds piece 1234, expected 1233 [verify]")
    ConvocAlert()(_context(failure))
    [(to, mail)] = smtp_sink.messages
    assert sorted(to) == sorted(ALERT_TO)
    assert mail["Subject"] == "[convoc] letters_render.verify_batch[J20210129-0004] failed for 2021-01-29"
    assert mail["From"] == "convoc@example.org"
    body = mail.get_body(("html",)).get_content()
    assert "page 17 holds piece 1234, expected 1233" in body
    assert f'href="{LOG_URL.replace("&", "&amp;")}"' in body


def test_a_foreign_exception_is_named_not_quoted(smtp_sink: SmtpSink) -> None:
    class ConversionException(Exception):  # e.g. DuckDB's, quoting the value it choked on
        pass

    ConvocAlert()(_context(ConversionException("Could not convert 'DUPONT Marie, 1985041512345' to DATE")))
    [(_, mail)] = smtp_sink.messages
    body = mail.get_body(("html",)).get_content()
    assert "ConversionException" in body and "DUPONT" not in body and "1985041512345" not in body


def test_the_summary_keeps_convocs_words_and_drops_the_rest() -> None:
    from airflow.sdk.exceptions import AirflowTaskTimeout

    assert summary(ConvocError("register_20210129.csv: line 12 [rule malformed_row]")).endswith("[rule malformed_row]")
    assert summary(AirflowTaskTimeout("Timeout, PID: 42")) == "AirflowTaskTimeout: Timeout, PID: 42"
    assert "withheld" in summary(KeyError("1985041512345"))
    assert "no exception" in summary(None)
    subject, body = message(_context(ConvocError("<script>x</script>")))
    assert "<script>" not in body and "&lt;script&gt;" in body and "\n" not in subject


def test_without_recipients_nothing_is_sent(smtp_sink: SmtpSink, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AIRFLOW__CONVOC__ALERT_TO", "")
    caplog.set_level(logging.WARNING)
    ConvocAlert()(_context(ConvocError("x")))
    assert smtp_sink.messages == [] and "no alert sent" in caplog.text


def test_an_unreachable_server_fails_loudly(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AIRFLOW_CONN_CONVOC_SMTP", smtp_connection(free_port()))  # nothing listens there
    monkeypatch.setenv("AIRFLOW__CONVOC__ALERT_TO", ALERT_TO[0])
    with pytest.raises(Exception):  # noqa: B017 (the provider's own error; Airflow logs it beside the task's)
        ConvocAlert()(_context(ConvocError("x")))


def test_one_alert_object_serves_every_task(smtp_sink: SmtpSink, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The default arguments hold one ConvocAlert: it keeps no server, recipient or subject between alerts."""
    alert = ConvocAlert()
    alert(_context(ConvocError("first")))
    with smtp_server(monkeypatch) as other:  # another server, other recipients, another day
        monkeypatch.setenv("AIRFLOW__CONVOC__ALERT_TO", "night@example.org")
        ctx = _context(ConvocError("second"))
        ctx["params"] = {"day": "2021-01-30"}
        alert(ctx)
    [(_, first)] = smtp_sink.messages
    [(to, second)] = other.messages
    assert "first" in first.get_body(("html",)).get_content() and to == ["night@example.org"]
    assert second["Subject"].endswith("failed for 2021-01-30") and "second" in second.get_body(("html",)).get_content()

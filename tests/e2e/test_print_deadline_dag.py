"""print_deadline with dag.test(): a day whose print job is not READY past the cut-off fails once, without
retry, and the alert reaches a real SMTP server saying the deadline was missed; a READY job passes silently."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import SmtpSink, run_dag

from convoc.config import Settings

pytestmark = pytest.mark.slow

DAY = date(2021, 1, 29)


@pytest.fixture(scope="module")
def dag(dagbag):  # type: ignore[no-untyped-def]
    return dagbag["print_deadline"]


def test_a_missed_deadline_alerts_once(dag, settings: Settings, smtp_sink: SmtpSink) -> None:  # type: ignore[no-untyped-def]
    settings.landing.mkdir(parents=True)
    (settings.landing / "register_20210129.csv").write_text("matricule\n")  # the day had input, and no job came
    assert run_dag(dag, DAY) == "failed"
    [(_, mail)] = smtp_sink.messages
    assert mail["Subject"] == "[convoc] print_deadline.job_ready failed for 2021-01-29"
    body = mail.get_body(("html",)).get_content()
    assert "deadline missed: print job J20210129 is not READY" in body and "2021-01-29 14:00 Europe/Luxembourg" in body


def test_a_ready_job_passes_without_a_word(dag, settings: Settings, smtp_sink: SmtpSink) -> None:  # type: ignore[no-untyped-def]
    receipts = settings.print_root / "deliveries"
    receipts.mkdir(parents=True)
    (receipts / "J20210129.json").write_text('{"job_id": "J20210129"}')
    assert run_dag(dag, DAY) == "success"
    assert smtp_sink.messages == []

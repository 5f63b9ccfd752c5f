"""register_ingest → invitation_waves → notify_digital with dag.test(), against a real SMTP server (aiosmtpd) on the
Airflow connection ``convoc_smtp``: every e-mail invitation of the day is received once, parses, and carries the
booking QR code of its invitation; each attempt is recorded; running the day again sends nothing."""

from __future__ import annotations

import io
from datetime import date

import duckdb
import pytest
import zxingcpp
from conftest import run_dag, smtp_server
from PIL import Image

from convoc.config import Settings
from convoc.letters.render import BOOKING_URL
from convoc.notify.messages import message_id
from convoc_dev.synth import generate

pytestmark = pytest.mark.slow

DAY = date(2021, 1, 29)


def test_the_days_emails_are_sent_once_and_recorded(
    dagbag, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CONVOC_SIGNING_KEY", "s" * 40)
    monkeypatch.setenv("CONVOC_CAPACITY_SCALE", str(3_000 / 634_730))
    monkeypatch.setenv("CONVOC_EMAIL_RATE", "0")
    generate(residents=3_000, seed=5, out=settings.landing, start_date=DAY)
    assert run_dag(dagbag["register_ingest"], DAY) == "success"
    assert run_dag(dagbag["invitation_waves"], DAY) == "success"
    with smtp_server(monkeypatch) as sink:
        assert run_dag(dagbag["notify_digital"], DAY) == "success"
        received = list(sink.messages)
        assert run_dag(dagbag["notify_digital"], DAY) == "success"  # the day again: nothing more
        assert len(sink.messages) == len(received)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        expected = dict(
            con.execute(
                "select i.invitation_id, i.booking_code from core.fct_invitation as i "
                "where i.wave_date = $d and i.channel in ('email', 'both')",
                {"d": DAY},
            ).fetchall()
        )
        recorded = con.execute(
            "select count(*), count(distinct invitation_id), min(status), max(status), min(smtp_code) "
            "from core.fct_email_attempt where wave_date = $d",
            {"d": DAY},
        ).fetchall()[0]
    assert len(expected) > 10
    assert recorded == (len(expected), len(expected), "sent", "sent", 250)
    by_id = {msg["Message-ID"]: msg for _, msg in received}
    assert sorted(by_id) == sorted(message_id(i) for i in expected)
    # one of them, parsed as a mail client would: its inline code opens its own booking URL
    invitation_id, code = sorted(expected.items())[0]
    msg = by_id[message_id(invitation_id)]
    [image] = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    decoded = {b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(image.get_content())))}
    assert decoded == {BOOKING_URL + code}
    assert code in msg.get_body(preferencelist=("plain",)).get_content()

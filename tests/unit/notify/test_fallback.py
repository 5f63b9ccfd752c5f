"""Paper when e-mail fails: an invitation sent by e-mail only whose message was refused for good, deferred too
often, or hard-bounced (the relay's bounce file, loaded like every landing file) gets its paper letter — same code,
same validity — in the next day's letters, once; a soft bounce, a message accepted, a booked or expired code,
or an invitation that had a letter anyway (channel both) gets none."""

from __future__ import annotations

import smtplib
from datetime import date, timedelta
from typing import Any

import duckdb
import pytest

from convoc import ingest, warehouse
from convoc.campaigns import load_centres
from convoc.config import Settings
from convoc.letters.batches import letter_pieces
from convoc.notify.outbox import cut_outbox, record_messages, send_outbox
from convoc.waves.run import run_waves
from convoc_dev.synth import generate
from tests.unit.notify.test_email import Server, server

__all__ = ["server"]  # the fixture: a real SMTP server for the test

D1 = date(2021, 1, 29)
D2 = D1 + timedelta(days=1)
D3 = D2 + timedelta(days=1)


def _load(settings: Settings, day: date) -> None:
    extracted = ingest.extract_day(settings, day)
    verdicts = ingest.validate_day(settings, extracted, day, accept_row_count_change=True)
    ingest.load_day(settings, extracted, verdicts, day)


def _letters(settings: Settings, day: date) -> set[str]:
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        frame = letter_pieces(con, day)
    return set(frame["invitation_id"])


@pytest.mark.parametrize("server", ["pipelining"], indirect=True)  # the server's dialect is test_email's business
def test_a_failed_or_hard_bounced_email_becomes_a_letter_the_next_day_once(
    settings: Settings, server: tuple[Server, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler, port = server
    monkeypatch.setenv("CONVOC_CAPACITY_SCALE", "0.01")
    generate(residents=2_500, seed=9, out=settings.landing, start_date=D1, days=3)
    _load(settings, D1)
    run_waves(Settings.from_env(), D1, b"b" * 32)
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        emails: list[Any] = con.execute(
            "select i.invitation_id, p.email, i.channel from core.fct_invitation as i "
            "join core.dim_resident as r on r.resident_id = i.resident_id and r.is_current "
            "join core.dim_contact_preference as p on p.matricule = r.matricule and p.is_current "
            "where i.wave_date = $d and i.channel in ('email', 'both') order by 1",
            {"d": D1},
        ).fetchall()
    only = [(i, e) for i, e, c in emails if c == "email"]
    both = [(i, e) for i, e, c in emails if c == "both"]
    assert len(only) >= 5 and both
    refused, deferred, hard, soft, fine = only[:5]
    handler.refuse = {refused[1]: 550, deferred[1]: 451, both[0][1]: 550}
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        outbox, _ = cut_outbox(con, D1, settings.mail_root, load_centres())
    connect = lambda: smtplib.SMTP("127.0.0.1", port, timeout=5)  # noqa: E731
    for attempt in (1, 2, 3):  # the task's attempts: the deferred one is tried three times
        send_outbox(outbox, connect, day=D1, sender="invitations@convoc.example.lu", attempt=attempt)
    with warehouse.connect(settings.warehouse) as con, warehouse.transaction(con):
        record_messages(con, D1, settings.mail_root)
    # the relay's bounce notices, the next morning: one hard, one soft, one for a message nobody sent
    message = {i: f"<{i.replace(':', '.')}@invitations.convoc.example.lu>" for i, _ in only}
    (settings.landing / f"email_bounces_{D2:%Y%m%d}.csv").write_text(
        "message_id,bounced_at,kind\n"
        f"{message[hard[0]]},2021-01-29 18:00,hard\n"
        f"{message[soft[0]]},2021-01-29 18:05,soft\n"
        "<stranger.1@example.org>,2021-01-29 18:10,hard\n"
    )
    _load(settings, D2)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("select line_number, rule from quarantine.email_bounces_rejects").fetchall() == [
            (4, "unknown_message")
        ]
        assert con.execute("select invitation_id, kind from core.fct_email_bounce order by 2").fetchall() == [
            (hard[0], "hard"),
            (soft[0], "soft"),
        ]
    run_waves(Settings.from_env(), D2, b"b" * 32)
    fallbacks = _letters(settings, D2) & {i for i, *_ in emails}
    assert fallbacks == {refused[0], deferred[0], hard[0]}  # not soft, not fine, not both (it had its letter)
    # the letters of D2 printed: on D3, none of them again
    with warehouse.connect(settings.warehouse) as con, warehouse.transaction(con):
        for n, invitation_id in enumerate(sorted(fallbacks), start=1):
            con.execute(
                "insert into core.fct_print_batch_letter values ($d, 'J20210130', 'J20210130-0001', $n, $i)",
                {"d": D2, "n": n, "i": invitation_id},
            )
    assert not _letters(settings, D3) & fallbacks
    assert fine[0] not in _letters(settings, D3)

"""E-mail invitations against a real SMTP server (aiosmtpd, started by the test): what a message holds, and
that each is sent once — across re-runs, and when the sending process is killed in the middle of a batch."""

from __future__ import annotations

import email
import email.policy
import io
import os
import signal
import smtplib
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import zxingcpp
from PIL import Image

from convoc import faults
from convoc.letters.render import BOOKING_URL, load_templates
from convoc.notify.messages import Invitation, build_message, message_id
from convoc.notify.outbox import LEDGER, MAX_TRIES, Entry, read_ledger, send_outbox
from convoc_dev.mailsink import Relay
from tests.unit.letters.test_render import make_letter

DAY = date(2021, 2, 1)


def attempts(entries: list[Entry]) -> list[tuple[str, str, int, str, int | None, str]]:
    """One row per answered attempt, as core.fct_email_attempt records them: (invitation id, message id, attempt
    number, status, code, when)."""
    count: dict[str, int] = {}
    out = []
    for e in entries:
        if e.event != "sending":
            count[e.invitation_id] = count.get(e.invitation_id, 0) + 1
            out.append((e.invitation_id, e.message_id, count[e.invitation_id], e.event, e.code, e.at))
    return out


SENDER = "invitations@convoc.example.lu"


class Server(Relay):
    """What the server received, and how it answers: a recipient in ``refuse`` gets that code at RCPT. It offers
    PIPELINING unless ``pipelining`` is False."""

    def __init__(self, pipelining: bool = True) -> None:
        self.received: list[Any] = []
        self.refuse: dict[str, int] = {}
        self.pipelining = pipelining

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        code = self.refuse.get(address)
        if code:
            return f"{code} {'try again later' if code < 500 else 'no such mailbox'}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture(params=["pipelining", "one command at a time"])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[Server, int]]:
    from aiosmtpd.controller import Controller

    from convoc_dev.airflow_local import free_port

    handler, port = Server(pipelining=request.param == "pipelining"), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def outbox(folder: Path, n: int, language: str = "fr") -> Path:
    """An outbox as ``cut_outbox`` writes it: ``n`` e-mail invitations."""
    rows = []
    for k in range(1, n + 1):
        letter = make_letter(k, booking_code=f"7QK2-M0ZD-{k:04d}", language=language)
        rows.append(
            {
                "invitation_id": letter.invitation_id,
                "campaign": letter.campaign,
                "language": letter.language,
                "format": "standard",
                "family_name": letter.family_name,
                "given_name": letter.given_name,
                "email": f"person{k}@example.lu",
                "booking_code": letter.booking_code,
                "valid_from": letter.valid_from,
                "valid_until": letter.valid_until,
                "centre": "victor_hugo",
                "phase": letter.phase,
                "centre_name": letter.centre_name,
                "centre_address": list(letter.centre_address),
            }
        )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "outbox.parquet"
    pl.DataFrame(rows).write_parquet(path)
    return path


def connect(port: int) -> Any:
    return lambda: smtplib.SMTP("127.0.0.1", port, timeout=5)


def test_a_message_has_text_accessible_html_and_an_inline_code_that_decodes_to_the_booking_url() -> None:
    letter = make_letter(7, language="de", booking_code="7QK2-M0ZD-4R1X")
    built = build_message(Invitation(letter, "anna@example.lu"), load_templates([letter]), sent_on=DAY)
    msg = email.message_from_bytes(built.as_bytes(policy=email.policy.SMTP), policy=email.policy.default)
    assert msg["Message-ID"] == message_id(letter.invitation_id) == "<vaccination.1.7.1@invitations.convoc.example.lu>"
    assert msg["To"] == "anna@example.lu" and msg["Content-Language"] == "de"
    assert msg["Subject"] == "Einladung zur Impfung gegen COVID-19"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    url = BOOKING_URL + letter.booking_code
    assert "7QK2-M0ZD-4R1X" in text and url in text and "1. Februar 2021" in text
    assert '<html lang="de">' in html and html.count("<h1>") == 1 and "7QK2-M0ZD-4R1X</span>" in html
    assert f'href="{url}"' in html and 'alt="QR-Code zur Terminbuchung: er öffnet ' + url + '"' in html
    [image] = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert f'src="cid:{image["Content-ID"][1:-1]}"' in html
    decoded = {b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(image.get_content())))}
    assert decoded == {url}


def test_a_bilingual_message_when_the_language_is_unknown() -> None:
    letter = make_letter(8, language=None)
    built = build_message(Invitation(letter, "x@example.lu"), load_templates([letter]), sent_on=DAY)
    html = built.get_body(preferencelist=("html",)).get_content()
    assert built["Content-Language"] == "fr, de" and " / " in built["Subject"]
    assert '<section lang="fr">\n<h1>' in html and '<section lang="de">\n<h2>' in html


def test_each_message_is_sent_once_over_one_connection_and_a_rerun_sends_nothing(
    tmp_path: Path, server: tuple[Server, int]
) -> None:
    handler, port = server
    path = outbox(tmp_path / "mail" / "20210201", 12)
    opened = []

    def counting() -> smtplib.SMTP:
        opened.append(1)
        return smtplib.SMTP("127.0.0.1", port, timeout=5)

    result = send_outbox(path, counting, day=DAY, sender=SENDER)
    assert (result.sent, result.deferred, result.failed, result.done_before) == (12, 0, 0, 0)
    assert len(opened) == 1  # one connection for the whole batch
    assert sorted(m["Message-ID"] for m in handler.received) == sorted(
        message_id(f"vaccination:1:{k}:1") for k in range(1, 13)
    )
    again = send_outbox(path, counting, day=DAY, sender=SENDER, attempt=2)
    assert (again.sent, again.done_before) == (0, 12) and len(handler.received) == 12
    assert [a[2:4] for a in attempts(read_ledger(path.parent / LEDGER))] == [(1, "sent")] * 12


def test_the_hand_over_stuffs_leading_dots_and_prepares_the_next_message_before_reading_the_answer(
    server: tuple[Server, int],
) -> None:
    from convoc.notify.outbox import _hand_over

    handler, port = server
    body = b"Subject: dots\r\n\r\n.one leading dot\r\n..two\r\n.\r\nend\r\n"
    seen: list[str] = []

    writes: list[bytes] = []

    class Client(smtplib.SMTP):
        def send(self, s: str | bytes) -> None:
            if self.does_esmtp:  # after EHLO
                writes.append(s.encode() if isinstance(s, str) else s)
            super().send(s)

        def getreply(self) -> tuple[int, bytes]:
            reply = super().getreply()
            seen.append(f"reply {reply[0]}")
            return reply

    with Client("127.0.0.1", port, timeout=5) as client:
        assert _hand_over(client, SENDER, "a@example.lu", body, lambda: seen.append("meanwhile")) == 250
        handler.refuse = {"b@example.lu": 550}
        assert _hand_over(client, SENDER, "b@example.lu", body, lambda: seen.append("never")) == 550
        assert _hand_over(client, SENDER, "c@example.lu", body[:-2]) == 250  # no final line break: one is added
    assert [m.get_content() for m in handler.received] == [".one leading dot\r\n..two\r\n.\r\nend\r\n"] * 2
    # the next message is prepared after this one's last byte is written, before its answer is read; a refused
    # recipient never gets as far as the data
    assert seen[:6] == ["reply 220", "reply 250", "reply 250", "reply 250", "reply 354", "meanwhile"]
    assert seen[6] == "reply 250" and "never" not in seen
    # with PIPELINING, MAIL, RCPT and DATA went in one write: two writes a message (commands, then the data)
    mail, rcpt = b"MAIL FROM:<%s>\r\n" % SENDER.encode(), b"RCPT TO:<a@example.lu>\r\n"
    if handler.pipelining:
        assert writes[0] == mail + rcpt + b"DATA\r\n" and writes[1].endswith(b"end\r\n.\r\n")
    else:
        assert writes[:3] == [mail, rcpt, b"data\r\n"] and writes[3].endswith(b"end\r\n.\r\n")


def test_a_rate_limit_paces_the_batch(tmp_path: Path, server: tuple[Server, int]) -> None:
    _, port = server
    result = send_outbox(outbox(tmp_path / "d", 6), connect(port), day=DAY, sender=SENDER, rate=20)
    assert result.sent == 6 and result.seconds >= 5 / 20


def test_an_outbox_read_in_slices_sends_each_pending_message_once_in_order(
    tmp_path: Path, server: tuple[Server, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from convoc.notify import outbox as outbox_module

    monkeypatch.setattr(outbox_module, "SEND_SLICE", 3)  # 11 messages: slices of 3, 3, 3 and 2
    handler, port = server
    handler.refuse = {"person5@example.lu": 451}  # deferred: pending again on the retry, in the second slice
    path = outbox(tmp_path / "d", 11)
    first = send_outbox(path, connect(port), day=DAY, sender=SENDER)
    assert (first.messages, first.sent, first.deferred) == (11, 10, 1)
    order = [e.invitation_id for e in read_ledger(path.parent / LEDGER) if e.event == "sending"]
    assert order == [f"vaccination:1:{k}:1" for k in range(1, 12)]
    handler.refuse = {}
    retry = send_outbox(path, connect(port), day=DAY, sender=SENDER, attempt=2)
    assert (retry.sent, retry.done_before) == (1, 10)
    assert sorted(p.name for p in path.parent.iterdir()) == [LEDGER, "outbox.parquet"]  # its working copy gone
    assert sorted(m["Message-ID"] for m in handler.received) == sorted(
        message_id(f"vaccination:1:{k}:1") for k in range(1, 12)
    )


def test_refusals_are_recorded_deferred_ones_tried_again_up_to_a_limit(
    tmp_path: Path, server: tuple[Server, int]
) -> None:
    handler, port = server
    handler.refuse = {"person2@example.lu": 550, "person3@example.lu": 451}
    path = outbox(tmp_path / "d", 4)
    first = send_outbox(path, connect(port), day=DAY, sender=SENDER)
    assert (first.sent, first.deferred, first.failed) == (2, 1, 1)
    for attempt in range(2, MAX_TRIES + 2):
        send_outbox(path, connect(port), day=DAY, sender=SENDER, attempt=attempt)
    rows = attempts(read_ledger(path.parent / LEDGER))
    assert [(i, n, status, code) for i, _, n, status, code, _ in rows if i.endswith(":3:1")] == [
        ("vaccination:1:3:1", n, "deferred", 451) for n in range(1, MAX_TRIES + 1)
    ]  # deferred three times, then given up (the paper letter's business)
    assert [(status, code) for i, _, _, status, code, _ in rows if i.endswith(":2:1")] == [("failed", 550)]
    assert len(handler.received) == 2


def test_the_warehouse_records_every_answered_attempt_of_the_ledger(tmp_path: Path, server: tuple[Server, int]) -> None:
    import duckdb

    from convoc import warehouse
    from convoc.notify.outbox import day_dir, record_messages

    handler, port = server
    handler.refuse = {"person2@example.lu": 550, "person3@example.lu": 451}
    path = outbox(day_dir(tmp_path, DAY), 4)
    for attempt in (1, 2):
        send_outbox(path, connect(port), day=DAY, sender=SENDER, attempt=attempt)
    with (path.parent / LEDGER).open("a") as ledger:
        ledger.write('{"id": "vaccination:1:4:1", "mid": "<x>", "event": "sent", "co')  # torn by a crash
    expected = [
        (i, DAY, mid, n, status, code, datetime.fromisoformat(at).replace(tzinfo=None))
        for i, mid, n, status, code, at in attempts(read_ledger(path.parent / LEDGER))
    ]
    with duckdb.connect() as con:
        warehouse.ensure_schema(con)
        assert record_messages(con, DAY, tmp_path) == len(expected) == 5  # 1 and 4 sent, 2 failed, 3 deferred × 2
        assert record_messages(con, DAY, tmp_path) == 5  # replaced, not added
        assert con.execute("select * from core.fct_email_attempt order by all").fetchall() == sorted(expected)
        assert record_messages(con, DAY, tmp_path / "elsewhere") == 0  # no ledger: no e-mail that day


def test_the_messages_still_to_send_are_found_from_the_outbox_and_the_ledger_in_outbox_order(tmp_path: Path) -> None:
    import json

    from convoc.notify.outbox import _todo

    path = outbox(tmp_path / "d", 8)
    events = {
        1: ["sending", "sent"],
        2: ["sending", "failed"],
        3: ["sending", "deferred"] * MAX_TRIES,  # given up
        4: ["sending", "deferred"],  # to try again
        5: ["sending"],  # in flight when the machine was lost
        7: ["sending", "deferred", "sending", "sent"],
    }
    lines = [
        json.dumps({"id": f"vaccination:1:{k}:1", "mid": "m", "event": e, "code": None, "at": "t", "try": 1})
        for k, es in events.items()
        for e in es
    ]
    (path.parent / LEDGER).write_text("\n".join(lines) + '\n{"id": "vaccination:1:8:1", "mid": "m", "ev')
    todo, pending, done = _todo(path, path.parent / LEDGER)
    assert (pending, done) == (4, 4)
    assert pl.read_parquet(todo)["invitation_id"].to_list() == [f"vaccination:1:{k}:1" for k in (4, 5, 6, 8)]
    assert pl.read_parquet(todo).columns == pl.read_parquet(path).columns
    assert todo.stat().st_mode & 0o777 == 0o600
    (path.parent / LEDGER).unlink()  # no ledger yet: everything is to send
    assert _todo(path, path.parent / LEDGER)[1:] == (8, 0)


SEND = """
import smtplib, sys
from datetime import date
from pathlib import Path
from convoc.notify.outbox import send_outbox
port = int(sys.argv[2])
send_outbox(Path(sys.argv[1]), lambda: smtplib.SMTP("127.0.0.1", port, timeout=5), day=date(2021, 2, 1),
            sender="invitations@convoc.example.lu")
"""


def test_a_task_killed_mid_batch_resends_only_the_message_in_flight(tmp_path: Path, server: tuple[Server, int]) -> None:
    handler, port = server
    path = outbox(tmp_path / "d", 20)
    plan = tmp_path / "faults"
    faults.arm(plan, ["notify.send.mid_batch"])
    env = {**os.environ, faults.PLAN_ENV: str(plan)}
    killed = subprocess.run([sys.executable, "-c", SEND, str(path), str(port)], env=env, check=False)
    assert killed.returncode == -signal.SIGKILL and faults.fired(plan) == {"notify.send.mid_batch"}
    before = len(handler.received)
    assert before == 11  # messages 1–11 accepted; the 11th's answer never reached the ledger
    retry = send_outbox(path, connect(port), day=DAY, sender=SENDER, attempt=2)
    assert (retry.sent, retry.done_before) == (10, 10)
    ids = [m["Message-ID"] for m in handler.received]
    assert len(ids) == 21 and len(set(ids)) == 20  # every message once, the one in flight twice...
    assert ids.count(message_id("vaccination:1:11:1")) == 2  # ...under the same Message-ID
    assert [a[0] for a in attempts(read_ledger(path.parent / LEDGER))] == [
        f"vaccination:1:{k}:1" for k in [*range(1, 11), *range(11, 21)]
    ]


def test_the_demos_mail_sink_writes_what_it_receives_and_stops_by_pid(tmp_path: Path) -> None:
    import time

    from convoc_dev.airflow_local import free_port

    port, out, pid_file = free_port(), tmp_path / "inbox", tmp_path / "sink.pid"
    command = ["mail-sink", "--port", str(port), "--out", str(out), "--pid-file", str(pid_file)]
    sink = subprocess.Popen([sys.executable, "-m", "convoc_dev.cli", *command], stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(100):
            if pid_file.exists():
                break
            time.sleep(0.1)
        assert int(pid_file.read_text()) == sink.pid
        result = send_outbox(outbox(tmp_path / "d", 3), connect(port), day=DAY, sender=SENDER)
        assert result.sent == 3
    finally:
        sink.send_signal(signal.SIGTERM)
        output, _ = sink.communicate(timeout=10)
    assert sink.returncode == 0 and "3 messages" in output and not pid_file.exists()
    files = sorted(out.glob("*.eml"))
    assert [f.name for f in files] == ["0000001.eml", "0000002.eml", "0000003.eml"]
    assert all(os.stat(f).st_mode & 0o777 == 0o600 for f in files)
    first = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert first["Message-ID"] == message_id("vaccination:1:1:1")


def test_housekeeping_removes_an_old_outbox_and_keeps_its_ledger(settings: Any) -> None:
    from convoc.housekeeping import _old_files, remove

    old, recent = settings.mail_root / "20210101", settings.mail_root / "20210301"
    for folder in (old, recent):
        outbox(folder, 1)
        (folder / LEDGER).write_text('{"id":"vaccination:1:1:1","event":"sent"}\n')
    done = _old_files(settings, date(2021, 2, 1))
    assert [(d.kind, d.item) for d in done] == [("mail_outbox", "mail/20210101/outbox.parquet")]
    remove(done)
    assert not (old / "outbox.parquet").exists() and (old / LEDGER).exists()  # names and addresses gone, ids kept
    assert (recent / "outbox.parquet").exists()


def test_the_qr_image_is_base64_in_lines_of_76_characters() -> None:
    """RFC 2045: base64 lines of at most 76 characters; every line but the last exactly 76, CRLF-ended, decoding to
    the QR image of the booking URL."""
    import base64

    from convoc.notify.messages import message_bytes, qr_png

    letter = make_letter(11)
    data = message_bytes(Invitation(letter, "x@example.lu"), load_templates([letter]), sent_on=DAY)
    image_part = data.split(b"Content-Type: image/png\r\n", 1)[1]
    body = image_part.split(b"\r\n\r\n", 1)[1].split(b"--=_rel_", 1)[0]
    assert body.endswith(b"\r\n")
    lines = body[:-2].split(b"\r\n")
    assert len(lines) > 2 and all(len(x) == 76 for x in lines[:-1]) and 0 < len(lines[-1]) <= 76
    assert base64.b64decode(b"".join(lines), validate=True) == qr_png(BOOKING_URL + letter.booking_code)


@pytest.mark.parametrize("language", ["fr", "de", "en", "pt", None])
def test_the_wire_form_is_the_standard_librarys_message(language: str | None) -> None:
    """What is sent (``message_bytes``, written directly) parses to what the standard library builds."""
    from convoc.notify.messages import message_bytes

    letter = make_letter(3, language=language, given_name="Zoë Inês", family_name="Gonçalves-Müller")
    invitation, templates = Invitation(letter, "zoe@example.lu"), load_templates([letter])
    fast = email.message_from_bytes(message_bytes(invitation, templates, sent_on=DAY), policy=email.policy.default)
    reference = email.message_from_bytes(
        build_message(invitation, templates, sent_on=DAY).as_bytes(policy=email.policy.SMTP),
        policy=email.policy.default,
    )
    for header in ("Message-ID", "From", "To", "Subject", "Date", "Content-Language", "Auto-Submitted"):
        assert fast[header] == reference[header], header
    assert [p.get_content_type() for p in fast.walk()] == [p.get_content_type() for p in reference.walk()]
    for kind in ("plain", "html"):
        assert fast.get_body((kind,)).get_content() == reference.get_body((kind,)).get_content(), kind
    images = [next(p for p in m.walk() if p.get_content_type() == "image/png") for m in (fast, reference)]
    assert images[0].get_content() == images[1].get_content() and images[0]["Content-ID"] == images[1]["Content-ID"]
    assert all(len(line) <= 998 for line in message_bytes(invitation, templates, sent_on=DAY).split(b"\r\n"))

"""A local SMTP server for the demo: the mail relay the e-mail invitations go to, played back.

``convoc-dev mail-sink --port P --out DIR`` listens on 127.0.0.1 (aiosmtpd) and writes every message it accepts to
``DIR`` as ``<n>.eml`` (owner-only: they hold names and addresses), until it is stopped (SIGTERM or SIGINT); with
``--pid-file`` it writes its process id there, so ``make demo`` stops it by PID. Nothing leaves the machine.

With ``--landing DIR --bounces RATE`` it also plays the relay's bounce reports: that share of the messages it
accepted bounce (hard, a fifth of them soft), reported in ``DIR/email_bounces_YYYYMMDD.csv`` for the day after the
message's date — the landing file ``register_ingest`` loads, which sends the paper letter instead.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
from datetime import timedelta
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from convoc.files import private_dirs, write_private


class Relay:
    """An aiosmtpd handler that offers PIPELINING (RFC 2920), as production relays (Postfix, Exim, the mail
    services) do. aiosmtpd reads commands one at a time from its stream and answers them in order, so pipelined
    commands work with it; it only does not say so. ``pipelining = False``: a server that does not offer it."""

    pipelining = True

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if not self.pipelining:
            return responses
        return [*responses[:-1], "250-PIPELINING", responses[-1]]


class Inbox(Relay):
    """Writes what the server accepts to a folder, one ``.eml`` per message, numbered in arrival order."""

    def __init__(self, out: Path, landing: Path | None = None, bounces: float = 0.0, seed: int = 42) -> None:
        private_dirs(out)
        self.out = out
        self.count = len(list(out.glob("*.eml")))
        self.lock = threading.Lock()
        self.landing, self.bounces, self.rng = landing, bounces, random.Random(seed)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.count += 1
            write_private(self.out / f"{self.count:07d}.eml", bytes(envelope.content))
            if self.landing is not None and self.rng.random() < self.bounces:
                self._bounce(bytes(envelope.content))
        return "250 OK"

    def _bounce(self, content: bytes) -> None:
        headers = BytesHeaderParser().parsebytes(content)
        sent = parsedate_to_datetime(headers["Date"])
        kind = "soft" if self.rng.random() < 0.2 else "hard"
        path = self.landing / f"email_bounces_{sent.date() + timedelta(days=1):%Y%m%d}.csv"  # type: ignore[operator]
        fresh = not path.exists()
        with open(path, "a", encoding="utf-8") as f:
            if fresh:
                f.write("message_id,bounced_at,kind\n")
            f.write(f"{headers['Message-ID']},{sent + timedelta(hours=2):%Y-%m-%d %H:%M},{kind}\n")


def serve(port: int, out: Path, pid_file: Path | None = None, landing: Path | None = None, bounces: float = 0.0) -> int:
    """Run the server until SIGTERM or SIGINT; the number of messages it wrote."""
    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every sender and recipient at INFO
    inbox = Inbox(out, landing, bounces)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    if pid_file is not None:
        write_private(pid_file, f"{os.getpid()}\n".encode())
    print(f"mail sink on 127.0.0.1:{port}, writing to {out}", flush=True)
    try:
        stop.wait()
    finally:
        controller.stop()
        if pid_file is not None:
            pid_file.unlink(missing_ok=True)
    return inbox.count

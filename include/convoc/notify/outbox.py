"""The day's e-mail invitations: cut from the warehouse, sent exactly once, recorded.

``cut_outbox`` (warehouse, read) → ``send_outbox`` (no warehouse; the SMTP server) → ``record_messages``
(warehouse, write). Under ``$CONVOC_HOME/mail/<YYYYMMDD>/``, owner-only (addresses and names):

- ``outbox.parquet``: one row per e-mail invitation of the day (``int_messages__outbox``), replaced when the day
  is cut again;
- ``ledger.jsonl``: the send ledger, **never replaced**: one line when a message is about to be handed to the
  server (``sending``) and one with the server's answer (``sent``, ``deferred``, ``failed`` and the reply code).

Exactly once: a message whose last ledger line is ``sent`` or ``failed`` is never sent again — not by a retry,
a re-run or a backfill of the day (the waves give an invitation the same id on a re-run). Messages are sent one
at a time, each line written (``O_APPEND``) before the next step, so a task killed mid-batch leaves at most one
message whose answer is unknown (``sending`` without an answer): the retry sends it again, under the same
``Message-ID``, which lets a mail client show it once. Lines survive the killed process (the kernel holds
them); the ledger is fsynced at least once a second and at the end, so a lost machine re-sends at most the last
second's messages. ``deferred`` (4xx) messages are tried again on the next attempt, up to ``MAX_TRIES``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import smtplib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convoc import faults, warehouse
from convoc.errors import ConvocError
from convoc.files import fsync_dir, private_dirs

if TYPE_CHECKING:
    import duckdb

    from convoc.campaigns import Centres
    from convoc.letters.content import Letter

log = logging.getLogger(__name__)

OUTBOX = "outbox.parquet"
LEDGER = "ledger.jsonl"
MAX_TRIES = 3
"""Attempts at a message the server keeps deferring (4xx) before it counts as not accepted."""
FINAL = frozenset({"sent", "failed"})
FSYNC_SECONDS = 1.0


def day_dir(mail_root: Path, day: date) -> Path:
    return mail_root / f"{day:%Y%m%d}"


def cut_outbox(con: duckdb.DuckDBPyConnection, day: date, mail_root: Path, centres: Centres) -> tuple[Path, int]:
    """Write the day's e-mail invitations to ``<day>/outbox.parquet`` (replacing an earlier cut, never the
    ledger); return its path and row count. DuckDB writes the file straight from the query, within its
    memory limit: a day of a million e-mails is never held in the task's memory."""
    import polars as pl

    info = pl.DataFrame(
        [(c.centre, c.name, list(c.address)) for c in centres.centres],
        schema={"centre": pl.String, "centre_name": pl.String, "centre_address": pl.List(pl.String)},
        orient="row",
    )
    folder = day_dir(mail_root, day)
    private_dirs(mail_root, folder)
    path = folder / OUTBOX
    part = folder / f".{OUTBOX}.part"  # in an owner-only folder; 0600 before it takes the outbox's name
    messages = warehouse.select("intermediate/int_messages__outbox.sql")
    con.register("_centre_info", info)
    try:
        written = warehouse.execute(
            con,
            f"""
            copy (
                select messages.*, coalesce(info.centre_name, '') as centre_name,
                       coalesce(info.centre_address, cast([] as varchar[])) as centre_address
                from ({messages}) as messages
                left join _centre_info as info on info.centre = messages.centre
                order by messages.invitation_id
            ) to '{str(part).replace("'", "''")}' (format parquet)
            """,
            {"wave_date": day},
        ).fetchall()
        count = int(written[0][0])  # COPY answers with the rows it wrote
        os.chmod(part, 0o600)
        with part.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(part, path)
    finally:
        con.unregister("_centre_info")
        part.unlink(missing_ok=True)
    fsync_dir(folder)
    return path, count


# --- the send ledger -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    invitation_id: str
    message_id: str
    event: str  # sending | sent | deferred | failed
    code: int | None
    at: str
    attempt: int  # the task attempt (Airflow's try number) that wrote it


def read_ledger(path: Path) -> list[Entry]:
    """Every line of the ledger, in order; a last line cut short by a crash is ignored."""
    if not path.exists():
        return []
    entries = []
    for line in path.read_bytes().splitlines():
        try:
            d = json.loads(line)
            entries.append(Entry(d["id"], d["mid"], d["event"], d.get("code"), d["at"], int(d.get("try", 1))))
        except (ValueError, KeyError, TypeError):
            continue  # a torn line: its message counts as in flight
    return entries


class Ledger:
    """Appends to ``ledger.jsonl`` (0600): one ``write`` per line, fsynced at least every ``FSYNC_SECONDS``."""

    def __init__(self, path: Path, attempt: int) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.attempt = attempt
        self.synced = time.monotonic()

    def write(self, invitation_id: str, message_id: str, event: str, code: int | None = None) -> None:
        line = {
            "id": invitation_id,
            "mid": message_id,
            "event": event,
            "code": code,
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "try": self.attempt,
        }
        os.write(self.fd, (json.dumps(line, separators=(",", ":")) + "\n").encode())
        if time.monotonic() - self.synced >= FSYNC_SECONDS:
            os.fsync(self.fd)
            self.synced = time.monotonic()

    def close(self) -> None:
        os.fsync(self.fd)
        os.close(self.fd)


TODO = "todo.parquet"
"""The outbox's messages still to send, written by ``send_outbox`` for its own run (removed at its end)."""
TODO_MEMORY = "256MB"
"""DuckDB's memory for finding the messages still to send (past it, DuckDB spills to disk)."""


def _todo(outbox: Path, ledger: Path) -> tuple[Path, int, int]:
    """Write the outbox's messages still to send — never tried, in flight at a crash, or deferred fewer than
    ``MAX_TRIES`` times — to ``todo.parquet`` beside it, in outbox order (0600); return its path, their number
    and how many of the outbox's messages are done (sent, failed, or deferred too often).

    Counted by DuckDB straight from the two files, within ``TODO_MEMORY``: a day of a million e-mails is never a
    list of ids (a torn last ledger line is ignored: its message counts as in flight). The ledger's order is not
    needed: once sent or failed, a message is never tried again, and a deferred one only while it was deferred
    fewer than ``MAX_TRIES`` times — so any final line, or ``MAX_TRIES`` deferrals, means done."""
    import duckdb

    todo = outbox.parent / TODO
    todo.unlink(missing_ok=True)
    part = todo.with_name(f".{TODO}.part")
    config: dict[str, str | bool | int | float | list[str]] = {
        "memory_limit": TODO_MEMORY,
        "temp_directory": str(outbox.parent / "duckdb.tmp"),
    }
    done = (
        f"""
        select id as invitation_id
        from read_json($ledger, format = 'newline_delimited', ignore_errors = true,
                       columns = {{id: 'varchar', event: 'varchar'}})
        where id is not null and event is not null
        group by id
        having count(*) filter (where event in ({", ".join(f"'{e}'" for e in sorted(FINAL))})) > 0
            or count(*) filter (where event = 'deferred') >= {MAX_TRIES}
        """
        if ledger.exists()
        else "select cast(null as varchar) as invitation_id where false"
    )
    with duckdb.connect(":memory:", config=config) as con:
        params = {"outbox": str(outbox), "part": str(part), "ledger": str(ledger)}
        written = warehouse.execute(
            con,
            f"""
            copy (
                select outbox.* exclude (file_row_number)
                from read_parquet($outbox, file_row_number = true) as outbox
                anti join ({done}) as done using (invitation_id)
                order by file_row_number
            ) to $part (format parquet)
            """,
            params,
        ).fetchall()
        pending = int(written[0][0])  # COPY answers with the rows it wrote
        os.chmod(part, 0o600)
        rows = int(warehouse.execute(con, "select count(*) from read_parquet($outbox)", params).fetchall()[0][0])
    os.replace(part, todo)
    return todo, pending, rows - pending


# --- sending ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    messages: int  # in the outbox
    sent: int  # by this attempt
    deferred: int
    failed: int
    done_before: int  # sent, failed or given up by earlier attempts: not sent again
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "sent": self.sent,
            "deferred": self.deferred,
            "failed": self.failed,
            "done_before": self.done_before,
            "seconds": round(self.seconds, 3),
        }


def _status(code: int) -> str:
    if 200 <= code < 300:
        return "sent"
    return "deferred" if 400 <= code < 500 else "failed"


_LEADING_DOT = re.compile(rb"(?m)^\.")


def _hand_over(
    client: smtplib.SMTP, sender: str, recipient: str, data: bytes, meanwhile: Callable[[], None] | None = None
) -> int:
    """MAIL, RCPT, DATA on an open connection; the reply code that decides (the first refusal, or DATA's).

    When the server offers PIPELINING (RFC 2920, as production relays do), MAIL, RCPT and DATA go in one write
    and their three replies are read together: two waits for the server per message instead of four.
    ``meanwhile`` runs once the message's last byte is written and before the server's answer is read: the next
    message is prepared while the server takes this one. Nothing of it is sent before that answer: one message
    in flight, as with ``smtplib``'s own ``sendmail()`` (whose steps these are)."""
    client.ehlo_or_helo_if_needed()
    # the addresses as stored (validated, ASCII): no parsing per message as smtplib's mail() and rcpt() do
    mail, rcpt = f"MAIL FROM:<{sender}>", f"RCPT TO:<{recipient}>"
    if client.has_extn("pipelining"):
        client.send(f"{mail}\r\n{rcpt}\r\nDATA\r\n")
        mail_code, rcpt_code, data_code = (client.getreply()[0] for _ in range(3))
        refused = mail_code if mail_code != 250 else rcpt_code if rcpt_code not in (250, 251) else None
        if refused is not None:
            if data_code == 354:  # a server that took DATA without a recipient: end the empty message
                client.send(b".\r\n")
                client.getreply()
            client.rset()
            return int(refused)
    else:
        for command, accepted in ((mail, (250,)), (rcpt, (250, 251))):
            client.send(f"{command}\r\n")
            code, _ = client.getreply()
            if code not in accepted:
                client.rset()
                return int(code)
        client.putcmd("data")
        data_code, _ = client.getreply()
    if data_code != 354:
        client.rset()
        return int(data_code)
    # dot-stuffing (RFC 5321, 4.5.2); our messages seldom have a line starting with a dot: looked for first
    body = _LEADING_DOT.sub(b"..", data) if data.startswith(b".") or b"\n." in data else data
    client.send(body + (b".\r\n" if body.endswith(b"\r\n") else b"\r\n.\r\n"))
    if meanwhile is not None:
        meanwhile()
    code, _ = client.getreply()
    return int(code)


def _paced(count: int, rate: float) -> Iterator[int]:
    """0 … count-1, at most ``rate`` a second (0: no limit)."""
    start = time.monotonic()
    for k in range(count):
        if rate > 0:
            wait = start + k / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        yield k


SEND_SLICE = 5_000
"""Messages read from the outbox at a time: the send task's memory holds a slice, not the day's e-mails."""


def _messages(todo: Path, day: date) -> Iterator[tuple[Letter, str]]:
    """The messages of ``todo`` (an outbox's rows), in order, as (letter, address): read a slice of
    ``SEND_SLICE`` rows at a time."""
    import polars as pl

    from convoc.letters.content import Letter

    rows = int(pl.scan_parquet(todo).select(pl.len()).collect().item())
    for offset in range(0, rows, SEND_SLICE):
        part = pl.scan_parquet(todo).slice(offset, SEND_SLICE).collect()
        for r in part.iter_rows(named=True):
            letter = Letter(
                piece_id=0,
                invitation_id=r["invitation_id"],
                campaign=r["campaign"],
                language=r["language"],
                family_name=r["family_name"],
                given_name=r["given_name"],
                street="",
                house_number=None,
                postcode="",
                locality="",
                booking_code=r["booking_code"],
                valid_from=r["valid_from"],
                valid_until=r["valid_until"],
                letter_date=day,
                centre_name=r["centre_name"],
                centre_address=tuple(r["centre_address"]),
                phase=r["phase"],
            )
            yield letter, r["email"]


def send_outbox(
    outbox: Path,
    connect: Callable[[], smtplib.SMTP],
    *,
    day: date,
    sender: str,
    rate: float = 0.0,
    attempt: int = 1,
    templates: Path | None = None,
) -> SendResult:
    """Send the outbox's messages not yet done (see the module doc) over one connection (``connect()``, opened
    again if the server drops it), at most ``rate`` a second; every step in the ledger beside the outbox. The
    outbox is read a slice at a time (``SEND_SLICE``); the templates it needs are loaded before anything is
    sent."""
    import polars as pl

    from convoc.letters.content import templates_for
    from convoc.notify.messages import Invitation, message_bytes, message_id

    started = time.monotonic()
    ledger_path = outbox.parent / LEDGER
    todo, total, done_before = _todo(outbox, ledger_path)
    messages_in_outbox = total + done_before
    pairs = pl.scan_parquet(todo).select("campaign", "language").unique().collect().rows()
    found = templates_for(pairs, templates) if pairs else {}
    messages = _messages(todo, day)
    counts = {"sent": 0, "deferred": 0, "failed": 0}
    ledger = Ledger(ledger_path, attempt)
    client: smtplib.SMTP | None = None

    def build(message: tuple[Letter, str]) -> bytes | Exception:
        # an error is kept, and raised when the message's turn comes: never while another one's answer is due
        try:
            return message_bytes(Invitation(*message), found, sent_on=day)
        except Exception as exc:
            return exc

    prepared: dict[int, bytes | Exception] = {}

    def prepare_next(k: int, following: tuple[Letter, str] | None) -> Callable[[], None]:
        def prepare() -> None:
            if following is not None:
                prepared[k + 1] = build(following)

        return prepare

    current = next(messages, None)
    try:
        for k in _paced(total, rate):
            if current is None:  # cannot happen: the outbox lists every message pending
                raise ConvocError(f"{outbox}: {total} messages were pending, only {k} were found")
            letter, email = current
            following = next(messages, None)
            mid = message_id(letter.invitation_id)
            data = prepared.pop(k, None) or build(current)
            if isinstance(data, Exception):
                raise data
            ledger.write(letter.invitation_id, mid, "sending")
            for tries in (1, 2):  # the server may have closed an idle connection: open it once more
                try:
                    if client is None:
                        client = connect()
                    code = _hand_over(client, sender, email, data, prepare_next(k, following))
                    break
                except smtplib.SMTPServerDisconnected:
                    client = None
                    if tries == 2:
                        raise
                except smtplib.SMTPResponseException as exc:
                    code = int(exc.smtp_code)
                    break
            if k == total // 2:
                faults.point("notify.send.mid_batch")
            status = _status(code)
            ledger.write(letter.invitation_id, mid, status, code)
            counts[status] += 1
            current = following
    except (OSError, smtplib.SMTPException) as exc:
        raise ConvocError(
            f"{outbox}: the mail server could not be reached or dropped the connection ({type(exc).__name__}) after "
            f"{sum(counts.values())} of {total} messages; the ledger keeps what was sent: retry"
        ) from None
    finally:
        ledger.close()
        todo.unlink(missing_ok=True)
        if client is not None:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()
    result = SendResult(
        messages_in_outbox,
        counts["sent"],
        counts["deferred"],
        counts["failed"],
        done_before,
        time.monotonic() - started,
    )
    log.info("%s: %s", outbox, result.as_dict())
    return result


# --- recording -------------------------------------------------------------------------------------------


def record_messages(con: duckdb.DuckDBPyConnection, day: date, mail_root: Path) -> int:
    """Replace the wave day's rows of ``core.fct_email_attempt`` by the day's ledger
    (``sql/core/fct_email_attempt__load.sql``); the number of rows."""
    ledger = day_dir(mail_root, day) / LEDGER
    if not ledger.exists():  # no e-mail that day
        con.execute("delete from core.fct_email_attempt where wave_date = $d", {"d": day})
        return 0
    warehouse.run_script(con, "core/fct_email_attempt__load.sql", {"wave_date": day, "ledger": str(ledger)})
    row = con.execute("select count(*) from core.fct_email_attempt where wave_date = $d", {"d": day}).fetchone()
    return int(row[0]) if row else 0

"""Benchmark: e-mail invitations rendered and accepted by a local SMTP server, convoc's sender against a
straightforward one, same run.

    .venv/bin/python bench/bench_email.py [--messages 3000] [--baseline-messages 300] [--repeat 3]

The server: aiosmtpd on 127.0.0.1 in a process of its own (it accepts every message and keeps none), so the
timed process is the sender alone, on one core; it offers SMTP PIPELINING as production relays do
(``--no-pipelining``: one that does not, four waits per message instead of two). convoc:
``convoc.notify.outbox.send_outbox`` on an outbox of
``--messages`` invitations in four languages — each message built from the letter's template (text and HTML), its
QR code from ``convoc.letters.qr`` (a PNG of the precomputed matrix), one SMTP connection for the batch, the send
ledger written before and after each message — in a fresh child process. Straightforward, in the same run: the
same messages, each with a fresh ``qrcode.make()`` PNG and its own SMTP connection (connect, EHLO, send, QUIT),
no ledger. Target: ≥ 10× the straightforward sender, and a national day of 100,000 messages in under 5 minutes on
2 cores (two sending tasks).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

DAY = date(2021, 2, 1)
SERVER = """
import sys, time
from aiosmtpd.controller import Controller
from convoc_dev.mailsink import Relay
class Accept(Relay):
    pipelining = sys.argv[2] == "pipelining"
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
controller = Controller(Accept(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
sys.stdin.read()  # until the parent closes it
controller.stop()
"""

CONVOC = """
import json, smtplib, sys, time
from datetime import date
from pathlib import Path
from convoc.notify.outbox import send_outbox
port = int(sys.argv[2])
t = time.perf_counter()
result = send_outbox(Path(sys.argv[1]), lambda: smtplib.SMTP("127.0.0.1", port, timeout=10), day=date(2021, 2, 1),
                     sender="invitations@convoc.example.lu")
seconds = time.perf_counter() - t
# VmHWM: this process's own peak (ru_maxrss would count what the child inherited from its parent at fork)
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")) / 1024
print("RESULT=" + json.dumps({"seconds": seconds, "sent": result.sent, "peak_mib": peak}))
"""

NAIVE = """
import io, json, smtplib, sys, time
from datetime import date
import polars as pl
import qrcode
from email import policy
from convoc.letters.render import BOOKING_URL, Letter, load_templates
from convoc.notify.messages import Invitation, build_message
rows = pl.read_parquet(sys.argv[1]).head(int(sys.argv[3])).to_dicts()
port = int(sys.argv[2])
letters = [Letter(0, r["invitation_id"], r["campaign"], r["language"], r["family_name"], r["given_name"], "", None, "",
                  "", r["booking_code"], r["valid_from"], r["valid_until"], date(2021, 2, 1), r["centre_name"],
                  tuple(r["centre_address"]), r["phase"]) for r in rows]
templates = load_templates(letters)
t = time.perf_counter()
for letter, row in zip(letters, rows):
    png = io.BytesIO()
    qrcode.make(BOOKING_URL + letter.booking_code).save(png)
    msg = build_message(Invitation(letter, row["email"]), templates, sent_on=date(2021, 2, 1), png=png.getvalue())
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail("invitations@convoc.example.lu", [row["email"]], msg.as_bytes(policy=policy.SMTP))
print("RESULT=" + json.dumps({"seconds": time.perf_counter() - t, "sent": len(letters)}))
"""


def _outbox(n: int, folder: Path) -> Path:
    """An outbox as ``cut_outbox`` writes it: ``n`` e-mail invitations, names and languages varied."""
    import polars as pl

    from convoc.codes import make_code

    given = ["Anna", "Luc", "Maria", "Jean-Paul", "Inês", "Jérôme", "Zoë", "Mathis"]
    family = ["Muller", "Schmit", "Gonçalves", "Weber", "Hoffmann", "Da Silva", "Wagner", "Reuter"]
    languages = ["fr", "de", "en", "pt", None]
    ids = [f"vaccination:1:{k}:1" for k in range(1, n + 1)]
    frame = pl.DataFrame(
        {
            "invitation_id": ids,
            "campaign": ["vaccination"] * n,
            "language": [languages[k % len(languages)] for k in range(n)],
            "format": ["standard"] * n,
            "family_name": [family[k % len(family)] for k in range(n)],
            "given_name": [given[(k // 3) % len(given)] for k in range(n)],
            "email": [f"person{k}@example.lu" for k in range(n)],
            "booking_code": [make_code(i, b"bench-key-0123456789abcdef") for i in ids],
            "valid_from": [DAY + timedelta(days=1)] * n,
            "valid_until": [DAY + timedelta(days=14)] * n,
            "centre": ["victor_hugo"] * n,
            "phase": ["2a"] * n,
            "centre_name": ["Hall Victor Hugo"] * n,
            "centre_address": [["60, avenue Victor Hugo", "L-1750 Luxembourg"]] * n,
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "outbox.parquet"
    frame.write_parquet(path)
    return path


def _child(args: list[str]) -> dict[str, float]:
    out = subprocess.run([sys.executable, *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out.split("RESULT=", 1)[1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--baseline-messages", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-pipelining", action="store_true", help="a server that does not offer PIPELINING")
    args = parser.parse_args()
    from convoc_dev.airflow_local import free_port

    root = Path(tempfile.mkdtemp(prefix="convoc-bench-email-"))
    port = free_port()
    dialect = "plain" if args.no_pipelining else "pipelining"
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port), dialect], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    ours, naive = [], []
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == b"ready"
        for i in range(args.repeat):
            outbox = _outbox(args.messages, root / f"run{i}")  # a fresh ledger each run
            result = _child(["-c", CONVOC, str(outbox), str(port)])
            assert result["sent"] == args.messages, result
            ours.append(result)
            base = _child(["-c", NAIVE, str(outbox), str(port), str(args.baseline_messages)])
            naive.append(base)
            print(f"run {i}: convoc {result}, straightforward {base}", flush=True)
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)
    rate = statistics.median(args.messages / r["seconds"] for r in ours)
    base_rate = statistics.median(args.baseline_messages / r["seconds"] for r in naive)
    national = 100_000 / (2 * rate)
    peak = max(r["peak_mib"] for r in ours)
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print("| command | machine | convoc | straightforward | ratio | 100,000 messages on 2 cores | sender's peak |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| `.venv/bin/python bench/bench_email.py --messages {args.messages} --repeat {args.repeat}"
        f"{' --no-pipelining' if args.no_pipelining else ''}` | {machine} "
        f"| {rate:.0f} messages/s | {base_rate:.0f} messages/s | {rate / base_rate:.1f}× | {national:.0f} s "
        f"| {peak:.0f} MiB |"
    )


if __name__ == "__main__":
    main()

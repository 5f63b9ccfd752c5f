"""``convoc-dev``: the development tools — synthetic landing files, and the print shop and booking system
played back — for ``make demo``, the tests and the benchmarks. Not part of the product (nothing in ``convoc``
imports them; the image does not need them).

convoc-dev generate --residents N --seed S --out DIR [--start-date D] [--days K] [--defects RATE]
convoc-dev simulate-bookings --day YYYY-MM-DD [--uptake U] [--mean-delay DAYS] [--seed S]
convoc-dev print-shop simulate [--outbox DIR] [--landing DIR] [--spoilage R] [--returns R] [--seed N] [--day D]
convoc-dev mail-sink --port P [--out DIR] [--pid-file FILE] [--landing DIR --bounces RATE]
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from convoc.cli import _day
from convoc.config import Settings
from convoc.errors import ConvocError
from convoc.files import private_umask


def _rate(text: str) -> float:
    value = float(text)
    if not 0 <= value < 0.5:
        raise argparse.ArgumentTypeError(f"defect rate must lie in [0, 0.5), not {value}")
    return value


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"a rate must lie in [0, 1], not {value}")
    return value


def _cmd_generate(args: argparse.Namespace) -> int:
    from convoc_dev.synth import generate

    result = generate(
        residents=args.residents,
        seed=args.seed,
        out=args.out,
        start_date=args.start_date,
        days=args.days,
        defects=args.defects,
    )
    print(
        f"wrote {len(result.files)} landing files to {args.out} ({result.residents} residents"
        + (f", {result.defect_rows} damaged rows, truth in {args.out / '_truth'}" if result.defect_rows else "")
        + ")"
    )
    return 0


def _cmd_simulate_bookings(args: argparse.Namespace) -> int:
    from convoc import warehouse
    from convoc_dev.synth.bookings import write_day

    settings = Settings.from_env()
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        path = write_day(con, args.day, settings.landing, seed=args.seed, uptake=args.uptake,
                         mean_delay_days=args.mean_delay)  # fmt: skip
    rows = sum(1 for _ in path.open(encoding="utf-8")) - 1
    print(f"{path}: {rows} booking events of {args.day}")
    return 0


def _cmd_print_shop_simulate(args: argparse.Namespace) -> int:
    from convoc_dev.printshop import simulate

    settings = Settings.from_env()
    outbox = args.outbox or settings.outbox
    result = simulate(
        outbox,
        args.landing or settings.landing,
        spoilage=args.spoilage,
        returns=args.returns,
        seed=args.seed,
        day=args.day,
    )
    for job in result.processed:
        print(
            f"{job.name}: {job.pieces:,} pieces, {job.mailed:,} mailed and {job.spoiled:,} spoiled on {job.mailed_on}, "
            f"{job.returned:,} to come back; " + ", ".join(p.name for p in job.files)
        )
    for job in result.refused:
        print(
            f"ALERT: the print shop refused {outbox / job.name} (job {job.job_id}); nothing printed:", file=sys.stderr
        )
        for problem in job.problems:
            print(f"  - {problem}", file=sys.stderr)
    if not result.jobs:
        print(f"no new ready job in {outbox}")
    return 1 if result.refused else 0


def _cmd_mail_sink(args: argparse.Namespace) -> int:
    from convoc_dev.mailsink import serve

    out = args.out or Settings.from_env().home / "mail" / "inbox"
    received = serve(args.port, out, args.pid_file, args.landing, args.bounces)
    print(f"mail sink stopped: {received} messages in {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convoc-dev", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="write a synthetic register extract (landing files)")
    g.add_argument("--residents", type=int, default=20_000)
    g.add_argument("--seed", type=int, default=42)
    g.add_argument("--out", type=Path, required=True, help="landing folder to write into")
    g.add_argument("--start-date", type=_day, default=date(2021, 1, 29))
    g.add_argument("--days", type=int, default=1, help="daily snapshots to write (default 1)")
    g.add_argument("--defects", type=_rate, default=0.0, help="share of register rows to damage")
    g.set_defaults(func=_cmd_generate)

    b = sub.add_parser("simulate-bookings", help="play the booking system for a day (writes the next day's file)")
    b.add_argument("--day", type=_day, required=True)
    b.add_argument("--seed", type=int, default=42)
    b.add_argument("--uptake", type=float, default=0.8, help="share of letters that get booked")
    b.add_argument("--mean-delay", type=float, default=3.0, help="mean days from letter to booking")
    b.set_defaults(func=_cmd_simulate_bookings)

    ps = sub.add_parser("print-shop", help="the print shop, simulated")
    ps_sub = ps.add_subparsers(dest="print_shop_command", required=True)
    sim = ps_sub.add_parser(
        "simulate", help="take ready jobs, verify checksums, write confirmations and returned mail (landing files)"
    )
    sim.add_argument("--outbox", type=Path, help="drop folder to take jobs from (default: $CONVOC_HOME/outbox)")
    sim.add_argument("--landing", type=Path, help="where to write the files (default: $CONVOC_HOME/landing)")
    sim.add_argument("--spoilage", type=_share, default=0.0, help="share of pieces spoiled (default 0)")
    sim.add_argument("--returns", type=_share, default=0.0, help="share of mailed pieces that come back (default 0)")
    sim.add_argument("--seed", type=int, default=42)
    sim.add_argument("--day", type=_day, help="mailing day (default: each job's hand-off day)")
    sim.set_defaults(func=_cmd_print_shop_simulate)

    m = sub.add_parser("mail-sink", help="a local SMTP server writing what it receives as .eml files (the demo's)")
    m.add_argument("--port", type=int, required=True)
    m.add_argument("--out", type=Path, help="where to write the messages (default: $CONVOC_HOME/mail/inbox)")
    m.add_argument("--pid-file", type=Path, help="write the server's process id here (removed when it stops)")
    m.add_argument("--landing", type=Path, help="write the relay's bounce reports here (email_bounces_*.csv)")
    m.add_argument("--bounces", type=_share, default=0.0, help="share of accepted messages that bounce (default 0)")
    m.set_defaults(func=_cmd_mail_sink)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    private_umask()  # what it writes looks like, and is handled as, personal data
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except ConvocError as exc:
        print(f"convoc-dev: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())

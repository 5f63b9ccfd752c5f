"""``convoc`` command line: synthetic data, running a stage without Airflow, and where things stand.

convoc generate --residents N --seed S --out DIR [--start-date D] [--days K] [--defects RATE]
convoc ingest --day YYYY-MM-DD [--accept-row-count-change]
convoc status
convoc handoff --day YYYY-MM-DD [--job JOB_ID] [--outbox DIR]
convoc print-shop simulate [--outbox DIR] [--landing DIR] [--spoilage R] [--returns R] [--seed N] [--day D]
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from convoc.config import Settings
from convoc.errors import ConvocError
from convoc.files import private_umask


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _rate(text: str) -> float:
    value = float(text)
    if not 0 <= value < 0.5:
        raise argparse.ArgumentTypeError(f"defect rate must lie in [0, 0.5), not {value}")
    return value


def _cmd_generate(args: argparse.Namespace) -> int:
    from convoc.synth import generate

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


def _cmd_ingest(args: argparse.Namespace) -> int:
    from convoc.sources.ingest import extract_day, load_day, validate_day

    settings = Settings.from_env()
    extracted = extract_day(settings, args.day)
    verdicts = validate_day(settings, extracted, args.day, accept_row_count_change=args.accept_row_count_change)
    for item in load_day(settings, extracted, verdicts, args.day):
        print(
            f"{item.file_name}: {item.rows} rows, {item.staged_rows} staged, {item.rejected_rows} quarantined"
            + (" (already loaded)" if item.already_loaded else "")
        )
    return 0


def _cmd_waves(args: argparse.Namespace) -> int:
    from convoc.codes import load_key
    from convoc.waves.run import run_waves

    for result in run_waves(Settings.from_env(), args.day, load_key()):
        print(f"{result.campaign} {result.wave_date}: {result.invitations} invitations {result.by_centre}")
    return 0


def _cmd_simulate_bookings(args: argparse.Namespace) -> int:
    from convoc import warehouse
    from convoc.synth.bookings import write_day

    settings = Settings.from_env()
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        path = write_day(con, args.day, settings.landing, seed=args.seed, uptake=args.uptake,
                         mean_delay_days=args.mean_delay)  # fmt: skip
    rows = sum(1 for _ in path.open(encoding="utf-8")) - 1
    print(f"{path}: {rows} booking events of {args.day}")
    return 0


def _cmd_code_check(args: argparse.Namespace) -> int:
    from convoc import warehouse
    from convoc.codes import InvalidCode, parse

    try:
        code = parse(args.code).formatted()
    except InvalidCode as exc:
        print(f"{args.code}: not a valid code: {exc}")
        return 1
    print(f"{code}: well-formed (check symbol holds)")
    settings = Settings.from_env()
    if not settings.warehouse.exists():
        print("no warehouse to look the code up in")
        return 0
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        found = con.execute(
            "select invitation_id, campaign, dose, attempt, wave_date, valid_from, valid_until, centre, "
            "exists (select 1 from core.fct_booking b where b.booking_code = i.booking_code) as booked "
            "from core.fct_invitation i where booking_code = $c",
            {"c": code},
        ).fetchall()
    if not found:
        print("no invitation carries this code (mistyped, forged, or from another warehouse)")
        return 1
    inv, campaign, dose, attempt, wave, start, until, centre, booked = found[0]
    print(f"invitation {inv}: campaign {campaign}, dose {dose}, attempt {attempt}, wave {wave}, "
          f"valid {start} – {until}, centre {centre}, {'booked' if booked else 'not booked'}")  # fmt: skip
    return 0


def _cmd_key_init(args: argparse.Namespace) -> int:
    from convoc.codes import create_key_file

    path = create_key_file(args.path)
    print(f"signing key: {path} (mode 0600); export CONVOC_SIGNING_KEY_FILE={path}")
    return 0


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"a rate must lie in [0, 1], not {value}")
    return value


def _cmd_handoff(args: argparse.Namespace) -> int:
    from convoc.handoff.deliver import deliver
    from convoc.handoff.job import build_job
    from convoc.handoff.transport import LocalTransport
    from convoc.letters.batches import job_id

    settings = Settings.from_env()
    job = args.job or job_id(args.day)
    built = build_job(settings.print_root, job, settings.work / "handoff", handoff_date=args.day)
    outbox = args.outbox or settings.outbox
    result = deliver(built.path, LocalTransport(outbox))
    print(
        f"{result.job_id}: {result.status} as {outbox / result.name} ({result.print_files} PDFs, "
        f"{result.pieces:,} pieces, {result.sheets:,} sheets, {result.bytes:,} bytes)"
    )
    return 0


def _cmd_print_shop_simulate(args: argparse.Namespace) -> int:
    from convoc.handoff.printshop import simulate

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


def _cmd_status(args: argparse.Namespace) -> int:
    from convoc import warehouse

    settings = Settings.from_env()
    print(f"landing files   {settings.landing}")
    print(f"warehouse       {settings.warehouse}")
    if not settings.warehouse.exists():
        print("                (none yet: run `make demo`)")
        return 0
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        tables = [
            ("raw.load_log (files loaded)", "raw.load_log"),
            ("staging.register (rows, all days)", "staging.register"),
            ("core.dim_resident (versions)", "core.dim_resident"),
            ("core.dim_resident (current)", "core.dim_resident where is_current"),
            ("core.fct_priority_group (rows, all days)", "core.fct_priority_group"),
            ("quarantine.register_rejects", "quarantine.register_rejects"),
            ("core.fct_invitation (letters)", "core.fct_invitation"),
            ("core.fct_booking (bookings)", "core.fct_booking"),
            ("core.fct_booking (doses given)", "core.fct_booking where administered_at is not null"),
            ("core.fct_print_batch (PDF batches)", "core.fct_print_batch"),
            ("core.fct_print_job (jobs delivered)", "core.fct_print_job"),
            ("core.fct_print_event (pieces reported)", "core.fct_print_event"),
            ("core.fct_return (letters returned)", "core.fct_return"),
            ("quarantine.print_confirm_rejects", "quarantine.print_confirm_rejects"),
            ("quarantine.returns_rejects", "quarantine.returns_rejects"),
        ]
        counts = [(name, con.execute(f"select count(*) from {source}").fetchall()[0][0]) for name, source in tables]  # type: ignore[index]
        for name, n in counts:
            print(f"  {name:<42} {n:>10,}")
        rules = con.execute(
            "select rule, count(*) from quarantine.register_rejects group by rule order by 2 desc, 1"
        ).fetchall()
        if rules:
            print("  quarantined register rows by rule:")
            for rule, n in rules:
                print(f"    {rule:<40} {n:>10,}")
        waves = con.execute("select wave_date, campaign, letters, quota from core.fct_wave order by all").fetchall()
        if waves:
            print("  invitation waves (letters sent / allowed):")
            for wave_date, campaign, n, quota in waves:
                print(f"    {wave_date} {campaign:<14} {n:>8,} / {quota:,}")
        jobs = warehouse.query(con, warehouse.select("intermediate/int_print__job_status.sql"))
        if jobs.height:
            print(
                "  print jobs (pieces sent: printed / mailed / spoiled / returned so far, as the print shop reports):"
            )
            for job in jobs.iter_rows(named=True):
                spoiled = ", ".join(str(p) for p in job["spoiled_piece_ids"][:8])
                print(
                    f"    {job['handoff_date']} {job['job_id']:<14} {job['kind']:<8} {job['pieces']:>8,}: "
                    f"{job['printed']:,} / {job['mailed']:,} / {job['spoiled']:,} / {job['returned']:,}"
                    + (f"  (spoiled: {spoiled}{'…' if job['spoiled'] > 8 else ''})" if spoiled else "")
                )
    print(f"print files     {settings.print_root}/<day>/pdf/")
    print(f"print shop      {settings.outbox}/<job>/ (READY when complete)")
    reports = sorted(
        (settings.reports / "summary").glob("*/summary_*.pdf"), key=lambda p: (p.stem.split("_")[2], p.name)
    )
    if reports:
        latest = reports[-1].stem.split("_")[2]
        print("summary report  " + "\n                ".join(str(p) for p in reports if p.stem.split("_")[2] == latest))
    if settings.published.exists():
        print(f"analysts' copy  {settings.published} (make sql; docs/warehouse.md)")
    checks = sorted((settings.reports / "address_check").glob("address_check_*.csv"))
    if checks:
        print(f"address checks  {checks[-1].parent}/ ({len(checks)} days; owner-only: names and addresses)")
    docs = sorted(settings.quality_docs.glob("*/*/index.html"))
    if docs:
        print(f"data docs       {docs[-1]}")
    print(
        f'query it        {sys.executable.rsplit("/", 1)[0]}/python -c "import duckdb; '
        f"print(duckdb.connect('{settings.warehouse}', read_only=True).sql('from core.dim_resident limit 5'))\""
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convoc", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
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

    i = sub.add_parser("ingest", help="run the register_ingest stage for one day, without Airflow")
    i.add_argument("--day", type=_day, required=True)
    i.add_argument("--accept-row-count-change", action="store_true")
    i.set_defaults(func=_cmd_ingest)

    w = sub.add_parser("waves", help="plan the day's invitation waves, without Airflow")
    w.add_argument("--day", type=_day, required=True)
    w.set_defaults(func=_cmd_waves)

    b = sub.add_parser("simulate-bookings", help="play the booking system for a day (writes the next day's file)")
    b.add_argument("--day", type=_day, required=True)
    b.add_argument("--seed", type=int, default=42)
    b.add_argument("--uptake", type=float, default=0.8, help="share of letters that get booked")
    b.add_argument("--mean-delay", type=float, default=3.0, help="mean days from letter to booking")
    b.set_defaults(func=_cmd_simulate_bookings)

    code = sub.add_parser("code", help="booking codes")
    code_sub = code.add_subparsers(dest="code_command", required=True)
    check = code_sub.add_parser("check", help="is a code well-formed, and which invitation carries it")
    check.add_argument("code")
    check.set_defaults(func=_cmd_code_check)

    key = sub.add_parser("key", help="the signing key of booking codes")
    key_sub = key.add_subparsers(dest="key_command", required=True)
    init = key_sub.add_parser("init", help="create a key file (mode 0600) if there is none")
    init.add_argument("path", type=Path)
    init.set_defaults(func=_cmd_key_init)

    h = sub.add_parser(
        "handoff",
        help="build the day's print job (or a reprint) and deliver it to a local outbox, by hand: the delivery is "
        "not recorded in the warehouse (the print_handoff DAG delivers and records)",
    )
    h.add_argument("--day", type=_day, required=True, help="the day of the job, or the day a reprint is handed off")
    h.add_argument("--job", help="a job id other than the day's, e.g. a reprint J20210129-R1")
    h.add_argument("--outbox", type=Path, help="drop folder (default: $CONVOC_HOME/outbox)")
    h.set_defaults(func=_cmd_handoff)

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

    s = sub.add_parser("status", help="where the outputs are, and what the warehouse holds")
    s.set_defaults(func=_cmd_status)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    private_umask()  # everything convoc writes holds or derives from personal data
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    try:
        return int(args.func(args))
    except ConvocError as exc:
        print(f"convoc: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())

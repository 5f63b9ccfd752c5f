"""``convoc`` command line: running a stage without Airflow, booking codes and keys, and where things stand.

convoc ingest --day YYYY-MM-DD [--accept-row-count-change]
convoc waves --day YYYY-MM-DD
convoc handoff --day YYYY-MM-DD [--job JOB_ID] [--outbox DIR]
convoc code check CODE
convoc key init PATH
convoc status

Synthetic data and the simulated print shop and booking system are development tools: ``convoc-dev``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from convoc.config import Settings
from convoc.errors import ConvocError
from convoc.files import private_umask


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _cmd_ingest(args: argparse.Namespace) -> int:
    from convoc.ingest import extract_and_validate_day, load_day

    settings = Settings.from_env()
    extracted, verdicts = extract_and_validate_day(
        settings, args.day, accept_row_count_change=args.accept_row_count_change
    )
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
        waited = f"; {result.deferred} deferred by the print shop's capacity" if result.deferred else ""
        print(f"{result.campaign} {result.wave_date}: {result.invitations} invitations {result.by_centre}{waited}")
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
        found = warehouse.execute(
            con, warehouse.select("intermediate/int_invitation__by_code.sql"), {"code": code}
        ).fetchall()
    if not found:
        print("no invitation carries this code (mistyped, forged, or from another warehouse)")
        return 1
    inv, campaign, dose, attempt, wave, start, until, centre, status = found[0]
    booked = "booked" if status in ("booked", "attended") else "not booked"
    print(f"invitation {inv}: campaign {campaign}, dose {dose}, attempt {attempt}, wave {wave}, "
          f"valid {start} – {until}, centre {centre}, {booked} ({status})")  # fmt: skip
    return 0


def _cmd_key_init(args: argparse.Namespace) -> int:
    from convoc.codes import create_key_file

    path = create_key_file(args.path)
    print(f"signing key: {path} (mode 0600); export CONVOC_SIGNING_KEY_FILE={path}")
    return 0


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


def _print_load(con: Any) -> None:
    """The print shop's load per wave day: pieces planned (new letters, reprints, letters for failed e-mails)
    against its capacity."""
    days = con.execute(
        "select c.wave_date, c.working_day, c.capacity, c.reprints, coalesce(c.fallbacks, 0), "
        "coalesce(sum(w.letters), 0), coalesce(sum(w.deferred), 0) from core.fct_print_capacity c "
        "left join core.fct_wave w using (wave_date) group by all order by 1"
    ).fetchall()
    if not days:
        return
    print("  print shop load (pieces planned = letters + reprints + letters for failed e-mails / capacity;")
    print("  letters deferred):")
    for day, working, capacity, reprints, fallbacks, letters, deferred in days:
        pieces = letters + reprints + fallbacks
        load = f"{pieces / capacity:6.1%}" if capacity else "  shut" if not working else "     –"
        parts = (
            f"({letters:,} letter{'s' * (letters != 1)}, {reprints:,} reprint{'s' * (reprints != 1)}"
            + (f", {fallbacks:,} for failed e-mails)" if fallbacks else ")")
            + (f"; {deferred:,} deferred" if deferred else "")
        )
        print(f"    {day} {pieces:>8,} / {capacity:>8,} {load}  {parts}")


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
            ("core.fct_print_batch_letter (letters in PDFs)", "core.fct_print_batch_letter"),
            ("core.fct_print_job (jobs delivered)", "core.fct_print_job"),
            ("core.fct_print_event (pieces reported)", "core.fct_print_event"),
            ("core.fct_return (letters returned)", "core.fct_return"),
            ("quarantine.print_confirm_rejects", "quarantine.print_confirm_rejects"),
            ("quarantine.returns_rejects", "quarantine.returns_rejects"),
        ]
        present = {
            f"{s}.{t}"
            for s, t in con.execute(
                "select schema_name, table_name from duckdb_tables() "
                "union all select schema_name, view_name from duckdb_views() where not internal"
            ).fetchall()
        }
        for name, source in tables:
            if source.split()[0] in present:
                print(f"  {name:<42} {con.execute(f'select count(*) from {source}').fetchall()[0][0]:>10,}")
        rules = (
            con.execute(
                "select rule, count(*) from quarantine.register_rejects group by rule order by 2 desc, 1"
            ).fetchall()
            if "quarantine.register_rejects" in present
            else []
        )
        if rules:
            print("  quarantined register rows by rule:")
            for rule, n in rules:
                print(f"    {rule:<40} {n:>10,}")
        views = {f"{s}.{v}" for s, v in con.execute("select schema_name, view_name from duckdb_views()").fetchall()}
        if "core.dim_invitation_current" in views:
            statuses = dict(
                con.execute("select status, count(*) from core.dim_invitation_current group by status").fetchall()
            )
            if statuses:
                print("  invitations now (core.dim_invitation_current): " + ", ".join(
                    f"{statuses.get(s, 0):,} {s}" for s in ("open", "booked", "attended", "expired")
                ))  # fmt: skip
        waves = con.execute(
            "select wave_date, campaign, letters, quota, coalesce(deferred, 0) from core.fct_wave order by all"
        ).fetchall()
        if waves:
            print("  invitation waves (letters sent / the centres' quota; letters the print shop deferred):")
            for wave_date, campaign, n, quota, deferred in waves:
                print(
                    f"    {wave_date} {campaign:<14} {n:>8,} / {quota:,}"
                    + (f"; {deferred:,} deferred" if deferred else "")
                )
        if "core.fct_print_capacity" in present:
            _print_load(con)
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
    if settings.shared.exists():
        print(f"shared copy     {settings.shared} (small cells suppressed: the one to share beyond the analysts)")
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


def _cmd_housekeeping(args: argparse.Namespace) -> int:
    from convoc import warehouse
    from convoc.housekeeping import remove, sweep

    settings = Settings.from_env()
    with warehouse.connect(settings.warehouse) as con:
        with warehouse.transaction(con):
            warehouse.ensure_schema(con)
            found = sweep(con, settings, args.day or date.today(), dry_run=args.dry_run)
        if not args.dry_run:
            remove(found)  # once the deletions are logged (committed)
    verb = "would delete" if args.dry_run else "deleted"
    for deletion in found:
        print(deletion.line())
    print(f"{verb} {len(found)} items (retention {settings.retention_days} days)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convoc", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    i = sub.add_parser("ingest", help="run the register_ingest stage for one day, without Airflow")
    i.add_argument("--day", type=_day, required=True)
    i.add_argument("--accept-row-count-change", action="store_true")
    i.set_defaults(func=_cmd_ingest)

    w = sub.add_parser("waves", help="plan the day's invitation waves, without Airflow")
    w.add_argument("--day", type=_day, required=True)
    w.set_defaults(func=_cmd_waves)

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

    k = sub.add_parser(
        "housekeeping", help="delete personal data past its retention (CONVOC_RETENTION_DAYS), as the DAG does"
    )
    k.add_argument("--day", type=_day, help="the day to apply the retention from (default: today)")
    k.add_argument("--dry-run", action="store_true", help="list what would be deleted; delete nothing")
    k.set_defaults(func=_cmd_housekeeping)

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

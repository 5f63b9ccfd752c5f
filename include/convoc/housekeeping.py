"""Retention: personal data is deleted once its time is past, and what was deleted is kept on record.

``sweep`` (the ``housekeeping`` DAG, daily; ``convoc housekeeping [--dry-run]``) deletes, for a run day D and
the retention R (``CONVOC_RETENTION_DAYS``, default 30):

- **print files** of an original job ``JYYYYMMDD`` — its day folder under ``var/print/`` (batch files with names
  and addresses, released PDFs, its reprints' folders), its built job folders under ``var/work/handoff/``
  (``J…`` and ``J…-Rn``) and, with the local transport, its delivered versions in ``var/outbox/`` — once the
  print shop has reported every piece mailed in its latest print (``sql/intermediate/int_print__closed_jobs.sql``)
  and the last report is more than R days before D. A job with a piece unreported or spoiled keeps its files.
  Each job's ``manifest.json`` and ``manifest.csv`` (files, checksums, counts; no names) are kept first in
  ``var/audit/jobs/<job>/``.
- **register data** of a day more than R days before D: the landing files of every source holding personal
  data that were loaded (``raw.load_log`` keeps their name, SHA-256 and counts), their rows in ``raw.<source>``,
  and the ``staging.priority_group`` partitions — never the latest partition, nor the rows of the latest register
  file (``staging.register`` is a view of them), which the next load compares with. ``core`` keeps each
  resident's versions: the dimension is the register's history the campaign needs.
- **working folders** under ``var/work/`` (other than the built jobs) last changed more than R days before D,
  and the **Data Docs** of a day more than R days before D (``var/reports/quality/YYYYMMDD/``);
- the **e-mail outbox** of a day more than R days before D (``var/mail/YYYYMMDD/outbox.parquet``: names and
  addresses). Its send ledger stays (invitation and message ids, answers: no personal data): a late re-run of
  the day still sends nothing twice.

Every deletion is one row of ``audit.deletion_log`` (day, kind, item, reason, files, bytes, rows, when), written
before anything is deleted: ``sweep`` finds what is past its time, deletes the warehouse rows and logs every item in
the caller's transaction; ``remove`` then deletes the files, once that transaction has committed. A run cut short
between the two leaves files that are logged and not yet deleted, never a file deleted and not logged; its retry
(the same run day) finds them again, deletes them and does not log them twice. A dry run lists the same items
without deleting or recording anything. Delivery receipts, manifests, load logs, quarantine rows (values masked)
and the warehouse's counts stay.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from convoc import warehouse
from convoc.sources.specs import REGISTER, SOURCES

if TYPE_CHECKING:
    import duckdb

    from convoc.config import Settings

Kind = Literal["print_files", "job_folder", "delivered_job", "landing_file", "raw_rows", "staging_partition",
               "work_folder", "data_docs", "mail_outbox"]  # fmt: skip

JOB_DOCUMENTS = ("manifest.json", "manifest.csv")
"""What is kept of a deleted print job (no personal data)."""

log = logging.getLogger(__name__)

_STAGING_PARTITIONED = ("staging.priority_group",)
"""Staging tables kept by day (``staging.register`` is a view of ``raw.register``: its days go with the raw rows)."""


@dataclass(frozen=True, slots=True)
class Deletion:
    """One thing deleted (or, in a dry run, to be deleted)."""

    kind: Kind
    item: str
    reason: str
    files: int = 0
    bytes: int = 0
    rows: int = 0
    path: Path | None = field(default=None, compare=False, repr=False)
    """The file or folder ``remove`` deletes (None: warehouse rows, deleted by ``sweep`` itself)."""

    def line(self) -> str:
        size = f"{self.files} files, {self.bytes:,} bytes" if self.files else f"{self.rows:,} rows"
        return f"{self.kind:<18} {self.item}  ({size}; {self.reason})"


def sweep(con: duckdb.DuckDBPyConnection, settings: Settings, day: date, *, dry_run: bool = False) -> list[Deletion]:
    """Find what is past its time on ``day`` (see the module docstring), delete its warehouse rows and log every
    item in ``audit.deletion_log`` — the files are left to ``remove``, to be called once the caller's transaction
    has committed. The deletions, in order. With ``dry_run`` nothing is deleted or recorded."""
    cutoff = day - timedelta(days=settings.retention_days)
    found = [
        *_print_files(con, settings, cutoff, dry_run),
        *_register_data(con, settings, cutoff, dry_run),
        *_old_files(settings, cutoff),
    ]
    for deletion in found:
        log.info("%s%s", "would delete " if dry_run else "", deletion.line())
    if not dry_run and found:
        # A retry of the day finds again what its first attempt logged and did not delete: logged once.
        logged = set(con.execute("select kind, item from audit.deletion_log where run_day = $d", {"d": day}).fetchall())
        now = datetime.now()
        fresh = [[day, d.kind, d.item, d.reason, d.files, d.bytes, d.rows, now] for d in found
                 if (d.kind, d.item) not in logged]  # fmt: skip
        if fresh:
            con.executemany("insert into audit.deletion_log values (?, ?, ?, ?, ?, ?, ?, ?)", fresh)
    return found


def remove(found: list[Deletion]) -> None:
    """Delete the files and folders of ``found`` (``sweep``'s, logged and committed); any already gone are skipped."""
    for deletion in found:
        path = deletion.path
        if path is None:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def summary(found: list[Deletion], *, dry_run: bool) -> dict[str, object]:
    """JSON-safe counts of a sweep (XCom): items per kind, files, bytes and rows."""
    kinds: dict[str, int] = {}
    for deletion in found:
        kinds[deletion.kind] = kinds.get(deletion.kind, 0) + 1
    return {
        "dry_run": dry_run,
        "items": len(found),
        "by_kind": kinds,
        "files": sum(d.files for d in found),
        "bytes": sum(d.bytes for d in found),
        "rows": sum(d.rows for d in found),
    }


def _size(path: Path) -> tuple[int, int]:
    """(files, bytes) of a file or of everything under a folder."""
    if path.is_file():
        return 1, path.stat().st_size
    files = [p for p in path.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def _to_delete(path: Path, kind: Kind, item: str, reason: str) -> Deletion:
    """``path`` to be deleted (by ``remove``), with what it holds."""
    files, size = _size(path)
    return Deletion(kind, item, reason, files=files, bytes=size, path=path)


def _print_files(con: duckdb.DuckDBPyConnection, settings: Settings, cutoff: date, dry_run: bool) -> list[Deletion]:
    from convoc.files import write_private
    from convoc.letters.batches import day_dir

    closed = warehouse.query(con, warehouse.select("intermediate/int_print__closed_jobs.sql"))
    handoff = settings.work / "handoff"
    done: list[Deletion] = []
    for origin, last_report in closed.select("origin_job_id", "last_report").iter_rows():
        if last_report >= cutoff:
            continue
        reason = f"every piece mailed, last report {last_report}"
        jobs = sorted(p.name for p in handoff.glob(f"{origin}*") if p.is_dir() and _of_job(p.name, origin))
        for job in jobs:
            kept = settings.audit / "jobs" / job
            for name in JOB_DOCUMENTS:
                if (handoff / job / name).is_file() and not dry_run:
                    write_private(kept / name, (handoff / job / name).read_bytes())
            done.append(_to_delete(handoff / job, "job_folder", f"work/handoff/{job}", reason))
        if settings.print_transport == "local" and settings.outbox.is_dir():
            for version in sorted(p for p in settings.outbox.iterdir() if p.is_dir() and _of_job(p.name, origin)):
                done.append(_to_delete(version, "delivered_job", f"outbox/{version.name}", reason))
        folder = day_dir(settings.print_root, datetime.strptime(origin, "J%Y%m%d").date())
        if folder.is_dir():
            item = str(folder.relative_to(settings.home))
            done.append(_to_delete(folder, "print_files", item, reason))
    return done


def _of_job(name: str, origin: str) -> bool:
    """Whether a folder name is job ``origin``, one of its reprints, or a delivered version of either."""
    rest = name.removeprefix(origin)
    if rest == name:
        return False
    base = rest.split(".v")[0]
    return base == "" or (base.startswith("-R") and base[2:].isdigit())


def _register_data(con: duckdb.DuckDBPyConnection, settings: Settings, cutoff: date, dry_run: bool) -> list[Deletion]:
    done: list[Deletion] = []
    personal = [spec for spec in SOURCES if spec.personal]
    reason = f"day before {cutoff}"
    # The latest register's rows stay, as a latest staging partition would: staging.register is a view of them.
    latest = con.execute(
        "select file_name from raw.load_log where source = $s "
        "and snapshot_date = (select max(snapshot_date) from raw.load_log where source = $s)",
        {"s": REGISTER.name},
    ).fetchall()
    keep_rows = {name for (name,) in latest}
    for spec in personal:
        files = con.execute(
            "select distinct file_name from raw.load_log where source = $s and snapshot_date < $c order by 1",
            {"s": spec.name, "c": cutoff},
        ).fetchall()
        for (name,) in files:
            landing = settings.landing / name
            if landing.is_file():
                done.append(_to_delete(landing, "landing_file", f"landing/{name}", reason))
            table = spec.raw_table
            if spec is REGISTER and name in keep_rows:
                continue
            row = con.execute(f"select count(*) from {table} where _file = $f", {"f": name}).fetchone()
            rows = int(row[0]) if row else 0
            if rows:
                if not dry_run:
                    con.execute(f"delete from {table} where _file = $f", {"f": name})
                done.append(Deletion("raw_rows", f"{table} {name}", reason, rows=rows))
    for table in _STAGING_PARTITIONED:
        partitions = con.execute(
            f"select snapshot_date, count(*) from {table} where snapshot_date < $c "
            f"and snapshot_date < (select max(snapshot_date) from {table}) group by 1 order by 1",
            {"c": cutoff},
        ).fetchall()
        for snapshot, rows in partitions:
            if not dry_run:
                con.execute(f"delete from {table} where snapshot_date = $d", {"d": snapshot})
            done.append(Deletion("staging_partition", f"{table} {snapshot}", reason, rows=int(rows)))
    return done


def _old_files(settings: Settings, cutoff: date) -> list[Deletion]:
    """Working folders last changed before ``cutoff`` (built jobs aside: they go with their job) and the Data
    Docs of the days before it."""
    done: list[Deletion] = []
    reason = f"last changed before {cutoff}"

    def old(path: Path) -> bool:
        newest = max([path.stat().st_mtime, *(p.stat().st_mtime for p in path.rglob("*"))] if path.is_dir()
                     else [path.stat().st_mtime])  # fmt: skip
        return date.fromtimestamp(newest) < cutoff

    if settings.work.is_dir():
        for path in sorted(settings.work.iterdir()):
            if path.name != "handoff" and old(path):
                item = str(path.relative_to(settings.home))
                done.append(_to_delete(path, "work_folder", item, reason))
    docs = settings.quality_docs
    if docs.is_dir():
        for path in sorted(p for p in docs.iterdir() if p.is_dir() and p.name.isdigit() and len(p.name) == 8):
            if datetime.strptime(path.name, "%Y%m%d").date() < cutoff:
                item = str(path.relative_to(settings.home))
                done.append(_to_delete(path, "data_docs", item, f"day before {cutoff}"))
    if settings.mail_root.is_dir():
        for path in sorted(p for p in settings.mail_root.iterdir() if p.name.isdigit() and len(p.name) == 8):
            outbox = path / "outbox.parquet"
            if outbox.is_file() and datetime.strptime(path.name, "%Y%m%d").date() < cutoff:
                item = str(outbox.relative_to(settings.home))
                done.append(_to_delete(outbox, "mail_outbox", item, f"day before {cutoff}"))
    return done

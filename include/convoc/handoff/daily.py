"""A day's hand-off, as the ``print_handoff`` DAG runs it: plan (warehouse) → build and deliver (files and
the print shop only) → record (warehouse).

Each day delivers the day's print job (``JYYYYMMDD``: every released PDF of the day) and one reprint job
per earlier job with spoiled pieces pending (``JYYYYMMDD-Rn``: exactly those pieces, same piece ids and
booking codes; ``sql/intermediate/int_print__pending_reprints.sql``). Idempotent: a re-run rebuilds the
same jobs, the delivery finds them unchanged, and the records are replaced.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convoc import faults, warehouse
from convoc.errors import ConvocError
from convoc.letters.batches import day_dir, job_id, write_reprint_batch

if TYPE_CHECKING:
    import duckdb


def origin_day(origin_job_id: str) -> date:
    """The wave day of an original job id (``J20210201`` → 2021-02-01)."""
    try:
        return datetime.strptime(origin_job_id, "J%Y%m%d").date()
    except ValueError as exc:
        raise ConvocError(f"{origin_job_id!r} is not an original print job id (JYYYYMMDD)") from exc


def plan_handoff(con: duckdb.DuckDBPyConnection, day: date, print_root: Path) -> list[dict[str, Any]]:
    """The jobs to deliver on ``day``: the pending reprints (first: their pieces were due already) and the
    day's job (if it printed anything).

    Records first the deliveries not yet recorded (``record_deliveries``): reprint numbers follow what was
    delivered, so a delivered reprint's id is never planned again with other pieces.

    For reprints, writes their batch files (``write_reprint_batch``); returns JSON-safe job plans:
    job_id, origin_job_id, kind ('original' | 'reprint'), origin_day, and the batch PDFs ('pdfs', released
    PDFs of the day's job) or the reprint's batch file ('batch', to be rendered and verified).
    """
    record_deliveries(con, print_root)
    plans: list[dict[str, Any]] = []
    pdfs = con.execute(
        "select path from core.fct_print_batch where wave_date = $d order by print_batch", {"d": day}
    ).fetchall()
    missing = [p for (p,) in pdfs if not Path(p).is_file()]
    if missing:
        raise ConvocError(
            f"{job_id(day)}: released PDFs recorded but missing on disk ({missing[0]}…); run letters_render again"
        )
    pending = warehouse.query(con, warehouse.select("intermediate/int_print__pending_reprints.sql"))
    for (origin, reprint), group in pending.group_by(["origin_job_id", "reprint_job_id"], maintain_order=True):
        first = origin_day(str(origin))
        batch = write_reprint_batch(print_root, first, str(reprint), sorted(group.get_column("piece_id").to_list()))
        plans.append(
            {
                "job_id": str(reprint),
                "origin_job_id": str(origin),
                "kind": "reprint",
                "origin_day": first.isoformat(),
                "batch": str(batch),
            }
        )
    if pdfs:
        plans.append(
            {
                "job_id": job_id(day),
                "origin_job_id": job_id(day),
                "kind": "original",
                "origin_day": day.isoformat(),
                "pdfs": [p for (p,) in pdfs],
            }
        )
    return plans


def reprint_folder(print_root: Path, origin_job_id: str, reprint_job_id: str) -> Path:
    return day_dir(print_root, origin_day(origin_job_id)) / "reprints" / reprint_job_id


def build_planned_job(
    plan: dict[str, Any], print_root: Path, staging: Path, day: date, templates: Path | None = None
) -> dict[str, Any]:
    """Build one planned job into ``staging`` (no warehouse). A reprint's batch is rendered and verified
    first, like any batch (its pages' piece codes carry the reprint job id); a batch failing verification
    is not released and the job is not built."""
    from convoc.handoff.job import build_job
    from convoc.letters.batches import render_batch_file, verify_batch_file

    if plan["kind"] == "reprint":
        first = date.fromisoformat(plan["origin_day"])
        verify_batch_file(render_batch_file(Path(plan["batch"]), first, templates=templates).as_dict(), first)
    return build_job(print_root, plan["job_id"], staging, handoff_date=day).as_dict()


def deliver_built_job(built: dict[str, Any], transport_kind: str, outbox: Path) -> dict[str, Any]:
    """Deliver a built job (``build_planned_job``'s result) through the configured transport."""
    from convoc.handoff.deliver import deliver

    with open_transport(transport_kind, outbox) as transport:
        result = deliver(Path(built["path"]), transport)
    return {**built, **result.as_dict(), "transport": transport_kind}


class _Closing:
    """A transport usable in ``with`` whether or not it has a ``close``."""

    def __init__(self, transport: Any) -> None:
        self.transport = transport

    def __enter__(self) -> Any:
        return self.transport

    def __exit__(self, *exc: object) -> None:
        close = getattr(self.transport, "close", None)
        if close is not None:
            close()


def open_transport(kind: str, outbox: Path) -> _Closing:
    """``local``: the folder ``outbox``; ``sftp``: the print shop's server (Airflow connection
    ``print_shop_sftp``)."""
    if kind == "local":
        from convoc.handoff.transport import LocalTransport

        return _Closing(LocalTransport(outbox))
    if kind == "sftp":
        from convoc.handoff.sftp import SftpTransport

        return _Closing(SftpTransport.from_connection())
    raise ConvocError(f"CONVOC_PRINT_TRANSPORT={kind!r}: expected 'local' or 'sftp'")


RECEIPTS = "deliveries"
"""Folder of ``print_root`` holding one delivery receipt per job id: ``<job id>.json`` (what was delivered,
as what, when) and ``<job id>.pieces.parquet`` (its pieces: piece id, invitation, file, first page, sheets)."""


def deliver_planned_job(
    built: dict[str, Any], transport_kind: str, outbox: Path, print_root: Path, day: date
) -> dict[str, Any]:
    """Deliver a built job and write its receipt the moment the print shop has it (``READY``): what reached
    the print shop is known from the receipts, whatever happens to the rest of the day's run."""
    result = deliver_built_job(built, transport_kind, outbox)
    faults.point("handoff.deliver.before_receipt")
    write_receipt(print_root, day, result)
    return result


def write_receipt(print_root: Path, day: date, delivered: dict[str, Any]) -> Path:
    """Record on disk that ``delivered`` (``deliver_built_job``'s result) is at the print shop: its pieces
    first, then ``<job id>.json`` (atomic, 0600), which marks the receipt complete. Replaces the job's
    earlier receipt (a later version of the same job)."""
    import json

    from convoc.files import private_dirs, write_private

    job = str(delivered["job_id"])
    folder = print_root / RECEIPTS
    private_dirs(folder)
    _write_delivered_pieces(print_root, delivered, folder / f"{job}.pieces.parquet")
    receipt = {
        key: delivered[key]
        for key in ("job_id", "origin_job_id", "kind", "name", "status", "print_files", "pieces", "pages",
                    "sheets", "manifest_sha256", "transport")
    }  # fmt: skip
    receipt.update(handoff_date=day.isoformat(), received_at=datetime.now().isoformat(timespec="seconds"))
    path = folder / f"{job}.json"
    write_private(path, (json.dumps(receipt, indent=2) + "\n").encode())
    return path


_RUN_COLUMNS = {
    "envelope": "bigint", "piece_id": "bigint", "file": "varchar", "first_page": "bigint", "pages": "integer",
    "sheets": "integer", "presort_zone": "varchar", "presort_key": "varchar",
}  # fmt: skip
"""The inserter run file's columns (``job.RUN_COLUMNS``) and their types."""


def _write_delivered_pieces(print_root: Path, delivered: dict[str, Any], out: Path) -> None:
    """A delivered job's pieces (piece id, invitation, print file, first page, sheets), from its inserter run
    file and batch files, written to ``out`` (Parquet, 0600, atomic) by DuckDB within its memory limit: a
    national job's millions of pieces never sit in this task's memory."""
    import duckdb

    from convoc.files import fsync_dir
    from convoc.handoff.job import RUN_COLUMNS, RUN_FILE, job_source

    if tuple(_RUN_COLUMNS) != RUN_COLUMNS:
        raise ConvocError(f"the run file's columns changed ({RUN_COLUMNS}): update _RUN_COLUMNS")
    job = str(delivered["job_id"])
    batches = [str(p) for p in sorted((job_source(print_root, job) / "batches").glob("*.parquet"))]
    part = out.with_name(f".{out.name}.part")
    con = duckdb.connect(config={"memory_limit": warehouse.MEMORY_LIMIT, "preserve_insertion_order": False})
    try:
        con.execute(
            "create temp table pieces as select run.piece_id, batches.invitation_id, run.file as print_file, "
            "run.first_page, run.sheets from read_csv($run, header = true, columns = $columns) as run "
            "left join read_parquet($batches) as batches using (piece_id)",
            {"run": str(Path(str(delivered["path"])) / RUN_FILE), "columns": _RUN_COLUMNS, "batches": batches},
        )
        [(missing,)] = con.execute("select count(*) from pieces where invitation_id is null").fetchall()
        if missing:
            raise ConvocError(f"{job}: {missing} pieces of the run file missing from the batch files")
        target = str(part).replace("'", "''")
        con.execute(f"copy (select * from pieces order by piece_id) to '{target}' (format parquet)")
    finally:
        con.close()
    os.chmod(part, 0o600)
    with part.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(part, out)
    fsync_dir(out.parent)


def record_deliveries(con: duckdb.DuckDBPyConnection, print_root: Path) -> list[str]:
    """Record every delivery receipt not yet recorded as it is (``core.fct_print_job``, one row per job,
    and its pieces in ``core.fct_print_piece``; a job recorded before is replaced). Returns the job ids
    recorded now.

    Run before planning (a run that delivered and failed before recording is caught up first, so that the
    next reprint's number follows every reprint delivered) and after delivering.
    """
    import json

    recorded = {
        (job, name, sha)
        for job, name, sha in con.execute(
            "select job_id, delivered_as, manifest_sha256 from core.fct_print_job"
        ).fetchall()
    }
    done = []
    for path in sorted((print_root / RECEIPTS).glob("J*.json")):
        receipt = json.loads(path.read_text())
        job = str(receipt["job_id"])
        if (job, receipt["name"], receipt["manifest_sha256"]) in recorded:
            continue
        params = {"j": job}
        con.execute("delete from core.fct_print_piece where job_id = $j", params)
        con.execute("delete from core.fct_print_job where job_id = $j", params)
        con.execute(
            "insert into core.fct_print_job values ($j, $o, $name, $kind, $d, $files, $pieces, $pages, $sheets, "
            "$sha, $transport, $at)",
            {**params, "o": receipt["origin_job_id"], "name": receipt["name"], "kind": receipt["kind"],
             "d": date.fromisoformat(receipt["handoff_date"]), "files": receipt["print_files"],
             "pieces": receipt["pieces"], "pages": receipt["pages"], "sheets": receipt["sheets"],
             "sha": receipt["manifest_sha256"], "transport": receipt["transport"],
             "at": datetime.fromisoformat(receipt["received_at"])},
        )  # fmt: skip
        # read by DuckDB from the receipt's Parquet file: a national job's pieces never sit in this task's memory
        con.execute(
            "insert into core.fct_print_piece select $j, $o, piece_id, invitation_id, print_file, first_page, "
            "sheets, $reprint from read_parquet($pieces)",
            {**params, "o": receipt["origin_job_id"], "reprint": receipt["kind"] == "reprint",
             "pieces": str(path.with_name(f"{job}.pieces.parquet"))},
        )  # fmt: skip
        done.append(job)
    if done:
        faults.point("handoff.record.before_commit")
    return done


def check_delivered(plans: list[dict[str, Any]], delivered: list[dict[str, Any]]) -> None:
    """Raise ConvocError naming the planned jobs that were not delivered (their delivery failed): the jobs
    that were are recorded all the same (``record_deliveries``)."""
    missing = sorted({str(p["job_id"]) for p in plans} - {str(d["job_id"]) for d in delivered})
    if missing:
        raise ConvocError(
            f"{len(missing)} of {len(plans)} print jobs not delivered: {', '.join(missing)}; "
            f"the {len(plans) - len(missing)} delivered are recorded. Run print_handoff for the day again."
        )

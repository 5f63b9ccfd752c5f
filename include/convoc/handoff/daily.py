"""A day's hand-off, as the ``print_handoff`` DAG runs it: plan (warehouse) → build and deliver (files and
the print shop only) → record (warehouse).

Each day delivers the day's print job (``JYYYYMMDD``: every released PDF of the day) and one reprint job
per earlier job with spoiled pieces pending (``JYYYYMMDD-Rn``: exactly those pieces, same piece ids and
booking codes; ``sql/intermediate/int_print__pending_reprints.sql``). Idempotent: a re-run rebuilds the
same jobs, the delivery finds them unchanged, and the records are replaced.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convoc import warehouse
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
    """The jobs to deliver on ``day``: the day's job (if it printed anything) and the pending reprints.

    For reprints, writes their batch files (``write_reprint_batch``); returns JSON-safe job plans:
    job_id, origin_job_id, kind ('original' | 'reprint'), origin_day, and the batch PDFs ('pdfs', released
    PDFs of the day's job) or the reprint's batch file ('batch', to be rendered and verified).
    """
    plans: list[dict[str, Any]] = []
    pdfs = con.execute(
        "select path from core.fct_print_batch where wave_date = $d order by print_batch", {"d": day}
    ).fetchall()
    if pdfs:
        missing = [p for (p,) in pdfs if not Path(p).is_file()]
        if missing:
            raise ConvocError(
                f"{job_id(day)}: released PDFs recorded but missing on disk ({missing[0]}…); run letters_render again"
            )
        plans.append(
            {
                "job_id": job_id(day),
                "origin_job_id": job_id(day),
                "kind": "original",
                "origin_day": day.isoformat(),
                "pdfs": [p for (p,) in pdfs],
            }
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
    return plans


def reprint_folder(print_root: Path, origin_job_id: str, reprint_job_id: str) -> Path:
    return day_dir(print_root, origin_day(origin_job_id)) / "reprints" / reprint_job_id


def build_planned_job(plan: dict[str, Any], print_root: Path, staging: Path, day: date) -> dict[str, Any]:
    """Build one planned job into ``staging`` (no warehouse). A reprint's batch is rendered and verified
    first, like any batch (its pages' piece codes carry the reprint job id); a batch failing verification
    is not released and the job is not built."""
    from convoc.handoff.job import build_job
    from convoc.letters.batches import render_batch_file, verify_batch_file

    if plan["kind"] == "reprint":
        first = date.fromisoformat(plan["origin_day"])
        verify_batch_file(render_batch_file(Path(plan["batch"]), first).as_dict(), first)
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


def record_deliveries(
    con: duckdb.DuckDBPyConnection, day: date, print_root: Path, delivered: list[dict[str, Any]]
) -> int:
    """Record delivered jobs in ``core.fct_print_job`` and their pieces in ``core.fct_print_piece``
    (from each job's inserter run file and batch files); a job recorded before is replaced."""
    import polars as pl

    from convoc.handoff.job import RUN_FILE, job_source

    for job in delivered:
        built = Path(str(job["path"]))
        run = pl.read_csv(built / RUN_FILE, schema_overrides={"piece_id": pl.Int64, "first_page": pl.Int64})
        batches = pl.concat(
            [
                pl.read_parquet(p, columns=["piece_id", "invitation_id"])
                for p in sorted((job_source(print_root, str(job["job_id"])) / "batches").glob("*.parquet"))
            ]
        )
        pieces = run.join(batches, on="piece_id", how="left")
        if pieces.get_column("invitation_id").null_count():
            raise ConvocError(f"{job['job_id']}: pieces of the run file missing from the batch files")
        pieces = pieces.select(
            pl.lit(job["job_id"]).alias("job_id"),
            pl.lit(job["origin_job_id"]).alias("origin_job_id"),
            "piece_id",
            "invitation_id",
            pl.col("file").alias("print_file"),
            "first_page",
            pl.col("sheets").cast(pl.Int32),
            pl.lit(job["kind"] == "reprint").alias("reprint"),
        )
        params = {"j": job["job_id"]}
        con.execute("delete from core.fct_print_piece where job_id = $j", params)
        con.execute("delete from core.fct_print_job where job_id = $j", params)
        con.execute(
            "insert into core.fct_print_job values ($j, $o, $name, $kind, $d, $files, $pieces, $pages, $sheets, "
            "$sha, $transport, now())",
            {**params, "o": job["origin_job_id"], "name": job["name"], "kind": job["kind"], "d": day,
             "files": job["print_files"], "pieces": job["pieces"], "pages": job["pages"], "sheets": job["sheets"],
             "sha": job["manifest_sha256"], "transport": job["transport"]},
        )  # fmt: skip
        con.execute("insert into core.fct_print_piece select * from pieces")
    return len(delivered)

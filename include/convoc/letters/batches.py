"""Print batches: the day's letters cut into Parquet batch files, rendered one PDF per batch, verified, recorded.

``cut_batches`` (warehouse) → ``render_batch_file`` → ``verify_batch_file`` (no warehouse: one mapped task
each per batch) → ``record_batches`` (warehouse). Under ``$CONVOC_HOME/print/<day>/``:

- ``batches/<stem>.parquet``: one row per piece, in print order, with the pages it takes (``pages``: 1, more
  for a large-print letter; decided here by the renderer's layout, and then held to by rendering, verification
  and the hand-off's inserter run file);
- ``rendered/<stem>.pdf``: a PDF as rendered, not yet verified — nothing downstream reads this folder;
- ``pdf/<stem>.pdf``: released, verified PDFs (moved there by atomic rename): the only ones handed off;
- ``rejected/<stem>.pdf`` and ``<stem>.reason.txt``: batches that failed verification;
- ``preflight/<stem>.json``: the prepress preflight of a released PDF (its SHA-256, profile, result, fonts),
  which the hand-off records in the job's manifest.

All hold names and addresses: folders 0700, files 0600. Re-running a day replaces all four folders.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import fields
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convoc import faults, warehouse
from convoc.campaigns import Centres
from convoc.errors import ConvocError
from convoc.files import fsync_dir as _fsync_dir
from convoc.files import private_dirs as _private_dirs
from convoc.files import write_private, write_private_parquet

if TYPE_CHECKING:
    import duckdb
    import polars as pl

    from convoc.letters.content import Letter
    from convoc.letters.render import RenderResult

log = logging.getLogger(__name__)

BATCH_SIZE = 5_000
DAY_FOLDERS = ("batches", "rendered", "pdf", "rejected", "preflight")
"""A day's print folders, all replaced when the day is cut again."""


def job_id(day: date) -> str:
    """The day's print job: ``JYYYYMMDD``; its reprints are ``JYYYYMMDD-R1``, ``-R2``…"""
    return f"J{day:%Y%m%d}"


def batch_job_id(stem: str) -> str:
    """The job a batch file belongs to, from its name: ``J20210201-0003`` → ``J20210201``,
    ``J20210201-R1-0001`` → ``J20210201-R1`` (the piece codes printed on its pages carry it)."""
    job, sep, number = stem.rpartition("-")
    if not sep or not job.startswith("J") or not number.isdigit():
        raise ConvocError(f"{stem!r} is not a batch name (JYYYYMMDD[-Rn]-NNNN)")
    return job


def day_dir(print_root: Path, day: date) -> Path:
    return print_root / f"{day:%Y%m%d}"


def stage_fallbacks(con: duckdb.DuckDBPyConnection, day: date) -> int:
    """The paper letters of ``day`` that replace failed e-mails (``int_letters__fallbacks.sql``) as the temp
    table ``_fallbacks``, which ``int_letters__pieces.sql`` reads; returns how many."""
    sql = warehouse.select("intermediate/int_letters__fallbacks.sql")
    warehouse.execute(con, f"create or replace temp table _fallbacks as {sql}", {"wave_date": day})
    return int(con.execute("select count(*) from _fallbacks").fetchall()[0][0])


def letter_pieces(con: duckdb.DuckDBPyConnection, day: date) -> pl.DataFrame:
    """The day's letters as ``int_letters__pieces.sql`` selects them (its fallbacks staged first), in piece
    order: what ``cut_batches`` cuts, before the centres' names are added."""
    stage_fallbacks(con, day)
    try:
        return warehouse.query(con, warehouse.select("intermediate/int_letters__pieces.sql"), {"wave_date": day})
    finally:
        con.execute("drop table if exists _fallbacks")


def cut_batches(
    con: duckdb.DuckDBPyConnection,
    day: date,
    print_root: Path,
    centres: Centres,
    batch_size: int = BATCH_SIZE,
    *,
    templates: Path | None = None,
    max_batches: int | None = None,
) -> list[Path]:
    """Write the day's letters as batch files of ``batch_size`` pieces (presort order); return their paths.

    At most ``max_batches`` files (each is a mapped render and verify task: Airflow refuses to map more than
    its ``core.max_map_length``): a day that would need more gets larger batches, with a warning, rather than
    no letters at all.

    Replaces the day's print folders and forgets the day's recorded batches first (see the module docstring).
    The letters are numbered and sorted once inside DuckDB (within its memory limit, spilling to disk), then
    written one batch at a time: the task's memory does not grow with the day's letters. Each piece's ``pages``
    come from the renderer's layout (``render.piece_pages``, with ``templates`` as rendering will use them).
    """
    import polars as pl

    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    centre_info = pl.DataFrame(
        [(c.centre, c.name, list(c.address)) for c in centres.centres],
        schema={"centre": pl.String, "centre_name": pl.String, "centre_address": pl.List(pl.String)},
        orient="row",
    )
    pieces = warehouse.select("intermediate/int_letters__pieces.sql")
    stage_fallbacks(con, day)
    con.register("_centre_info", centre_info)
    try:  # a mailing suggests no centre: empty name and address
        warehouse.execute(
            con,
            f"""
            create or replace temp table _pieces as
            select pieces.*, coalesce(info.centre_name, '') as centre_name,
                   coalesce(info.centre_address, cast([] as varchar[])) as centre_address
            from ({pieces}) as pieces
            left join _centre_info as info on info.centre = pieces.centre
            order by pieces.piece_id
            """,
            {"wave_date": day},
        )
    finally:
        con.unregister("_centre_info")
        con.execute("drop table if exists _fallbacks")
    row = con.execute("select count(*) from _pieces").fetchone()
    total = int(row[0]) if row else 0
    if max_batches is not None and total > batch_size * max_batches:
        wider = -(-total // max_batches)
        log.warning(
            "%d letters in batches of %d would be %d batches, more than the %d tasks Airflow maps at most "
            "(core.max_map_length): batches of %d today",
            total,
            batch_size,
            -(-total // batch_size),
            max_batches,
            wider,
        )
        batch_size = wider
    # Nothing of an earlier run of the day (a PDF rendered, released or rejected, or the record of one) may
    # pass for this run's.
    _forget_batches(con, day)
    for name in DAY_FOLDERS:
        shutil.rmtree(day_dir(print_root, day) / name, ignore_errors=True)
    folder = day_dir(print_root, day) / "batches"
    _private_dirs(print_root, folder.parent, folder)
    paths = []
    for k, start in enumerate(range(0, total, batch_size), start=1):
        path = folder / f"{job_id(day)}-{k:04d}.parquet"
        batch = con.sql(
            "select * from _pieces where piece_id > $a and piece_id <= $b order by piece_id",
            params={"a": start, "b": start + batch_size},
        ).pl()
        write_private_parquet(path, batch.with_columns(_pages(batch, day, templates)))
        paths.append(path)
        faults.point("letters.cut.after_first_batch")
    con.execute("drop table _pieces")
    return paths


def _letters(frame: pl.DataFrame, day: date) -> list[Letter]:
    """A batch's rows as letters. The batch file carries every Letter field but the letter's date (the day)
    under the same names (a batch cut before household letters or formats lacks those: the defaults hold)."""
    from convoc.letters.content import Letter

    names = [f.name for f in fields(Letter) if f.name != "letter_date" and f.name in frame.columns]
    return [
        Letter(
            **{
                **row,
                "centre_address": tuple(row["centre_address"]),
                "co_residents": tuple(row.get("co_residents") or ()),
                "letter_date": day,
            }
        )
        for row in frame.select(names).iter_rows(named=True)
    ]


def _pages(batch: pl.DataFrame, day: date, templates: Path | None) -> pl.Series:
    """The pages each piece of ``batch`` takes: 1 for a standard letter, the renderer's count for large print."""
    import polars as pl

    from convoc.letters.content import load_templates
    from convoc.letters.render import piece_pages

    pages = pl.Series("pages", [1] * batch.height, dtype=pl.Int16)
    if "format" not in batch.columns or batch.height == 0:
        return pages
    large = batch.with_row_index("_row").filter(pl.col("format") == "large_print")
    if large.height == 0:
        return pages
    letters = _letters(large, day)
    found = load_templates(letters, templates)
    counts = [piece_pages(letter, found) for letter in letters]
    return pages.scatter(large.get_column("_row"), counts)


def batch_pages(batch: Path) -> list[int]:
    """The pages each piece of a batch file takes, in print order (1 each for a file cut before formats)."""
    import polars as pl

    if "pages" not in pl.read_parquet_schema(batch):
        return [1] * pl.scan_parquet(batch).select(pl.len()).collect().item()
    return [int(n) for n in pl.read_parquet(batch, columns=["pages"]).get_column("pages")]


def render_batch_file(batch: Path, day: date, **options: Any) -> RenderResult:
    """Render one batch file to ``<day>/rendered/<batch>.pdf`` (reads the batch only, never the warehouse).

    An earlier release or rejection of the same batch is withdrawn first: only ``verify_batch_file``
    puts a PDF in ``pdf/``.
    """
    import polars as pl

    from convoc.letters.render import render_batch

    letters = _letters(pl.read_parquet(batch), day)
    folder = batch.parent.parent
    for stale in (folder / "pdf" / f"{batch.stem}.pdf", *_rejected(folder, batch.stem)):
        stale.unlink(missing_ok=True)
    _private_dirs(folder / "rendered")
    out = folder / "rendered" / f"{batch.stem}.pdf"
    return render_batch(letters, out, job_id=batch_job_id(batch.stem), pages=batch_pages(batch), **options)


def _rejected(folder: Path, stem: str) -> tuple[Path, Path]:
    return folder / "rejected" / f"{stem}.pdf", folder / "rejected" / f"{stem}.reason.txt"


def verify_batch_file(
    rendered: Mapping[str, Any] | Path | str,
    day: date,
    *,
    booking_url: str | None = None,
    pages_per_piece: int | None = None,
    sample: int | None = None,
) -> dict[str, Any]:
    """Verify a rendered batch PDF against its batch file and release it, or reject it.

    ``rendered`` is ``render_batch_file``'s result (its ``as_dict()``) or the path of the rendered PDF.
    Expectations come from ``<day>/batches/<stem>.parquet`` (piece ids, booking codes and the pages each
    piece takes, in print order; never the warehouse; ``pages_per_piece`` overrides the pages for all).
    Passed: the PDF is renamed atomically into ``<day>/pdf/`` and its record is returned (path, pages, pieces,
    sha256, bytes, checked pages: JSON-safe). Failed: it is moved to ``<day>/rejected/``
    beside a ``<stem>.reason.txt``, and VerificationFailed is raised. Run again on a batch it has already
    released (the rendered file gone), it verifies the released file again where it lies.
    """
    import polars as pl

    from convoc.letters.verify import SAMPLE, VerificationFailed, verify_pdf

    record = dict(rendered) if isinstance(rendered, Mapping) else {"path": str(rendered)}
    source = Path(str(record["path"]))
    folder, stem = source.parent.parent, source.stem
    released = folder / "pdf" / f"{stem}.pdf"
    if not source.exists() and released.exists():
        source = released
    batch = folder / "batches" / f"{stem}.parquet"
    if not batch.is_file():
        raise ConvocError(f"{source}: its batch file {batch} is missing; cut the day's batches again")
    pieces = list(pl.read_parquet(batch, columns=["piece_id", "booking_code"]).iter_rows())
    try:
        verified = verify_pdf(
            source,
            pieces,
            job_id=batch_job_id(stem),
            booking_url=booking_url,
            pages_per_piece=batch_pages(batch) if pages_per_piece is None else pages_per_piece,
            sample=SAMPLE if sample is None else sample,
            sha256=str(record["sha256"]) if "sha256" in record else None,
        )
    except VerificationFailed as exc:
        _reject(folder, source, stem, str(exc))
        raise
    # The preflight's result beside the day's print folders (not in pdf/, which is handed off): the hand-off
    # records it in the job's manifest for the file of this SHA-256.
    write_private(
        folder / "preflight" / f"{stem}.json",
        json.dumps({"sha256": verified.sha256, **(verified.preflight or {})}, sort_keys=True).encode(),
    )
    if source != released:
        faults.point("letters.verify.before_release")
        _private_dirs(released.parent)
        os.chmod(source, 0o600)
        os.replace(source, released)
        _fsync_dir(released.parent)
    return {
        "path": str(released),
        "pages": verified.pages,
        "pieces": len(pieces),
        "sha256": verified.sha256,
        "bytes": released.stat().st_size,
        "checked": list(verified.checked),
        "preflight": verified.preflight,
    }


def _reject(folder: Path, source: Path, stem: str, reason: str) -> None:
    """Move a failed PDF (if there is one) to ``rejected/`` with the reason; withdraw any release of it."""
    pdf, reason_file = _rejected(folder, stem)
    _private_dirs(pdf.parent)
    released = folder / "pdf" / f"{stem}.pdf"
    if source != released:
        released.unlink(missing_ok=True)
    if source.exists():
        os.chmod(source, 0o600)
        os.replace(source, pdf)
    write_private(reason_file, (reason + "\n").encode("utf-8"))


def write_reprint_batch(print_root: Path, origin_day: date, reprint_job_id: str, piece_ids: list[int]) -> Path:
    """The batch file of a reprint job: exactly ``piece_ids`` of the origin day's job, rows as first cut (same
    piece ids, booking codes, addresses), in piece order, under ``<origin day>/reprints/<reprint job>/``.

    Rendered and verified like any batch (``render_batch_file``, ``verify_batch_file``); its pages' piece
    codes carry the reprint job id. Raises if a piece is not in the origin day's batch files.
    """
    import polars as pl

    sources = sorted((day_dir(print_root, origin_day) / "batches").glob("*.parquet"))
    wanted = sorted(set(piece_ids))
    rows = (
        pl.concat([pl.read_parquet(path) for path in sources]).filter(pl.col("piece_id").is_in(wanted)).sort("piece_id")
        if sources
        else pl.DataFrame()
    )
    missing = sorted(set(wanted) - set(rows.get_column("piece_id").to_list() if rows.height else []))
    if missing:
        raise ConvocError(
            f"reprint {reprint_job_id}: pieces {missing[:10]} are not in the batch files of "
            f"{job_id(origin_day)} ({day_dir(print_root, origin_day) / 'batches'})"
        )
    folder = day_dir(print_root, origin_day) / "reprints" / reprint_job_id
    shutil.rmtree(folder, ignore_errors=True)
    _private_dirs(print_root, folder.parent.parent, folder.parent, folder, folder / "batches")
    path = folder / "batches" / f"{reprint_job_id}-0001.parquet"
    write_private_parquet(path, rows)
    return path


def _forget_batches(con: duckdb.DuckDBPyConnection, day: date) -> None:
    con.execute("delete from core.fct_print_batch where wave_date = $d", {"d": day})
    con.execute("delete from core.fct_print_batch_letter where wave_date = $d", {"d": day})


def record_batches(con: duckdb.DuckDBPyConnection, day: date, results: list[dict[str, Any]]) -> int:
    """Record the day's batches in core.fct_print_batch and their letters (invitation × piece id) in
    core.fct_print_batch_letter, replacing the day's rows of both (the letters stage is their one writer).

    ``results`` are ``verify_batch_file``'s: only released PDFs (in the day's ``pdf/``) are recorded; any other
    path is refused before anything is written.
    """
    for result in results:
        pdf = Path(str(result["path"]))
        if pdf.parent.name != "pdf" or pdf.parent.parent.name != f"{day:%Y%m%d}" or not pdf.is_file():
            raise ConvocError(f"{pdf}: not a released PDF of {day} (expected in <day>/pdf/); nothing recorded")
    _forget_batches(con, day)
    for result in results:
        pdf = Path(str(result["path"]))
        batch = pdf.parent.parent / "batches" / f"{pdf.stem}.parquet"
        warehouse.run_script(
            con,
            "core/fct_print_batch__record.sql",
            {"job_id": job_id(day), "print_batch": pdf.stem, "wave_date": day, "path": str(pdf),
             "pieces": result["pieces"], "pages": result["pages"], "sha256": result["sha256"],
             "bytes": result["bytes"], "batch": str(batch)},
        )  # fmt: skip
    faults.point("letters.record.before_commit")
    return len(results)

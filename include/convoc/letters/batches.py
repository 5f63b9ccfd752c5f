"""Print batches: the day's letters cut into Parquet batch files, rendered one PDF per batch, recorded.

``cut_batches`` (warehouse) → ``render_batch_file`` (no warehouse: one mapped task per batch) →
``record_batches`` (warehouse). Batch files hold names and addresses: owner-only, under
``$CONVOC_HOME/print/<day>/``. Re-running a day replaces its batches and PDFs.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import fields
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convoc import warehouse
from convoc.campaigns import Centres

if TYPE_CHECKING:
    import duckdb

    from convoc.letters.render import RenderResult

BATCH_SIZE = 5_000


def job_id(day: date) -> str:
    return f"J{day:%Y%m%d}"


def day_dir(print_root: Path, day: date) -> Path:
    return print_root / f"{day:%Y%m%d}"


def _private_dirs(*paths: Path) -> None:
    """Create each folder, owner-only (print files hold names and addresses)."""
    for path in paths:
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)


def cut_batches(
    con: duckdb.DuckDBPyConnection, day: date, print_root: Path, centres: Centres, batch_size: int = BATCH_SIZE
) -> list[Path]:
    """Write the day's letters as batch files of ``batch_size`` pieces (presort order); return their paths."""
    import polars as pl

    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    letters = warehouse.query(con, warehouse.select("intermediate/int_letters__pieces.sql"), {"wave_date": day})
    centre_info = pl.DataFrame(
        [(c.centre, c.name, list(c.address)) for c in centres.centres],
        schema={"centre": pl.String, "centre_name": pl.String, "centre_address": pl.List(pl.String)},
        orient="row",
    )
    letters = letters.join(centre_info, on="centre", how="left").sort("piece_id")
    folder = day_dir(print_root, day) / "batches"
    shutil.rmtree(folder, ignore_errors=True)
    _private_dirs(print_root, folder.parent, folder)
    paths = []
    for k, start in enumerate(range(0, letters.height, batch_size), start=1):
        path = folder / f"{job_id(day)}-{k:04d}.parquet"
        letters.slice(start, batch_size).write_parquet(path)
        os.chmod(path, 0o600)
        paths.append(path)
    return paths


def render_batch_file(batch: Path, day: date, **options: Any) -> RenderResult:
    """Render one batch file to ``<day>/pdf/<batch>.pdf`` (reads the batch only, never the warehouse)."""
    import polars as pl

    from convoc.letters.render import Letter, render_batch

    # The batch file carries every Letter field but the letter's date (the day) under the same names.
    names = [f.name for f in fields(Letter) if f.name != "letter_date"]
    letters = [
        Letter(**{**row, "centre_address": tuple(row["centre_address"]), "letter_date": day})
        for row in pl.read_parquet(batch, columns=names).iter_rows(named=True)
    ]
    pdf_dir = batch.parent.parent / "pdf"
    _private_dirs(pdf_dir)
    out = pdf_dir / f"{batch.stem}.pdf"
    return render_batch(letters, out, job_id=job_id(day), **options)


def record_batches(con: duckdb.DuckDBPyConnection, day: date, results: list[dict[str, Any]]) -> int:
    """Record the day's batches in core.fct_print_batch and batch/piece ids on each invitation."""
    con.execute("delete from core.fct_print_batch where wave_date = $d", {"d": day})
    con.execute("update core.fct_invitation set print_batch = null, piece_id = null where wave_date = $d", {"d": day})
    for result in results:
        pdf = Path(str(result["path"]))
        batch = pdf.parent.parent / "batches" / f"{pdf.stem}.parquet"
        con.execute(
            """
            insert into core.fct_print_batch
            select $job, $b, $d, $path, $pieces, $pages, min(piece_id), max(piece_id), $sha, $bytes
            from read_parquet($batch)
            """,
            {"job": job_id(day), "b": pdf.stem, "d": day, "path": str(pdf), "pieces": result["pieces"],
             "pages": result["pages"], "sha": result["sha256"], "bytes": result["bytes"], "batch": str(batch)},
        )  # fmt: skip
        con.execute(
            """
            update core.fct_invitation as i set print_batch = $b, piece_id = p.piece_id
            from (select invitation_id, piece_id from read_parquet($batch)) as p
            where i.invitation_id = p.invitation_id
            """,
            {"b": pdf.stem, "batch": str(batch)},
        )
    return len(results)

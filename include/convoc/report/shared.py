"""The copy of the marts that may be shared beyond the campaign's analysts, with the report's small-cell rule.

The analysts' copy (``var/warehouse/published/convoc.duckdb``) keeps counts as small as 1 at commune × age band
× language level: the campaign's analysts work for the controller, under its legal basis, and need them to
steer the waves (``docs/warehouse.md``). Anything shared further — other administrations, researchers, open
data — is this copy instead, ``var/warehouse/published/convoc_shared.duckdb``, rebuilt from the analysts'
copy after each stats run:

- coarser: no commune, language or phase (canton × age band is the finest geography and person detail);
- every count of people goes through :func:`convoc.report.suppress.protect_group` — the summary report's
  rule — across the cells published side by side (the cantons of a day × campaign × dose × age band, the
  reasons of a day × campaign, the campaigns of a day): 1–4 is hidden, and when exactly one cell of a group
  is, the smallest other non-zero cell is hidden too, so that no hidden cell can be recovered from a total;
- a hidden count is ``NULL``, with a ``<column>_suppressed`` column saying why (``small`` or ``masked``); a
  share or cost computed from a hidden count is ``NULL`` as well.

Print spoilage per job is not shared (job-level operations, not people).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from convoc import faults, warehouse
from convoc.files import fsync_dir
from convoc.report.suppress import Status, protect_group

if TYPE_CHECKING:
    import duckdb
    import polars as pl


@dataclass(frozen=True, slots=True)
class SharedTable:
    """One table of the shared copy: its query (``sql/reports/``), the columns that group cells published side
    by side, and its counts of people."""

    name: str
    query: str
    groups: tuple[str, ...]
    counts: tuple[str, ...]


TABLES: tuple[SharedTable, ...] = (
    SharedTable(
        "fct_dispatch_daily",
        "reports/shared__dispatch_daily.sql",
        ("day", "campaign", "dose", "age_band"),
        ("invited", "printed", "mailed", "returned", "booked", "vaccinated", "reprinted"),
    ),
    SharedTable(
        "fct_campaign_progress",
        "reports/shared__campaign_progress.sql",
        ("as_of_date", "campaign", "age_band"),
        ("eligible", "invited", "booked", "vaccinated"),
    ),
    SharedTable("fct_returns_by_reason", "reports/shared__returns_by_reason.sql", ("day", "campaign"), ("returned",)),
    SharedTable("fct_postage_daily", "reports/shared__postage_daily.sql", ("day",), ("letters_mailed",)),
)


def protect_table(frame: pl.DataFrame, table: SharedTable) -> pl.DataFrame:
    """``frame`` with every count of ``table`` protected within its groups: hidden counts ``NULL``, and a
    ``<count>_suppressed`` column (``small``, ``masked`` or null)."""
    import polars as pl

    if frame.is_empty():
        extra = [pl.lit(None, pl.String).alias(f"{c}_suppressed") for c in table.counts]
        return frame.with_columns(extra)
    frame = frame.with_row_index("_row")
    statuses: dict[str, list[str | None]] = {c: [None] * frame.height for c in table.counts}
    for group in frame.partition_by(list(table.groups), maintain_order=True):
        rows = group.get_column("_row").to_list()
        for column in table.counts:
            cells = protect_group([int(v or 0) for v in group.get_column(column).to_list()])
            for row, cell in zip(rows, cells, strict=True):
                if cell.status is not Status.SHOWN:
                    statuses[column][row] = cell.status.value
    columns = []
    for column in table.counts:
        flag = pl.Series(f"{column}_suppressed", statuses[column], dtype=pl.String)
        columns += [pl.when(flag.is_null()).then(pl.col(column)).otherwise(None).alias(column), flag]
    return frame.with_columns(columns).drop("_row")


def shared_frames(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    """Every table of the shared copy, protected, from the marts on ``con`` (the analysts' copy)."""
    import polars as pl

    frames = {}
    for table in TABLES:
        frame = protect_table(warehouse.query(con, warehouse.select(table.query)), table)
        if table.name == "fct_campaign_progress":
            coverage = pl.col("vaccinated") / pl.col("eligible")
            frame = frame.with_columns(pl.when(pl.col("eligible") > 0).then(coverage).otherwise(None).alias("coverage"))
        if table.name == "fct_postage_daily":
            frame = frame.with_columns(
                pl.when(pl.col("letters_mailed").is_null()).then(None).otherwise(pl.col("cost_eur")).alias("cost_eur")
            )
        frames[table.name] = frame
    return frames


def publish_shared(con: duckdb.DuckDBPyConnection, target: Path) -> dict[str, int]:
    """Write the shared copy to ``target`` atomically (aside, fsynced, renamed; 0600); rows per table."""
    import duckdb

    frames = shared_frames(con)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    for stale in target.parent.glob(f".{target.name}.*.partial*"):  # this one's, or a killed process's
        stale.unlink(missing_ok=True)
    try:
        out = duckdb.connect(str(partial))
        try:
            out.execute("create schema marts")
            for name, frame in frames.items():
                out.register("_frame", frame)
                out.execute(f'create table marts."{name}" as select * from _frame')
                out.unregister("_frame")
            out.execute("checkpoint")
        finally:
            out.close()
        os.chmod(partial, 0o600)
        with partial.open("rb") as fh:
            os.fsync(fh.fileno())
        faults.point("stats.shared.before_rename")
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)
    return {f"marts.{name}": frame.height for name, frame in frames.items()}

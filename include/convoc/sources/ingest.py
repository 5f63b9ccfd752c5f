"""The register_ingest stage, one function per DAG task: extract → validate → load.

Every step works on one snapshot day. ``load_day`` writes the warehouse in one transaction and is
idempotent: a file already loaded (same name and SHA-256) is not loaded again, and the day's
quarantine and staging partitions are replaced, so a re-run or a backfill leaves the same warehouse.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from convoc import warehouse
from convoc.config import Settings
from convoc.errors import ConvocError, FileRefused, NoLandingFiles
from convoc.quality.validate import Previous, Verdict, run_label, validate_files
from convoc.sources.extract import Extracted, extract, find_landing_files
from convoc.sources.specs import REGISTER, SOURCES

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

DAG_ID = "register_ingest"


def work_dir(settings: Settings, day: date) -> Any:
    return settings.work / DAG_ID / f"{day:%Y%m%d}"


def extract_day(settings: Settings, day: date) -> list[Extracted]:
    """Read the day's landing files into Parquet (no warehouse access)."""
    files = find_landing_files(settings.landing, day)
    if not files:
        raise NoLandingFiles(
            f"no landing file for {day:%Y-%m-%d} in {settings.landing} (expected e.g. {REGISTER.file_name(day)})"
        )
    out = work_dir(settings, day)
    return [extract(f, out) for f in files]


def previous_snapshots(con: duckdb.DuckDBPyConnection, day: date) -> dict[str, Previous]:
    """Per source, the file last loaded for the latest day before ``day`` (what row counts are compared to)."""
    rows = con.execute(
        """
        select source,
            arg_max(file_name, (snapshot_date, loaded_at)),
            arg_max(rows, (snapshot_date, loaded_at))
        from raw.load_log
        where snapshot_date < $day
        group by source
        """,
        {"day": day},
    ).fetchall()
    return {source: Previous(name, int(n)) for source, name, n in rows}


def validate_day(
    settings: Settings,
    extracted: list[Extracted],
    day: date,
    *,
    accept_row_count_change: bool = False,
    run_id: str = "manual",
) -> list[Verdict]:
    """Validate the day's files; raise ``FileRefused`` (after writing Data Docs) if any file is refused."""
    previous: dict[str, Previous] = {}
    if settings.warehouse.exists():
        with warehouse.connect(settings.warehouse) as con:
            warehouse.ensure_schema(con)
            previous = previous_snapshots(con, day)
    docs = settings.quality_docs / f"{day:%Y%m%d}" / run_label(run_id)
    verdicts = validate_files(
        extracted,
        day=day,
        work_dir=work_dir(settings, day),
        previous=previous,
        max_row_change=settings.max_row_change,
        accept_row_count_change=accept_row_count_change,
        docs_dir=docs,
    )
    refusals = [reason for v in verdicts for reason in v.refusals]
    if refusals:
        raise FileRefused([*refusals, f"Data Docs: {docs / 'index.html'}"])
    return verdicts


@dataclass(frozen=True)
class Loaded:
    source: str
    file_name: str
    rows: int
    rejected_rows: int
    staged_rows: int
    already_loaded: bool

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _load_raw(con: duckdb.DuckDBPyConnection, ex: Extracted) -> bool:
    """Load the file into raw.<source> unless this exact content is there already; True if loaded."""
    seen = con.execute(
        "select count(*) from raw.load_log where file_name = $f and sha256 = $s",
        {"f": ex.file_name, "s": ex.sha256},
    ).fetchall()[0]
    if seen and seen[0]:
        log.info("%s (sha256 %s…) already loaded: raw left as it is", ex.file_name, ex.sha256[:12])
        return False
    table = ex.spec.raw_table
    con.execute(f"delete from {table} where _file = $f", {"f": ex.file_name})
    cols = ", ".join(f'"{c}"' for c in ex.columns)
    con.execute(
        f"insert into {table} (_file, _line, {cols}) select $f, _line, {cols} from read_parquet($p)",
        {"f": ex.file_name, "p": str(ex.parquet)},
    )
    return True


def _quarantine(con: duckdb.DuckDBPyConnection, ex: Extracted, verdict: Verdict) -> None:
    table = ex.spec.rejects_table
    con.execute(f"delete from {table} where source_file = $f", {"f": ex.file_name})
    con.execute(
        f"insert into {table} select $d, source_file, line_number, column_name, rule, value_masked "
        "from read_parquet($p)",
        {"d": ex.day, "p": str(verdict.rejects)},
    )
    if ex.spec.reference_check:
        # Rows must name something the warehouse knows (a resident on that day, an issued code).
        con.execute(
            f"create or replace temp table _raw_rows as select * from {ex.spec.raw_table} "
            f"where _file = $f and _line not in (select line_number from {table} where source_file = $f)",
            {"f": ex.file_name},
        )
        unknown = warehouse.select(f"intermediate/{ex.spec.reference_check}")
        con.execute(
            f"insert into {table} select snapshot_date, source_file, line_number, column_name, rule, "
            "regexp_replace(value, '[0-9A-Z]', '9', 'g') from (" + unknown + ")",
            {"snapshot_date": ex.day},
        )


def _stage(con: duckdb.DuckDBPyConnection, ex: Extracted) -> int:
    params = {"file_name": ex.file_name, "snapshot_date": ex.day}
    if ex.spec is REGISTER:
        con.execute("delete from staging.register where snapshot_date = $d", {"d": ex.day})
        sql = warehouse.select("staging/stg_register__residents.sql")
        warehouse.execute(con, "insert into staging.register " + sql, params)
        table = "staging.register"
    else:
        if ex.spec.staging is None:
            raise ConvocError(f"source {ex.spec.name!r} declares no staging table")
        table, model = ex.spec.staging
        con.execute(f"delete from {table} where source_file = $f", {"f": ex.file_name})
        warehouse.execute(con, f"insert into {table} " + warehouse.select(f"staging/{model}"), params)
    staged = con.execute(
        f"select count(*) from {table} where snapshot_date = $d and source_file = $f",
        {"d": ex.day, "f": ex.file_name},
    ).fetchall()[0]
    return int(staged[0]) if staged else 0


def load_day(settings: Settings, extracted: list[Extracted], verdicts: list[Verdict], day: date) -> list[Loaded]:
    """Write raw, quarantine, staging and core for the day, in one transaction."""
    by_file = {v.file_name: v for v in verdicts}
    # In SOURCES order: the register before the lists checked against its residents, confirmations
    # before the returns checked against the pieces they confirm as mailed.
    ordered = sorted(extracted, key=lambda e: SOURCES.index(e.spec))
    loaded = []
    with warehouse.connect(settings.warehouse) as con:
        warehouse.ensure_schema(con)
        with warehouse.transaction(con):
            for ex in ordered:
                verdict = by_file[ex.file_name]
                fresh = _load_raw(con, ex)
                _quarantine(con, ex, verdict)
                staged = _stage(con, ex)
                rejected = ex.rows - staged
                if fresh:
                    con.execute(
                        "insert into raw.load_log values ($f, $src, $d, $sha, $rows, $rej, $enc, now())",
                        {
                            "f": ex.file_name,
                            "src": ex.source,
                            "d": day,
                            "sha": ex.sha256,
                            "rows": ex.rows,
                            "rej": rejected,
                            "enc": ex.encoding,
                        },
                    )
                if ex.spec is REGISTER:
                    warehouse.run_script(con, "core/dim_resident__merge.sql", {"snapshot_date": day})
                elif ex.spec.core_load:
                    warehouse.run_script(con, f"core/{ex.spec.core_load}", {"file_name": ex.file_name})
                loaded.append(Loaded(ex.source, ex.file_name, ex.rows, rejected, staged, not fresh))
                log.info("%s: %d rows, %d staged, %d quarantined", ex.file_name, ex.rows, staged, rejected)
            warehouse.run_script(con, "core/fct_priority_group__load.sql", {"snapshot_date": day})
    return loaded

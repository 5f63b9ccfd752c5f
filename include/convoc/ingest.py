"""The register_ingest stage: extract → validate → load.

Every step works on one snapshot day. The DAG runs the first two as one task (``extract_and_validate_day``: the
extract in a child process while Great Expectations is imported), then ``load_day``, which writes the warehouse in
one transaction and is idempotent: a file already loaded (same name and SHA-256) is not loaded again, and the day's
quarantine and staging partitions are replaced, so a re-run or a backfill leaves the same warehouse.

What is loaded is exactly what was validated: ``raw.<source>`` receives the normalised values of the rows
no check refused (the Parquet extract, less its reject list), staging casts them and nothing else. The
day's working copies (extracts and reject lists: names and addresses) are private to the process's user
and removed once the day is loaded or refused (``CONVOC_KEEP_WORK=1`` keeps them for debugging).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convoc import faults, warehouse
from convoc.child import Child
from convoc.config import Settings
from convoc.errors import ConvocError, FileRefused, NoLandingFiles
from convoc.files import private_umask, write_private_csv_rows
from convoc.quality.validate import Previous, Verdict, run_label, validate_files
from convoc.sources.extract import Extracted, extract, find_landing_files
from convoc.sources.specs import REGISTER, SOURCES
from convoc.sources.tables import ensure_source_tables

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

DAG_ID = "register_ingest"


def work_dir(settings: Settings, day: date) -> Path:
    return settings.work / DAG_ID / f"{day:%Y%m%d}"


def extract_day(settings: Settings, day: date) -> list[Extracted]:
    """Read the day's landing files into Parquet (no warehouse access)."""
    private_umask()
    unknown = settings.ready_markers - {s.name for s in SOURCES} - {"all"}
    if unknown:
        raise ConvocError(f"CONVOC_READY_MARKERS names no source: {', '.join(sorted(unknown))}")
    files = find_landing_files(settings.landing, day)
    if not files:
        raise NoLandingFiles(
            f"no landing file for {day:%Y-%m-%d} in {settings.landing} (expected e.g. {REGISTER.file_name(day)})"
        )
    out = work_dir(settings, day)
    extracted = []
    for f in files:
        extracted.append(
            extract(
                f,
                out,
                max_malformed_share=settings.max_malformed_share,
                require_marker=settings.requires_marker(f.source),
            )
        )
        faults.point("ingest.extract.after_first_file")
    return extracted


def remove_work(settings: Settings, day: date) -> None:
    """Remove the day's working copies (personal data), unless ``CONVOC_KEEP_WORK`` keeps them."""
    if not settings.keep_work:
        shutil.rmtree(work_dir(settings, day), ignore_errors=True)


def previous_snapshots(con: duckdb.DuckDBPyConnection, day: date) -> dict[str, Previous]:
    """Per source, the file last loaded for the latest day before ``day`` (what row counts are compared to)."""
    rows = warehouse.execute(con, warehouse.select("intermediate/int_load_log__previous.sql"), {"day": day}).fetchall()
    return {source: Previous(name, int(n)) for source, name, n in rows}


def previous_day(settings: Settings, day: date) -> dict[str, Previous]:
    """``previous_snapshots`` from the warehouse, if there is one yet."""
    if not settings.warehouse.exists():
        return {}
    with warehouse.connect(settings.warehouse) as con:
        warehouse.ensure_schema(con)
        ensure_source_tables(con)
        return previous_snapshots(con, day)


def validate_day(
    settings: Settings,
    extracted: list[Extracted],
    day: date,
    *,
    accept_row_count_change: bool = False,
    run_id: str = "manual",
    previous: dict[str, Previous] | None = None,
) -> list[Verdict]:
    """Validate the day's files; raise ``FileRefused`` (after writing Data Docs) if any file is refused. ``previous``:
    ``previous_day`` if already looked up."""
    private_umask()
    if previous is None:
        previous = previous_day(settings, day)
    docs = settings.quality_docs / f"{day:%Y%m%d}" / run_label(run_id)
    verdicts = validate_files(
        extracted,
        day=day,
        work_dir=work_dir(settings, day),
        previous=previous,
        max_row_change=settings.max_row_change,
        accept_row_count_change=accept_row_count_change,
        docs_dir=docs,
        chunk_rows=settings.ingest_chunk_rows,
    )
    faults.point("ingest.validate.after_docs")
    refusals = [reason for v in verdicts for reason in v.refusals]
    if refusals:
        remove_work(settings, day)
        raise FileRefused([*refusals, f"Data Docs: {docs / 'index.html'}"])
    return verdicts


def extract_and_validate_day(
    settings: Settings,
    day: date,
    *,
    accept_row_count_change: bool = False,
    run_id: str = "manual",
) -> tuple[list[Extracted], list[Verdict]]:
    """``extract_day`` then ``validate_day``, overlapped: the files are extracted in a child process
    (``convoc.child``) while this one imports Great Expectations and looks the previous snapshots up — about 2 s of
    one core that the extract, on the other core, no longer waits for (in one process, both mostly Python, they
    could only take turns). The extract's errors are raised here as they were raised there; raises ``FileRefused``
    like ``validate_day``."""
    from convoc.quality.validate import prepare

    with Child(extract_day, settings, day) as extracting:
        prepare()  # Great Expectations and the rest of what the validation imports
        previous = previous_day(settings, day)
        extracted: list[Extracted] = extracting.result()
    verdicts = validate_day(
        settings, extracted, day, accept_row_count_change=accept_row_count_change, run_id=run_id, previous=previous
    )
    return extracted, verdicts


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


def _load_raw(con: duckdb.DuckDBPyConnection, ex: Extracted, verdict: Verdict) -> bool:
    """Load the file's accepted rows into raw.<source> unless this exact content is there already; True if
    loaded. Rows any check refused are not stored (their masked values are in the quarantine)."""
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
        f"insert into {table} (_file, _line, {cols}) select $f, _line, {cols} from read_parquet($p) "
        "where _line not in (select line_number from read_parquet($r))",
        {"f": ex.file_name, "p": str(ex.parquet), "r": str(verdict.rejects)},
    )
    return True


def _quarantine(con: duckdb.DuckDBPyConnection, ex: Extracted, verdict: Verdict) -> None:
    table = ex.spec.rejects_table
    con.execute(f"delete from {table} where source_file = $f", {"f": ex.file_name})
    con.execute(
        f"insert into {table} select $d, source_file, line_number, column_name, rule, value_masked, detail "
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
            "regexp_replace(value, '[0-9A-Z]', '9', 'g'), null from (" + unknown + ")",
            {"snapshot_date": ex.day},
        )


def _stage(con: duckdb.DuckDBPyConnection, ex: Extracted) -> int:
    if ex.spec is REGISTER:
        # staging.register is a view of raw.register (convoc.sources.tables): nothing to write, and the file's staged
        # rows are its raw rows (the view shows them under the day once the load log names the file).
        found = con.execute("select count(*) from raw.register where _file = $f", {"f": ex.file_name}).fetchall()[0]
        return int(found[0]) if found else 0
    if ex.spec.staging is None:
        raise ConvocError(f"source {ex.spec.name!r} declares no staging table")
    table, model = ex.spec.staging
    params = {"file_name": ex.file_name, "snapshot_date": ex.day}
    con.execute(f"delete from {table} where source_file = $f", {"f": ex.file_name})
    warehouse.execute(con, f"insert into {table} " + warehouse.select(f"staging/{model}"), params)
    staged = con.execute(
        f"select count(*) from {table} where snapshot_date = $d and source_file = $f",
        {"d": ex.day, "f": ex.file_name},
    ).fetchall()[0]
    return int(staged[0]) if staged else 0


def _already_loaded(con: duckdb.DuckDBPyConnection, extracted: list[Extracted]) -> bool:
    """Whether every file of the day is in ``raw.load_log`` with this content (the day's load committed)."""
    for ex in extracted:
        seen = con.execute(
            "select count(*) from raw.load_log where file_name = $f and sha256 = $s",
            {"f": ex.file_name, "s": ex.sha256},
        ).fetchall()[0][0]
        if not seen:
            return False
    return True


def load_day(settings: Settings, extracted: list[Extracted], verdicts: list[Verdict], day: date) -> list[Loaded]:
    """Write raw, quarantine, staging and core for the day, in one transaction; then the register team's list
    of the day's register rejects, and remove the working copies."""
    import duckdb

    private_umask()
    by_file = {v.file_name: v for v in verdicts}
    # In SOURCES order: the register before the lists checked against its residents, confirmations
    # before the returns checked against the pieces they confirm as mailed.
    ordered = sorted(extracted, key=lambda e: SOURCES.index(e.spec))
    loaded = []
    with warehouse.connect(settings.warehouse) as con:
        warehouse.ensure_schema(con)
        ensure_source_tables(con)
        if any(not ex.parquet.exists() for ex in ordered):
            # A retry after the working copies were removed: only fine if the day's load had committed.
            if _already_loaded(con, ordered):
                log.info("the day's files are loaded already (working copies removed): nothing to do")
                return [Loaded(ex.source, ex.file_name, ex.rows, 0, 0, True) for ex in ordered]
            raise ConvocError(
                f"the working copies of {day:%Y-%m-%d} are gone (removed or kept elsewhere): run the whole "
                "register_ingest run again, from extract_and_validate_files"
            )
        try:
            with warehouse.transaction(con):
                for ex in ordered:
                    loaded.append(_load_file(con, ex, by_file[ex.file_name], day))
                warehouse.run_script(con, "core/fct_priority_group__load.sql", {"snapshot_date": day})
            checks = _register_checks(con, settings, ordered, day)
        except duckdb.Error as exc:
            # DuckDB's messages quote the values they choke on: name the step, never the value.
            raise ConvocError(
                f"loading {day:%Y-%m-%d} failed in the warehouse ({type(exc).__name__}); nothing was published. "
                "The values concerned are withheld from this message: query the quarantine and raw tables"
            ) from None
    faults.point("ingest.load.after_commit")
    if checks is not None:
        log.info("register team's list of the day's rejected rows: %s", checks)
    remove_work(settings, day)
    return loaded


def _load_file(con: duckdb.DuckDBPyConnection, ex: Extracted, verdict: Verdict, day: date) -> Loaded:
    fresh = _load_raw(con, ex, verdict)
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
    log.info("%s: %d rows, %d staged, %d quarantined", ex.file_name, ex.rows, staged, rejected)
    return Loaded(ex.source, ex.file_name, ex.rows, rejected, staged, not fresh)


def register_checks_path(settings: Settings, day: date) -> Path:
    return settings.reports / "register_checks" / f"register_checks_{day:%Y%m%d}.csv"


def _register_checks(
    con: duckdb.DuckDBPyConnection, settings: Settings, extracted: list[Extracted], day: date
) -> Path | None:
    """The register team's list of the day's rejected register rows (owner-only CSV, like the address checks):
    line, the matricule where it is a valid one (to find the person), column, rule, masked value and what was
    wrong (the characters refused, the length)."""
    register = next((ex for ex in extracted if ex.spec is REGISTER), None)
    if register is None:
        return None
    found = warehouse.execute(
        con,
        warehouse.select("intermediate/int_register__checks.sql"),
        {"file_name": register.file_name, "extract": str(register.parquet)},
    )
    path = register_checks_path(settings, day)
    write_private_csv_rows(path, [column[0] for column in found.description], found.fetchall())
    return path

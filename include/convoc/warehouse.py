"""The DuckDB warehouse: one connection helper and the runner for the SQL files under ``sql/``.

The warehouse takes one writer process at a time; in Airflow every task that opens it runs in the
``warehouse`` pool (one slot), on the queue of the one machine holding the file on local disk, and its
transactions are fenced by the task's attempt (``writer``). Files are created owner-only (0700 folder, 0600
database).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convoc import reference
from convoc.errors import ConvocError

if TYPE_CHECKING:
    import duckdb
    import polars as pl

MEMORY_LIMIT = os.environ.get("CONVOC_DUCKDB_MEMORY", "512MB")
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_STATEMENT_END = re.compile(r";\s*(?:--[^\n]*)?\n")


def sql_dir() -> Path:
    """``sql/`` of the checkout (override with CONVOC_SQL_DIR, e.g. in an image that copies it elsewhere)."""
    env = os.environ.get("CONVOC_SQL_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "sql"


def read_sql(relpath: str) -> str:
    path = sql_dir() / relpath
    if not path.is_file():
        raise FileNotFoundError(f"SQL file {relpath} not found under {sql_dir()}")
    return path.read_text(encoding="utf-8")


def statements(script: str) -> list[str]:
    """Split a script on ``;`` at line ends; comment-only pieces are dropped."""
    parts = _STATEMENT_END.split(script + "\n")
    out = []
    for part in parts:
        code = "\n".join(line for line in part.splitlines() if not line.strip().startswith("--")).strip()
        if code:
            out.append(part.strip())
    return out


def _bind(sql: str, params: dict[str, Any] | None) -> dict[str, Any]:
    used = set(_PARAM.findall(sql))
    bound = {k: v for k, v in (params or {}).items() if k in used}
    missing = used - bound.keys()
    if missing:
        raise ValueError(f"SQL parameter(s) {', '.join(sorted(missing))} not given")
    return bound


def execute(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> Any:
    """Execute one statement, binding only the ``$name`` parameters it uses."""
    bound = _bind(sql, params)
    return con.execute(sql, bound) if bound else con.execute(sql)


def query(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
    """A ``select`` as a polars frame (parameters bound as in ``execute``)."""
    frame: pl.DataFrame = con.sql(sql, params=_bind(sql, params)).pl()
    return frame


def run_script(con: duckdb.DuckDBPyConnection, relpath: str, params: dict[str, Any] | None = None) -> None:
    """Run every statement of ``sql/<relpath>`` in order (inside the caller's transaction, if any)."""
    for statement in statements(read_sql(relpath)):
        execute(con, statement, params)


class StaleWriter(ConvocError):
    """A late write by an attempt of a task that a newer attempt has overtaken (a zombie): refused."""


_WRITER: ContextVar[tuple[str, int] | None] = ContextVar("convoc_writer", default=None)


@contextmanager
def writer(task_key: str, attempt: int) -> Iterator[None]:
    """Fence every transaction opened inside: the writer is attempt ``attempt`` (1, 2…) of the task
    ``task_key`` (one task instance: DAG, task, map index, run). A transaction of an attempt older than one that
    has already written is refused (``StaleWriter``) and rolled back: a task declared lost by the scheduler and
    retried, whose first attempt was in fact still running, cannot land its late write over the retry's."""
    token = _WRITER.set((task_key, attempt))
    try:
        yield
    finally:
        _WRITER.reset(token)


def _fence(con: duckdb.DuckDBPyConnection) -> None:
    current = _WRITER.get()
    if current is None or not current[0]:
        return
    key, attempt = current
    run_script(con, "ddl/004_audit.sql")
    row = con.execute("select attempt from audit.writer_fence where task_key = $k", {"k": key}).fetchone()
    if row is not None and int(row[0]) > attempt:
        raise StaleWriter(
            f"{key}: attempt {attempt} is stale, attempt {row[0]} has written since; this late write is refused"
        )
    con.execute("delete from audit.writer_fence where task_key = $k", {"k": key})
    con.execute("insert into audit.writer_fence values ($k, $a, now())", {"k": key, "a": attempt})


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All or nothing: a crash half-way leaves the warehouse as it was. Inside ``writer``, fenced: a stale
    attempt's transaction is refused before it changes anything."""
    con.execute("begin transaction")
    try:
        _fence(con)
        yield
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def select(relpath: str) -> str:
    """The text of a model file (one ``select``), to be wrapped by the caller (insert into …)."""
    return read_sql(relpath).strip().rstrip(";")


@contextmanager
def connect(
    path: Path, *, read_only: bool = False, memory_limit: str | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse (or the published copy), DuckDB capped at ``memory_limit`` (default
    CONVOC_DUCKDB_MEMORY), with the macros of ``sql/macros/``."""
    import duckdb

    if read_only and not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run the register_ingest DAG (or make demo) first")
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    # Bounded memory: DuckDB spills to disk past the limit; nothing relies on insertion order.
    con = duckdb.connect(
        str(path),
        read_only=read_only,
        config={"memory_limit": memory_limit or MEMORY_LIMIT, "preserve_insertion_order": False},
    )
    con.execute("set enable_progress_bar = false")
    try:
        if not read_only:
            os.chmod(path, 0o600)
        create_macros(con)
        yield con
    finally:
        con.close()


def create_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create the SQL macros of ``sql/macros/`` (``age_in_years``, ``age_band``, ``age_bands``, ``household_key``,
    ``booking_code``) on ``con``. Temporary, so a read-only connection (the published copy, the report) gets them
    too; ``connect`` and ``ensure_schema`` call it, as does any function that may be handed a bare connection.
    Idempotent."""
    for path in sorted((sql_dir() / "macros").glob("*.sql")):
        run_script(con, f"macros/{path.name}")


# Columns that core.fct_invitation carried before each core table had one writer (now derived by the view
# core.dim_invitation_current from the facts).
_LEGACY_INVITATION_COLUMNS = ("status", "print_batch", "piece_id", "return_reason", "returned_on")


def _migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Bring a warehouse made by an earlier version to the current tables (a no-op on a current one)."""
    found = con.execute(
        "select column_name from duckdb_columns() where schema_name = 'core' and table_name = 'fct_invitation' "
        "and database_name = current_database()"
    ).fetchall()
    if {c for (c,) in found} & set(_LEGACY_INVITATION_COLUMNS):
        run_script(con, "ddl/migrate_fct_invitation__one_writer.sql")


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every schema, shared table and view (idempotent), the macros, and refresh the reference tables.
    The landing sources' raw and quarantine tables are the ingest stage's (``convoc.sources.tables``), the
    marts the statistics stage's (``convoc.stats.marts.ensure_marts``)."""
    run_script(con, "ddl/001_schemas.sql")
    run_script(con, "ddl/002_staging_core.sql")
    run_script(con, "ddl/003_print.sql")
    run_script(con, "ddl/004_audit.sql")
    run_script(con, "ddl/005_email.sql")
    _migrate(con)
    run_script(con, "core/dim_invitation_current.sql")
    create_macros(con)
    run_script(
        con,
        "core/ref_geography__load.sql",
        {
            "communes_csv": str(reference.path(reference.COMMUNES)),
            "postcodes_csv": str(reference.path(reference.POSTCODES)),
        },
    )

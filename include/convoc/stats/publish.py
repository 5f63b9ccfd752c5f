"""The read-only copy analysts query (``var/warehouse/published/convoc.duckdb``), published atomically.

The copy holds the ``marts`` schema only (no names, addresses, matricules or booking codes). It is written
aside (``.convoc.duckdb.<pid>.partial``), fsynced, then ``os.replace``-d over the previous copy and the
folder fsynced: an analyst's open connection keeps reading the copy it opened (the old file stays alive
until closed) and the next connection sees the new one. Analysts never open the warehouse itself, so their
queries never block the pipeline's single writer, nor are blocked by it. Files 0600, folder 0700.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from convoc import faults

if TYPE_CHECKING:
    import duckdb

SCHEMAS = ("marts",)


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(con: duckdb.DuckDBPyConnection, target: Path, schemas: tuple[str, ...] = SCHEMAS) -> dict[str, int]:
    """Copy every table of ``schemas`` from the warehouse ``con`` (read-only is enough) into ``target``,
    atomically; returns the rows copied per table (``schema.table``)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(target.parent, 0o700)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    for stale in target.parent.glob(f".{target.name}.*.partial*"):  # this one's, or a killed process's
        stale.unlink(missing_ok=True)
    tables = con.execute(
        "select schema_name, table_name from duckdb_tables() "
        "where database_name = current_database() and schema_name in (select unnest($schemas)) "
        "order by schema_name, table_name",
        {"schemas": list(schemas)},
    ).fetchall()
    copied: dict[str, int] = {}
    try:
        con.execute(f"attach {_quote(partial)} as _published (read_write)")
        try:
            for schema in schemas:
                con.execute(f'create schema if not exists _published."{schema}"')
            for schema, table in tables:
                name = f'"{schema}"."{table}"'
                con.execute(f"create table _published.{name} as select * from {name}")
                row = con.execute(f"select count(*) from _published.{name}").fetchone()
                copied[f"{schema}.{table}"] = int(row[0]) if row else 0
        finally:
            con.execute("detach _published")
        os.chmod(partial, 0o600)
        _fsync(partial)
        faults.point("stats.publish.before_rename")
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)  # the previous copy stays whole; nothing half-written is left
        raise
    _fsync(target.parent)
    return copied

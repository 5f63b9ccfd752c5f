"""The warehouse tables of the landing sources, made from their contracts by one SQL template.

``raw.<source>`` (the accepted rows, as validated) and ``quarantine.<source>_rejects`` (the rejected lines)
for every source of ``convoc.sources.specs``: ``sql/ddl/source_tables.sql`` rendered per source. Idempotent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from convoc import warehouse
from convoc.sources.specs import SOURCES, SourceSpec

if TYPE_CHECKING:
    import duckdb

TEMPLATE = "ddl/source_tables.sql"


def ddl(spec: SourceSpec) -> str:
    """The template filled in for ``spec``: its name and one text column per column of its contract."""
    columns = ",\n    ".join(f'"{c}" varchar' for c in spec.columns)
    return warehouse.read_sql(TEMPLATE).format(source=spec.name, columns=columns)


def ensure_source_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw and quarantine tables of every source that lacks them."""
    for spec in SOURCES:
        for statement in warehouse.statements(ddl(spec)):
            con.execute(statement)

"""The register team's address-check list: letters the post office brought back, with the address used.

One CSV per day, ``$CONVOC_HOME/reports/address_check/address_check_YYYYMMDD.csv``, listing the returns
loaded that day (``sql/intermediate/int_returns__address_check.sql``). It names people and addresses:
owner-only (0600 in a 0700 folder), for the register team, never for reports or marts. Re-running the
day rewrites the same file. The register team opens it in a spreadsheet: text cells that a spreadsheet would
take for a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) are written with a leading
``'`` (``convoc.files.write_private_csv``).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from convoc import warehouse
from convoc.files import private_dirs, write_private_csv

if TYPE_CHECKING:
    import duckdb


def write_address_checks(con: duckdb.DuckDBPyConnection, day: date, out_dir: Path) -> tuple[Path, int]:
    """Write the day's list (a header-only file when nothing came back); return its path and row count."""
    frame = warehouse.query(
        con, warehouse.select("intermediate/int_returns__address_check.sql"), {"snapshot_date": day}
    )
    private_dirs(out_dir)
    path = out_dir / f"address_check_{day:%Y%m%d}.csv"
    write_private_csv(path, frame)
    return path, frame.height

"""The register team's address-check list: letters the post office brought back, with the address used.

One CSV per day, ``$CONVOC_HOME/reports/address_check/address_check_YYYYMMDD.csv``, listing the returns
loaded that day (``sql/intermediate/int_returns__address_check.sql``). It names people and addresses:
owner-only (0600 in a 0700 folder), for the register team, never for reports or marts. Re-running the
day rewrites the same file.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from convoc import warehouse

if TYPE_CHECKING:
    import duckdb


def write_address_checks(con: duckdb.DuckDBPyConnection, day: date, out_dir: Path) -> tuple[Path, int]:
    """Write the day's list (a header-only file when nothing came back); return its path and row count."""
    frame = warehouse.query(
        con, warehouse.select("intermediate/int_returns__address_check.sql"), {"snapshot_date": day}
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(out_dir, 0o700)
    path = out_dir / f"address_check_{day:%Y%m%d}.csv"
    part = path.with_suffix(".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        frame.write_csv(fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(part, path)
    return path, frame.height

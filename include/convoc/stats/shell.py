"""A small read-only SQL shell on the published copy (``make sql``): the ``duckdb`` Python package ships no
command-line client.

    python -m convoc.stats.shell [DATABASE] [-c SQL]

Statements end with ``;`` (they may span lines); ``.tables`` lists the tables, ``.quit`` (or end of input)
leaves. The database is opened read-only: nothing an analyst types can change it. It is also sealed
(``SANDBOX``): no file outside it can be read, written or attached (not the live warehouse, not the landing
files), no extension installed or loaded, and the configuration is locked so that no statement can undo this.
The macros of ``sql/macros/`` (``age_in_years``, ``age_band``) are there as in the pipeline.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    import duckdb

SANDBOX = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "lock_configuration": True,
}
"""DuckDB settings of the analysts' connection: nothing outside the published file, locked."""

TABLES = "select schema_name || '.' || table_name as table_name, estimated_size as rows from duckdb_tables() order by 1"


def run(con: duckdb.DuckDBPyConnection, sql: str, out: TextIO) -> None:
    """Run one statement and print its result as a table (or the error, without a traceback)."""
    import duckdb

    try:
        relation = con.sql(sql)
    except duckdb.Error as exc:
        print(f"error: {exc}", file=out)
        return
    if relation is not None:
        print(str(relation), file=out, end="")


def repl(con: duckdb.DuckDBPyConnection, lines: TextIO, out: TextIO, *, prompt: bool) -> None:
    buffer: list[str] = []
    while True:
        if prompt:
            print("convoc> " if not buffer else "   ...> ", end="", file=out, flush=True)
        line = lines.readline()
        if not line:
            break
        stripped = line.strip()
        if not buffer and stripped in (".quit", ".exit", "\\q"):
            break
        if not buffer and stripped == ".tables":
            run(con, TABLES, out)
            continue
        buffer.append(line)
        if stripped.endswith(";"):
            run(con, "".join(buffer), out)
            buffer = []
    if "".join(buffer).strip():
        run(con, "".join(buffer), out)


def open_sealed(path: Path) -> duckdb.DuckDBPyConnection:
    """``path`` read-only and sealed (``SANDBOX``), with the pipeline's macros."""
    import duckdb

    from convoc.warehouse import MEMORY_LIMIT, create_macros

    con = duckdb.connect(str(path), read_only=True, config={**SANDBOX, "memory_limit": MEMORY_LIMIT})
    create_macros(con)
    return con


def main(argv: list[str] | None = None) -> int:
    from convoc.config import Settings

    parser = argparse.ArgumentParser(prog="python -m convoc.stats.shell", description=__doc__.splitlines()[0])
    parser.add_argument("database", nargs="?", type=Path, help="default: the published copy")
    parser.add_argument("-c", "--command", help="run these statements and leave")
    args = parser.parse_args(argv)
    path: Path = args.database or Settings.from_env().published
    if not path.is_file():
        print(f"no published warehouse at {path}: run the dispatch_stats DAG (or make demo) first", file=sys.stderr)
        return 1
    con = open_sealed(path)
    try:
        if args.command is not None:
            import io

            repl(con, io.StringIO(args.command), sys.stdout, prompt=False)
        else:
            interactive = sys.stdin.isatty()
            if interactive:
                print(f"{path} (read-only, sealed). Statements end with ';'. .tables lists the tables, .quit leaves.")
            repl(con, sys.stdin, sys.stdout, prompt=interactive)
    finally:
        con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

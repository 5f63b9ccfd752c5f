"""Render the summary reports due for a day from the warehouse's marts.

    .venv/bin/python -m convoc.report 2021-03-14 [--warehouse PATH] [--out DIR]

Opens the warehouse read-only; writes under ``$CONVOC_HOME/reports`` by default and prints each path.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from convoc.config import Settings
from convoc.report.render import render_reports
from convoc.warehouse import connect


def main(argv: list[str] | None = None) -> int:
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(prog="python -m convoc.report", description=__doc__.splitlines()[0])
    parser.add_argument("as_of", type=date.fromisoformat, help="the report's last day (YYYY-MM-DD)")
    parser.add_argument("--warehouse", type=Path, default=settings.warehouse)
    parser.add_argument("--out", type=Path, default=settings.reports)
    args = parser.parse_args(argv)
    with connect(args.warehouse, read_only=True) as con:
        for path in render_reports(con, args.as_of, args.out):
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

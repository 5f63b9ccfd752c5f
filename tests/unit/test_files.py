"""Private files: CSV for people to open in a spreadsheet, with formula injection neutralised."""

from __future__ import annotations

import csv
import stat
from datetime import date
from pathlib import Path

import polars as pl

from convoc.files import write_private_csv, write_private_csv_rows

CELLS = [
    '=HYPERLINK("http://x")',
    "+41",
    "-1",
    "@SUM(A1)",
    "\tx",
    "\rx",
    "Gonçalves",
    None,
    "a=b, -c",
    "=cmd|' /C calc'!A0",
    "'=already quoted",
    "",
]
NEUTRALISED = {0, 1, 2, 3, 4, 5, 9}


def read_back(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_formula_cells_get_a_leading_quote_and_the_rest_is_untouched(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "name": CELLS,
            "number": [-5, 3, -1, 0, 7, 8, 9, None, 1, 2, 3, 4],
            "day": [date(2021, 2, 1)] * len(CELLS),
            "code": pl.Series(["-x", "y"] * 6, dtype=pl.Categorical),
        }
    )
    path = tmp_path / "people" / "list.csv"
    write_private_csv(path, frame)

    header, *rows = read_back(path)
    assert header == ["name", "number", "day", "code"]
    assert len(rows) == len(CELLS)
    for i, (row, original) in enumerate(zip(rows, CELLS, strict=True)):
        if i in NEUTRALISED:
            assert original is not None and row[0] == "'" + original, (i, row[0])
        else:
            assert row[0] == (original or ""), (i, row[0])
    # Non-text columns are written as they are: a negative number stays a number.
    assert [row[1] for row in rows] == ["-5", "3", "-1", "0", "7", "8", "9", "", "1", "2", "3", "4"]
    assert {row[2] for row in rows} == {"2021-02-01"}
    # Categorical text is text: neutralised too.
    assert [row[3] for row in rows] == ["'-x", "y"] * 6
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert list(path.parent.iterdir()) == [path]  # no .part left behind


def test_rows_give_the_same_file_as_the_frame_byte_for_byte(tmp_path: Path) -> None:
    # The register team's list is written from a query's rows (no polars in the load task): the same bytes as
    # the frame's writer, formula cells, nulls, quoting, commas and line breaks in cells, numbers and dates.
    frame = pl.DataFrame(
        {
            "line": list(range(len(CELLS) + 3)),
            "name": [*CELLS, 'say "hi"', "two\nlines", "a,b"],
            "number": [-5, None, *range(len(CELLS) + 1)],
            "day": [date(2021, 2, 1), None, *[date(2020, 12, 31)] * (len(CELLS) + 1)],
            "flag": [True, False, None, *[True] * len(CELLS)],
        }
    )
    write_private_csv(tmp_path / "frame.csv", frame)
    write_private_csv_rows(tmp_path / "rows.csv", frame.columns, frame.rows())
    assert (tmp_path / "rows.csv").read_bytes() == (tmp_path / "frame.csv").read_bytes()
    assert stat.S_IMODE((tmp_path / "rows.csv").stat().st_mode) == 0o600
    rows = read_back(tmp_path / "rows.csv")[1:]
    assert [rows[i][1] for i in sorted(NEUTRALISED)] == ["'" + CELLS[i] for i in sorted(NEUTRALISED)]  # type: ignore[operator]
    write_private_csv_rows(tmp_path / "empty.csv", ["line", "name"], [])
    assert (tmp_path / "empty.csv").read_text() == "line,name\n"


def test_replaces_an_existing_file_and_writes_a_header_only_file_when_empty(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("old\n")
    path.chmod(0o644)
    write_private_csv(path, pl.DataFrame({"name": []}, schema={"name": pl.String}))
    assert path.read_text() == "name\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_frame_is_not_changed(tmp_path: Path) -> None:
    frame = pl.DataFrame({"name": ["=1+1"]})
    write_private_csv(tmp_path / "x.csv", frame)
    assert frame["name"].to_list() == ["=1+1"]

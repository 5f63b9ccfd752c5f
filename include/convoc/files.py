"""Private, crash-safe files: what every stage that writes names, addresses or print jobs relies on.

Folders are owner-only (0700) and files owner-only (0600) whatever the umask; a file replaced in place is
written aside, fsynced and renamed, and its folder fsynced, so a crash leaves the old or the new content,
never a mix. CSV files for people to open in a spreadsheet are written with formula injection neutralised.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from convoc.errors import DiskFull

if TYPE_CHECKING:
    import polars as pl

_FORMULA_START = r"^([=+\-@\t\r])"
"""A cell a spreadsheet may read as a formula: it starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return."""


def private_dirs(*paths: Path) -> None:
    """Create each folder (and missing parents), owner-only."""
    for path in paths:
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (names created, renamed or removed) to stable storage."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (0600; written aside as ``.<name>.part``, fsynced, renamed,
    folder fsynced); a missing folder is created owner-only. A full disk raises ``DiskFull`` (the part file
    removed, ``path`` as it was)."""
    if not path.parent.is_dir():
        private_dirs(path.parent)
    part = path.with_name(f".{path.name}.part")
    try:
        with os.fdopen(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(part, path)
    except BaseException as exc:
        part.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise disk_full(path, len(data)) from None
        raise
    fsync_dir(path.parent)


def disk_full(path: Path, size: int) -> DiskFull:
    """The error for a file that did not fit: where, what, and what to do."""
    return DiskFull(
        f"{path.parent}: no space left on the device writing {path.name} ({size:,} bytes); nothing half-written "
        "was kept or released. Free space there: the task's retry completes the step"
    )


def write_private_parquet(path: Path, frame: pl.DataFrame) -> None:
    """``frame`` as a Parquet file at ``path``, through :func:`write_private` (0600, atomic)."""
    import io

    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    write_private(path, buffer.getvalue())


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's bytes, hex (read in chunks: print files are hundreds of MB)."""
    import hashlib

    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def write_private_csv(path: Path, frame: pl.DataFrame) -> None:
    """Write ``frame`` (a table of people's data for a person to open in a spreadsheet) as CSV with
    :func:`write_private` (0600, atomic): a header line, then one line per row, ``,``-separated,
    ``"``-quoted where needed, null as an empty field.

    Formula injection is neutralised by the OWASP rule: every text cell (String, Categorical or Enum column)
    whose first character is ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading single
    quote, so that ``=HYPERLINK(...)`` is written ``'=HYPERLINK(...)`` and a spreadsheet shows it as text
    instead of running it. Other cells are written as they are; so are numbers, dates and every other
    non-text column (``-5`` stays ``-5``). A reader of the file itself sees the quote: it is part of the cell.
    """
    import polars as pl

    text = [
        name
        for name, dtype in frame.schema.items()
        if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum)
    ]
    safe = frame.with_columns(pl.col(text).cast(pl.String).str.replace(_FORMULA_START, "'${1}"))
    write_private(path, safe.write_csv().encode())


def write_private_csv_rows(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """``write_private_csv`` for rows of Python values (a query's rows, where loading polars for a short list
    would cost more than writing it): the same file, byte for byte, for text, whole numbers, booleans, dates and
    nulls — formula cells neutralised by the same rule, null an empty field, an empty text ``""``, a cell with a
    comma, a quote or a line break (``\\r`` too) quoted, ``\\n`` line ends."""
    formula = re.compile(_FORMULA_START)

    def cell(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if not isinstance(value, str):
            return str(value)
        value = formula.sub("'\\1", value, count=1)
        if value == "" or any(c in value for c in ',"\r\n'):
            return '"' + value.replace('"', '""') + '"'
        return value

    lines = [",".join(cell(v) for v in header), *(",".join(cell(v) for v in row) for row in rows)]
    write_private(path, ("\n".join(lines) + "\n").encode())


def private_umask() -> None:
    """Make every file this process creates from now on owner-only (umask 077): working copies, reject
    lists and Data Docs written by libraries that take no mode argument."""
    os.umask(0o077)

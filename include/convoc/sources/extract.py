"""Extract: landing CSV files → typed-as-text polars frames, written aside as Parquet.

Every value is kept as text exactly as delivered (decoded, surrounding blanks trimmed, empty → null);
casting happens in ``sql/staging``. Each row carries ``_line``, its physical line number in the file
(header = line 1), so a quarantined row can be found in the original file. Fields with embedded line
breaks are not part of any source format and would shift those numbers.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convoc.errors import MalformedFile
from convoc.sources.specs import SOURCES, SourceSpec, source_named

if TYPE_CHECKING:
    import polars as pl

log = logging.getLogger(__name__)

_DELIMITERS = (",", ";", "\t", "|")
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class LandingFile:
    source: str
    path: Path
    day: date


@dataclass(frozen=True)
class Extracted:
    """One landing file read and parked as Parquet; what XCom carries between ingest tasks."""

    source: str
    file_name: str
    day: date
    sha256: str
    rows: int
    encoding: str
    delimiter: str
    columns: tuple[str, ...]
    parquet: Path

    @property
    def spec(self) -> SourceSpec:
        return source_named(self.source)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(day=self.day.isoformat(), parquet=str(self.parquet), columns=list(self.columns))
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Extracted:
        return cls(
            source=d["source"],
            file_name=d["file_name"],
            day=date.fromisoformat(d["day"]),
            sha256=d["sha256"],
            rows=int(d["rows"]),
            encoding=d["encoding"],
            delimiter=d["delimiter"],
            columns=tuple(d["columns"]),
            parquet=Path(d["parquet"]),
        )


def find_landing_files(landing: Path, day: date) -> list[LandingFile]:
    """The files of ``day`` in ``landing``, register first; files of other days or kinds are left alone."""
    found: list[LandingFile] = []
    names = sorted(p.name for p in landing.iterdir() if p.is_file()) if landing.is_dir() else []
    for spec in SOURCES:
        for name in names:
            m = spec.file_pattern.match(name)
            if m and datetime.strptime(m.group(1), "%Y%m%d").date() == day:
                found.append(LandingFile(spec.name, landing / name, day))
    return found


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def decode(data: bytes) -> tuple[bytes, str]:
    """Return the content as UTF-8 bytes (BOM removed) and the encoding it was delivered in.

    UTF-8 is tried first; what is not UTF-8 is read as Windows-1252, the superset of Latin-1 that
    files called "latin-1" nearly always are, and as Latin-1 where even that fails.
    """
    if data.startswith(_BOM):
        return data[len(_BOM) :], "utf-8-sig"
    try:
        data.decode("utf-8")
        return data, "utf-8"
    except UnicodeDecodeError:
        pass
    for encoding in ("cp1252", "latin-1"):
        try:
            return data.decode(encoding).encode("utf-8"), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def sniff_delimiter(first_line: bytes) -> str:
    counts = {d: first_line.count(d.encode()) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(path: Path) -> tuple[pl.DataFrame, str, str]:
    """Read one landing file as text columns plus ``_line``; returns (frame, encoding, delimiter)."""
    import polars as pl

    data, encoding = decode(path.read_bytes())
    first_line = data.split(b"\n", 1)[0]
    delimiter = sniff_delimiter(first_line)
    if not data.strip():
        return pl.DataFrame({"_line": pl.Series([], dtype=pl.Int64)}), encoding, delimiter
    try:
        frame = pl.read_csv(
            data,
            separator=delimiter,
            infer_schema=False,
            empty_string_is_null=False,
            truncate_ragged_lines=False,
        )
    except pl.exceptions.PolarsError as exc:
        raise MalformedFile(f"{path.name}: not a readable CSV file: {_first_bad_line(data, delimiter)}") from exc
    frame = frame.rename({c: c.strip().lower() for c in frame.columns})
    stripped = [pl.col(c).str.strip_chars(" \t") for c in frame.columns]
    frame = frame.with_columns(pl.when(s == "").then(None).otherwise(s).name.keep() for s in stripped).with_row_index(
        "_line", offset=2
    )
    return frame.with_columns(pl.col("_line").cast(pl.Int64)), encoding, delimiter


def _first_bad_line(data: bytes, delimiter: str) -> str:
    """Name the first line that breaks the CSV shape (polars' own message has no line number)."""
    import csv
    import io

    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""), delimiter=delimiter, strict=True)
    try:
        width = len(next(reader))
        for record in reader:
            if len(record) != width:
                return f"line {reader.line_num} has {len(record)} fields, the header has {width}"
    except csv.Error as exc:
        return f"line {reader.line_num}: {exc}"
    return "unbalanced quotes"


def extract(landing_file: LandingFile, work_dir: Path) -> Extracted:
    """Read ``landing_file`` and park it as ``work_dir/<source>.parquet`` (columns: the spec's, as found)."""
    spec = source_named(landing_file.source)
    frame, encoding, delimiter = read_csv(landing_file.path)
    extra = [c for c in frame.columns if c != "_line" and c not in spec.columns]
    if extra:
        log.warning("%s: ignoring unexpected columns %s", landing_file.path.name, ", ".join(extra))
    kept = ["_line", *[c for c in spec.columns if c in frame.columns]]
    frame = frame.select(kept)
    work_dir.mkdir(parents=True, exist_ok=True)
    parquet = work_dir / f"{spec.name}.parquet"
    frame.write_parquet(parquet)
    return Extracted(
        source=spec.name,
        file_name=landing_file.path.name,
        day=landing_file.day,
        sha256=sha256_file(landing_file.path),
        rows=frame.height,
        encoding=encoding,
        delimiter=delimiter,
        columns=tuple(c for c in kept if c != "_line"),
        parquet=parquet,
    )

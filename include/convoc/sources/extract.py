"""Extract: landing CSV files → normalised text columns, parked as Parquet with the lines they came from.

A landing file is read once, front to back, in pieces of ``BLOCK_BYTES`` cut between records (so memory
holds two pieces whatever the file's size, and the Parquet gets one row group per piece); what is hashed
(``raw.load_log``) is exactly what is parsed, and a file that changes while it is read is refused
(``FileChanging``: the task fails and Airflow retries it). A
source may require a readiness marker ``NAME_YYYYMMDD.csv.done`` (setting ``CONVOC_READY_MARKERS``); a
marker holding a SHA-256 must match the file.

Decoding: UTF-8 (a BOM is removed) when the whole file is. A file that is not valid UTF-8 is read as
Windows-1252 (the superset of Latin-1 that "latin-1" files nearly always are; Latin-1 where even that
fails) only when none of its lines is UTF-8 with non-ASCII characters — otherwise it is a UTF-8 file with
a few damaged lines, and those lines are quarantined (``bad_encoding``) instead of decoded into mojibake.
That is known only at the end of the file: a legacy file is read a second time, in its encoding.

Lines: the file is split on ``\\n`` (a trailing ``\\r`` is removed); line 1 is the header. Every other
non-blank line is one record, except that a line with an odd number of quote characters is joined with the
following lines (up to ``MAX_RECORD_LINES``) until its quotes balance: a quoted field holding a line break
(which the checks then quarantine as ``control_character``). A record that does not follow RFC 4180
quoting, or has another number of fields than the header, is quarantined as ``malformed_row``; the other
records load. The file is refused (``malformed_rows``) when more than ``max_malformed_share`` of its records
(and more than ``MALFORMED_TOLERATED``) are malformed or badly encoded, and (``unreadable_header``) when its
header cannot be read.

Each record carries ``_line``, the physical line it starts on, so a quarantined row can be found in the
original file. Values are then normalised column by column (``convoc.text``): the frame parked as Parquet
holds exactly the values validated and, for the rows that pass, loaded. Messages and logs name files, lines,
columns and rules only — never a value, not even in chained exceptions.
"""

from __future__ import annotations

import csv
import logging
import os
import re
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convoc.errors import FileChanging, FileNotReady, FileRefused
from convoc.files import private_dirs
from convoc.sources.specs import SOURCES, SourceSpec, source_named
from convoc.text import normalise

if TYPE_CHECKING:
    from collections.abc import Iterator

    import numpy as np
    import numpy.typing as npt
    import polars as pl

    IntArray = npt.NDArray[np.int64]
    BoolArray = npt.NDArray[np.bool_]

log = logging.getLogger(__name__)

_DELIMITERS = (",", ";", "\t", "|")
_BOM = b"\xef\xbb\xbf"
MAX_RECORD_LINES = 5
"""Most physical lines one record may span (a quoted field with line breaks); beyond, the quote is broken."""
MALFORMED_TOLERATED = 10
"""Malformed or badly encoded records always quarantined rather than refusing the file, whatever its size."""
MARKER_SUFFIX = ".done"
REJECT_SCHEMA = ("source_file", "line_number", "column_name", "rule", "value_masked", "detail")


@dataclass(frozen=True)
class LandingFile:
    source: str
    path: Path
    day: date


@dataclass(frozen=True)
class Extracted:
    """One landing file read, normalised and parked as Parquet; what XCom carries between ingest tasks.

    ``rows`` counts the file's records (header and blank lines excluded), ``parsed`` those parked in
    ``parquet``; the others (malformed or badly encoded) are listed in ``rejects``.
    """

    source: str
    file_name: str
    day: date
    sha256: str
    rows: int
    parsed: int
    encoding: str
    delimiter: str
    columns: tuple[str, ...]
    parquet: Path
    rejects: Path

    @property
    def spec(self) -> SourceSpec:
        return source_named(self.source)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(day=self.day.isoformat(), parquet=str(self.parquet), rejects=str(self.rejects))
        d["columns"] = list(self.columns)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Extracted:
        return cls(
            source=d["source"],
            file_name=d["file_name"],
            day=date.fromisoformat(d["day"]),
            sha256=d["sha256"],
            rows=int(d["rows"]),
            parsed=int(d["parsed"]),
            encoding=d["encoding"],
            delimiter=d["delimiter"],
            columns=tuple(d["columns"]),
            parquet=Path(d["parquet"]),
            rejects=Path(d["rejects"]),
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


# --- reading: the bytes parsed are the bytes hashed ---------------------------------------------------------


BLOCK_BYTES = 8 * 2**20
"""How much of a landing file is read, decoded and parsed at a time (a register line is about 110 bytes)."""


@dataclass(frozen=True)
class Landing:
    """What was read of a landing file: the SHA-256 of every byte read and the file's identity then."""

    sha256: str
    identity: tuple[int, int, int, int]


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def record_boundary(data: bytes) -> int:
    """Where ``data`` may be cut between records: just after a line break such that no record can run on past
    it — the ``MAX_RECORD_LINES - 1`` lines before it each hold an even number of quotes, so none of them
    opens a quoted field that a following line would close. 0 when there is no such place."""
    end = data.rfind(b"\n")
    while end >= 0:
        pos, closed = end, True
        for _ in range(MAX_RECORD_LINES - 1):
            start = data.rfind(b"\n", 0, pos) + 1
            if data.count(b'"', start, pos) % 2:
                closed = False
                break
            if start == 0:
                break
            pos = start - 1
        if closed:
            return end + 1
        end = data.rfind(b"\n", 0, end)
    return 0


class LandingReader:
    """A landing file read once, front to back, in pieces of about ``block_bytes`` that end between records.

    Every byte read is hashed; once the last piece has been taken, ``landing`` holds the SHA-256 and the
    file's identity — or ``FileChanging`` is raised if the file moved or grew while it was read."""

    def __init__(self, path: Path, block_bytes: int = BLOCK_BYTES) -> None:
        self.path, self.block_bytes = path, block_bytes
        self.landing: Landing | None = None

    def __iter__(self) -> Iterator[bytes]:
        import hashlib

        digest, size, carry, pieces = hashlib.sha256(), 0, b"", 0
        with self.path.open("rb") as fh:
            before = os.fstat(fh.fileno())
            while block := fh.read(self.block_bytes):
                digest.update(block)
                size += len(block)
                data = carry + block if carry else block
                end = record_boundary(data)
                carry = data[end:]
                if end:
                    pieces += 1
                    yield data[:end]
                del data
            after = os.fstat(fh.fileno())
        if carry or not pieces:
            yield carry
        identity = _identity(after)
        if not (_identity(before) == identity == _identity(os.stat(self.path))) or size != after.st_size:
            raise FileChanging(f"{self.path.name}: the file changed while it was read; nothing loaded, try again")
        self.landing = Landing(digest.hexdigest(), identity)


def _marker(path: Path) -> Path:
    return path.with_name(path.name + MARKER_SUFFIX)


def check_ready(path: Path, *, require_marker: bool) -> None:
    """With ``require_marker``, ``FileNotReady`` until ``<path>.done`` exists."""
    marker = _marker(path)
    if require_marker and not marker.is_file():
        raise FileNotReady(f"{path.name}: waiting for its readiness marker {marker.name}; nothing read")


def check_marker(path: Path, sha256: str) -> None:
    """A readiness marker whose first word is a SHA-256 must name the bytes read (else ``FileChanging``)."""
    marker = _marker(path)
    if not marker.is_file():
        return
    words = marker.read_text(encoding="ascii", errors="replace").split()
    named = words[0].lower() if words else ""
    if re.fullmatch(r"[0-9a-f]{64}", named) and named != sha256:
        raise FileChanging(
            f"{path.name}: SHA-256 {sha256[:12]}… does not match its readiness marker ({named[:12]}…): "
            "the file is not (yet) the one announced; nothing loaded"
        )


def check_unchanged(path: Path, landing: Landing) -> None:
    """``FileChanging`` unless ``path`` is still the file ``landing`` was read from, unmodified."""
    if _identity(os.stat(path)) != landing.identity:
        raise FileChanging(f"{path.name}: the file changed while it was being processed; nothing loaded, try again")


# --- decoding and records ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lines:
    """A landing file as UTF-8 bytes cut on ``\n``: where each physical line starts, its length (without
    the ``\n``), whether it is valid UTF-8, and the encoding the file was delivered in."""

    data: bytes
    starts: IntArray
    lengths: IntArray
    valid: BoolArray
    encoding: str

    def text(self, index: int) -> str | None:
        """Line ``index`` (0-based) as text, its trailing ``\r`` removed; None if it is not valid UTF-8."""
        if not self.valid[index]:
            return None
        start = int(self.starts[index])
        return self.data[start : start + int(self.lengths[index])].decode("utf-8").removesuffix("\r")

    def count(self, char: str) -> IntArray:
        """Occurrences of the ASCII character ``char`` per line (exact in UTF-8: no other byte equals it).

        Dense characters (delimiters) are summed line by line; sparse ones (quotes) are located."""
        import numpy as np

        found = np.frombuffer(self.data, dtype=np.uint8) == ord(char)
        if np.count_nonzero(found) < len(self.starts):
            at = np.searchsorted(self.starts, np.flatnonzero(found), side="right") - 1
            counts: IntArray = np.bincount(at, minlength=len(self.starts))
            return counts
        return _per_line(found, self.starts, self.lengths)

    def is_blank(self, index: int) -> bool:
        """Whether line ``index`` holds nothing but spaces, tabs and a carriage return."""
        start = int(self.starts[index])
        return not self.data[start : start + int(self.lengths[index])].strip(b" \t\r")


def _per_line(mask: BoolArray, starts: IntArray, lengths: IntArray) -> IntArray:
    import numpy as np

    if not len(mask):
        return np.zeros(len(starts), dtype=np.int64)
    counts = np.add.reduceat(mask.view(np.uint8), np.minimum(starts, len(mask) - 1), dtype=np.int32)
    counts[lengths == 0] = 0  # reduceat gives an empty segment the element at its index
    return counts.astype(np.int64)


def _cut(data: bytes) -> tuple[IntArray, IntArray]:
    import numpy as np

    array = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(array == 0x0A)
    starts = np.concatenate(([0], newlines + 1)).astype(np.int64)
    ends = np.concatenate((newlines, [len(array)])).astype(np.int64)
    return starts, ends - starts


def _invalid_utf8(data: bytes) -> tuple[IntArray, bool]:
    """For a file that is not valid UTF-8: the lines (0-based) holding invalid bytes, and whether any of its
    other bytes form valid UTF-8 beyond ASCII. The file is decoded once with invalid bytes kept as lone
    surrogates (which valid UTF-8 never yields) and scanned as UTF-16 code units, all vectorised."""
    import numpy as np

    units = np.frombuffer(data.decode("utf-8", "surrogateescape").encode("utf-16-le", "surrogatepass"), np.uint16)
    escaped = (units >= 0xDC80) & (units <= 0xDCFF)
    escaped[1:] &= ~((units[:-1] >= 0xD800) & (units[:-1] <= 0xDBFF))  # a genuine pair's low half is not one
    lines: IntArray = np.unique(np.searchsorted(np.flatnonzero(units == 0x0A), np.flatnonzero(escaped)))
    return lines, bool(((units >= 0x80) & ~escaped).any())


def _high_bytes(data: bytes) -> bool:
    """Whether ``data`` holds any byte beyond ASCII."""
    import numpy as np

    return bool(len(data)) and bool((np.frombuffer(data, dtype=np.uint8) >= 0x80).any())


@dataclass(frozen=True)
class Decoded:
    """One piece of a landing file decoded as UTF-8, and what the file-wide choice of encoding needs to know:
    whether it holds invalid bytes, and whether it holds UTF-8 beyond ASCII."""

    lines: Lines
    invalid: bool
    utf8_beyond_ascii: bool


def decode_utf8(data: bytes, encoding: str = "utf-8") -> Decoded:
    """Cut ``data`` into lines, marking those that are not valid UTF-8."""
    import numpy as np
    import polars as pl

    starts, lengths = _cut(data)
    valid = np.ones(len(starts), dtype=np.bool_)
    try:
        pl.Series([data], dtype=pl.Binary).cast(pl.String)  # one vectorised check: nearly every file passes
        return Decoded(Lines(data, starts, lengths, valid, encoding), False, _high_bytes(data))
    except pl.exceptions.PolarsError:
        pass
    invalid, utf8_beyond_ascii = _invalid_utf8(data)
    valid[invalid] = False
    return Decoded(Lines(data, starts, lengths, valid, encoding), True, utf8_beyond_ascii)


def decode_legacy(data: bytes, encoding: str) -> Lines:
    """Cut a piece of a legacy 8-bit file (``cp1252`` or ``latin-1``, see ``legacy_encoding``) into UTF-8 lines."""
    import numpy as np

    utf8 = data.decode(encoding).encode("utf-8")
    starts, lengths = _cut(utf8)
    return Lines(utf8, starts, lengths, np.ones(len(starts), dtype=np.bool_), encoding)


_CP1252_UNDEFINED = re.compile(b"[\x81\x8d\x8f\x90\x9d]")


def legacy_encoding_of(*, invalid: bool, beyond_ascii: bool, bom: bool, cp1252: bool) -> str | None:
    """The legacy encoding a file is read in, or None when it is read as UTF-8 (see the module doc): a file
    without BOM that is not valid UTF-8 (``invalid``) but holds no UTF-8 beyond ASCII anywhere is
    Windows-1252 (``cp1252``: none of its five undefined bytes occurs) or else Latin-1."""
    if bom or not invalid or beyond_ascii:
        return None
    return "cp1252" if cp1252 else "latin-1"


def decode(data: bytes) -> Lines:
    """Cut and decode a whole landing file (see the module doc): UTF-8; else Windows-1252 (Latin-1 where even
    that fails) when no byte of it is UTF-8 beyond ASCII; else UTF-8 with its invalid lines marked."""
    bom = data.startswith(_BOM)
    if bom:
        data = data[len(_BOM) :]
    decoded = decode_utf8(data, "utf-8-sig" if bom else "utf-8")
    legacy = legacy_encoding_of(
        invalid=decoded.invalid,
        beyond_ascii=decoded.utf8_beyond_ascii,
        bom=bom,
        cp1252=not _CP1252_UNDEFINED.search(data),
    )
    return decode_legacy(data, legacy) if legacy else decoded.lines


def sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


_QUOTED_FIELD = r'"(?:[^"]|"")*"'


def _record_shape(delimiter: str) -> str:
    """RFC 4180: each field either quoted whole (quotes doubled inside) or free of quotes; line breaks only
    inside quotes."""
    d = re.escape(delimiter)
    field = rf'(?:"(?:[^"]|"")*"|[^"{d}\n]*)'
    return rf"{field}(?:{d}{field})*"


def _fields(record: str, delimiter: str) -> int:
    """Fields of a record of valid quoting: delimiters outside quoted fields, plus one."""
    return re.sub(_QUOTED_FIELD, "", record).count(delimiter) + 1


def _parse_header(line: str | None, file_name: str) -> tuple[list[str], str]:
    """Column names (trimmed, lower case) and the delimiter; FileRefused if the header cannot be read."""
    if line is None:
        raise FileRefused([f"{file_name}: line 1 (the header) is not valid UTF-8 [rule unreadable_header]"])
    delimiter = sniff_delimiter(line)
    try:
        cells = next(csv.reader([line], delimiter=delimiter, strict=True), [])
    except csv.Error:
        raise FileRefused([f"{file_name}: line 1 (the header) has broken quoting [rule unreadable_header]"]) from None
    names = [c.strip(" \t\ufeff").lower() for c in cells]
    repeated = sorted({n for n in names if n and names.count(n) > 1 and n in source_columns()})
    if repeated:
        raise FileRefused(
            [f"{file_name}: column(s) {', '.join(repeated)} named twice in the header [rule unreadable_header]"]
        )
    return names, delimiter


def source_columns() -> frozenset[str]:
    return frozenset(c for spec in SOURCES for c in spec.columns)


@dataclass(frozen=True)
class Records:
    """Where the records of a file are: the 0-based line each well-shaped record starts on (ascending), the
    lines whose bytes make up those records (a quoted line break spans several), and the problem lines
    (1-based line, rule)."""

    starts: IntArray
    keep: BoolArray
    problems: list[tuple[int, str]]


def find_records(lines: Lines, delimiter: str, width: int, *, header: bool = True) -> Records:
    """Cut the data lines (all but the first, the header, if ``header``) into records (see the module doc).
    Vectorised over the lines without quote characters; lines with quotes (rare in register extracts) are
    checked one by one. Lines are numbered from the start of ``lines``."""
    import numpy as np

    n = len(lines.starts)
    data_line = np.arange(n) >= (1 if header else 0)
    quotes = lines.count('"')
    fields = lines.count(delimiter) + 1
    # Only a line without delimiters can be blank: few enough to look at one by one.
    blank = np.zeros(n, dtype=np.bool_)
    for index in np.flatnonzero(fields == 1):
        blank[index] = lines.is_blank(int(index))
    usable = data_line & lines.valid & ~blank
    keep = usable & (quotes == 0) & (fields == width)
    malformed: list[int] = np.flatnonzero(usable & (quotes == 0) & (fields != width)).tolist()
    starts: list[int] = np.flatnonzero(keep).tolist()
    quoted = np.flatnonzero(usable & (quotes > 0))
    if len(quoted):
        shape = re.compile(_record_shape(delimiter))
        consumed: set[int] = set()
        for first in quoted.tolist():
            if first in consumed:
                continue
            # A line of unbalanced quotes is joined with the next ones until they balance (a quoted line
            # break); only when the result is a record of the right shape, else the line alone is malformed.
            total, last = int(quotes[first]), first
            while total % 2 and last - first + 1 < MAX_RECORD_LINES and last + 1 < n and usable[last + 1]:
                last += 1
                total += int(quotes[last])
            record = "\n".join(lines.text(k) or "" for k in range(first, last + 1))
            if total % 2 == 0 and shape.fullmatch(record) and _fields(record, delimiter) == width:
                starts.append(first)
                keep[first : last + 1] = True
                consumed.update(range(first + 1, last + 1))
            else:
                malformed.append(first)
        # A line taken into a record is not one of its own, whatever it looked like alone.
        starts = [i for i in starts if i not in consumed]
        malformed = [i for i in malformed if i not in consumed]
    problems = [(int(i) + 1, "bad_encoding") for i in np.flatnonzero(data_line & ~lines.valid)]
    problems += [(int(i) + 1, "malformed_row") for i in malformed]
    return Records(np.array(sorted(starts), dtype=np.int64), keep, sorted(problems))


def _parse(
    lines: Lines, records: Records, delimiter: str, width: int, file_name: str, first_line: int = 1
) -> pl.DataFrame:
    """The records as ``width`` text columns ``_c0``… and ``_line`` (the file's line number, ``lines`` starting
    on line ``first_line``); one row per record, in file order."""
    import numpy as np
    import polars as pl

    names = [f"_c{i}" for i in range(width)]
    line = pl.Series("_line", records.starts + first_line, dtype=pl.Int64)
    if not len(records.starts):
        return pl.DataFrame(schema=dict.fromkeys(names, pl.String)).with_columns(line)
    # The bytes of the records' lines, each with its line break, in one piece for the CSV reader.
    array = np.frombuffer(lines.data, dtype=np.uint8)
    mask = np.repeat(records.keep, lines.lengths + 1)[: len(array)]
    try:
        frame = pl.read_csv(
            array[mask].tobytes(),
            has_header=False,
            new_columns=names,
            separator=delimiter,
            quote_char='"',
            infer_schema=False,
            truncate_ragged_lines=False,
        )
    except pl.exceptions.PolarsError as exc:  # its message may quote a row: only its kind is named
        reason = f"{file_name}: the CSV reader failed ({type(exc).__name__}) on well-shaped records"
        raise FileRefused([f"{reason} [rule malformed_rows]"]) from None
    if frame.height != len(records.starts) or frame.width != width:
        # Cannot happen for records of valid shape; if it did, rows and lines would no longer match.
        raise FileRefused([f"{file_name}: the CSV reader and the shape check disagree [rule malformed_rows]"])
    return frame.with_columns(line)


# --- extract ------------------------------------------------------------------------------------------------


def _reject_frame(file_name: str, lines: list[tuple[int, str]]) -> pl.DataFrame:
    import polars as pl

    return pl.DataFrame(
        [(file_name, line, None, rule, None, None) for line, rule in lines],
        schema={
            "source_file": pl.String,
            "line_number": pl.Int64,
            "column_name": pl.String,
            "rule": pl.String,
            "value_masked": pl.String,
            "detail": pl.String,
        },
        orient="row",
    )


@dataclass(frozen=True)
class Split:
    """A decoded landing file cut into its header and records: what ``extract`` normalises."""

    encoding: str
    delimiter: str
    header: list[str]
    frame: pl.DataFrame
    """One text column ``_c0``… per header cell and ``_line``, one row per well-shaped record."""
    problems: list[tuple[int, str]]
    """(line, rule) of the records that could not be read: malformed_row, bad_encoding."""

    @property
    def rows(self) -> int:
        return self.frame.height + len(self.problems)


def split(data: bytes, file_name: str) -> Split:
    """Decode ``data`` and cut it into header and records (see the module doc)."""
    lines = decode(data)
    header, delimiter = _parse_header(lines.text(0), file_name)
    records = find_records(lines, delimiter, len(header))
    frame = _parse(lines, records, delimiter, len(header), file_name)
    return Split(lines.encoding, delimiter, header, frame, records.problems)


@dataclass(frozen=True)
class Parked:
    """What one pass over a landing file parked as Parquet (see ``extract``)."""

    landing: Landing
    encoding: str
    delimiter: str
    header: list[str]
    parsed: int
    problems: list[tuple[int, str]]
    legacy: str | None
    """After a pass that read the file as UTF-8: the legacy encoding it turned out to be in, if any."""

    @property
    def rows(self) -> int:
        return self.parsed + len(self.problems)


def _park(path: Path, spec: SourceSpec, parquet: Path, legacy: str | None, block_bytes: int) -> Parked:
    """Read ``path`` piece by piece (``LandingReader``), cut each into records, normalise them and append them to
    ``parquet`` (one row group per piece): memory holds two pieces, whatever the file's size. ``legacy``: read
    the file in that encoding rather than as UTF-8.

    Two stages in step, on the two cores the task has: this thread reads, hashes, decodes and splits piece
    n + 1 while a second one normalises piece n and writes it (``_Parker``, pieces in file order). Each stage
    is mostly polars, numpy and pyarrow, which run without Python's lock; one stage alone left a core idle."""
    name = path.name
    reader = LandingReader(path, block_bytes)
    encoding, bom, invalid, beyond_ascii, cp1252 = legacy or "utf-8", False, False, False, True
    header: list[str] = []
    delimiter, first_line, parsed = ",", 1, 0
    problems: list[tuple[int, str]] = []
    with _Parker(parquet, spec) as parker:
        for piece in reader:
            first = first_line == 1
            if legacy:
                lines = decode_legacy(piece, legacy)
            else:
                if first and piece.startswith(_BOM):
                    piece, encoding, bom = piece[len(_BOM) :], "utf-8-sig", True
                decoded = decode_utf8(piece, encoding)
                lines = decoded.lines
                beyond_ascii |= decoded.utf8_beyond_ascii
                if decoded.invalid:
                    invalid = True
                    cp1252 = cp1252 and not _CP1252_UNDEFINED.search(piece)
            del piece
            if first:
                header, delimiter = _parse_header(lines.text(0), name)
                unexpected = sum(1 for n in header if n not in spec.columns)
                if unexpected:
                    # Never the names themselves: in a file without a header they are the first row's values.
                    log.warning("%s: %d column(s) not in the %s format ignored", name, unexpected, spec.name)
            records = find_records(lines, delimiter, len(header), header=first)
            frame = _parse(lines, records, delimiter, len(header), name, first_line)
            problems += [(line + first_line - 1, rule) for line, rule in records.problems]
            first_line += len(lines.starts) - 1
            del lines, records
            parsed += frame.height
            parker.put(frame, header)
            del frame
    if reader.landing is None:  # cannot happen: the reader sets it once the last piece is taken
        raise FileChanging(f"{name}: the file was not read to its end; nothing loaded, try again")
    found = None if legacy else legacy_encoding_of(invalid=invalid, beyond_ascii=beyond_ascii, bom=bom, cp1252=cp1252)
    return Parked(reader.landing, encoding, delimiter, header, parsed, problems, found)


class _Parker:
    """Normalises parsed pieces and appends them to a Parquet file, in a thread of its own, one piece behind the
    reader: ``put`` waits for the piece before to be written (so at most two are held), and leaving the block
    waits for the last one and closes the file. An error in the thread is raised by the next ``put`` or on
    leaving; leaving on an error of the reader's lets the piece being written finish, then closes the file."""

    def __init__(self, parquet: Path, spec: SourceSpec) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.parquet, self.spec = parquet, spec
        self.writer: Any = None
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="convoc-park")
        self.pending: Any = None

    def __enter__(self) -> _Parker:
        return self

    def put(self, frame: pl.DataFrame, header: list[str]) -> None:
        self._wait()
        self.pending = self.pool.submit(self._store, frame, header)

    def _wait(self) -> None:
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()

    def _store(self, frame: pl.DataFrame, header: list[str]) -> None:
        import polars as pl
        import pyarrow.parquet as pq

        spec = self.spec
        table = pl.DataFrame(
            [
                frame["_line"],
                *[
                    normalise(frame[f"_c{header.index(c)}"], spec.column(c).kind).alias(c)
                    for c in spec.columns
                    if c in header
                ],
            ]
        ).to_arrow(compat_level=pl.CompatLevel.oldest())
        del frame
        if self.writer is None:
            # Working copies live minutes: the fastest codec, not the smallest.
            self.writer = pq.ParquetWriter(self.parquet, table.schema, compression="lz4")
        self.writer.write_table(table.cast(self.writer.schema))

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        try:
            if kind is None:
                self._wait()
            else:
                pending, self.pending = self.pending, None
                if pending is not None:
                    pending.exception()  # wait for it; the reader's error is the one raised
        finally:
            self.pool.shutdown(wait=True)
            if self.writer is not None:
                self.writer.close()


def extract(
    landing_file: LandingFile,
    work_dir: Path,
    *,
    max_malformed_share: float = 0.01,
    require_marker: bool = False,
    block_bytes: int = BLOCK_BYTES,
) -> Extracted:
    """Read, decode, split and normalise ``landing_file``, a piece at a time; park it as
    ``work_dir/<source>.parquet`` (``_line`` and the spec's columns found in the header, one row group per
    piece) and its line-level rejects as ``<source>.lines.parquet``.

    A file that turns out to be in a legacy 8-bit encoding is read a second time in it (its SHA-256 must
    not change in between). ``FileRefused`` for an unreadable header or too many malformed records;
    ``FileChanging`` / ``FileNotReady`` when the file is not settled (retry later).
    """
    spec = source_named(landing_file.source)
    path, name = landing_file.path, landing_file.path.name
    check_ready(path, require_marker=require_marker)
    private_dirs(work_dir)
    parquet = work_dir / f"{spec.name}.parquet"
    rejects = work_dir / f"{spec.name}.lines.parquet"
    try:
        parts = _park(path, spec, parquet, None, block_bytes)
        if parts.legacy:
            again = _park(path, spec, parquet, parts.legacy, block_bytes)
            if again.landing.sha256 != parts.landing.sha256:
                raise FileChanging(f"{name}: the file changed between two readings; nothing loaded, try again")
            parts = again
        check_marker(path, parts.landing.sha256)
        bad = len(parts.problems)
        if bad > MALFORMED_TOLERATED and bad > max_malformed_share * parts.rows:
            raise FileRefused(
                [
                    f"{name}: {bad:,} of {parts.rows:,} rows ({bad / parts.rows:.2%}) are malformed or not "
                    f"UTF-8, more than the allowed {max_malformed_share:.0%} (first at line "
                    f"{parts.problems[0][0]}) [rule malformed_rows]"
                ]
            )
    except BaseException:
        parquet.unlink(missing_ok=True)  # a working copy of a file not loaded is not kept
        raise
    if bad:
        log.info("%s: %d row(s) quarantined before validation (first at line %d)", name, bad, parts.problems[0][0])
    _reject_frame(name, parts.problems).write_parquet(rejects)
    for p in (parquet, rejects):
        os.chmod(p, 0o600)
    check_unchanged(path, parts.landing)
    return Extracted(
        source=spec.name,
        file_name=name,
        day=landing_file.day,
        sha256=parts.landing.sha256,
        rows=parts.rows,
        parsed=parts.parsed,
        encoding=parts.encoding,
        delimiter=parts.delimiter,
        columns=tuple(c for c in spec.columns if c in parts.header),
        parquet=parquet,
        rejects=rejects,
    )

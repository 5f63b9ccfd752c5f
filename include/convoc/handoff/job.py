"""Print jobs: a job's released batch PDFs assembled, with what the print shop needs, into one folder.

A job is one day's letters (``J20210129``) or a reprint of some of its pieces (``J20210129-R1``). Its
source is the folder the letters stage wrote: ``$CONVOC_HOME/print/<YYYYMMDD>/`` for a day's job,
``…/<YYYYMMDD>/reprints/<job id>/`` for a reprint, each with ``batches/<stem>.parquet`` (one row per
piece, in presort order) and ``pdf/<stem>.pdf`` (the *released*, verified PDFs: nothing else is taken).
``build_job`` writes the job folder ``<staging>/<job id>/``:

- ``<stem>.pdf``: the released PDFs, byte for byte, in batch order;
- ``inserter_run.csv``: one row per envelope in print order (``RUN_COLUMNS``): envelope number, piece id,
  file, first page (1-based, in that file), pages, sheets, postal presort zone and key — a large-print letter
  takes more pages than a standard one, in the same file and presort sequence;
- ``job_ticket.json``: paper, simplex/duplex, envelope, fold and quantities (envelopes by pages per piece);
- ``manifest.csv``: typed records (``MANIFEST_CSV_COLUMNS``): one ``file`` row per PDF (SHA-256, bytes,
  pieces, pages, sheets, piece id range, campaigns), one ``document`` row each for the run file and the
  ticket, then ``campaign``, ``presort`` (pieces per postcode zone) and one ``total`` row;
- ``manifest.json``: the same and more (``FORMAT``), listing every other file of the job with its
  SHA-256; delivery writes the manifest's own SHA-256 into the ``READY`` marker.

Every number is recomputed from the files: checksums from the copied bytes, pages by opening the PDF
(pypdfium2), pieces from the batch file. Building is idempotent: no timestamps, so the same released PDFs
give the same bytes and a delivery of the rebuilt job is "unchanged". The job is built aside
(``.building-<job id>-<random>``) and renamed into place, replacing the previous build of the job.
Files 0600, folders 0700 (the PDFs hold names and addresses; the other files hold none).
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import os
import re
import secrets
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from convoc import faults
from convoc.errors import ConvocError
from convoc.files import disk_full, write_private
from convoc.files import fsync_dir as _fsync_dir
from convoc.files import private_dirs as _private_dir
from convoc.letters.batches import batch_job_id, day_dir

FORMAT = "convoc-print-job/1"
RUN_FILE = "inserter_run.csv"
TICKET = "job_ticket.json"
MANIFEST_CSV = "manifest.csv"
MANIFEST_JSON = "manifest.json"
RUN_COLUMNS = ("envelope", "piece_id", "file", "first_page", "pages", "sheets", "presort_zone", "presort_key")
MANIFEST_CSV_COLUMNS = (
    "record",
    "job_id",
    "kind",
    "wave_date",
    "name",
    "campaign",
    "sha256",
    "bytes",
    "pieces",
    "pages",
    "sheets",
    "first_piece",
    "last_piece",
)
JOB_ID = re.compile(r"^J(?P<day>\d{8})(?:-R(?P<reprint>[1-9]\d*))?$")
"""``JYYYYMMDD`` (the day's letters) or ``JYYYYMMDD-Rn`` (its n-th reprint)."""
_CHUNK = 1 << 20
_BUILDING = ".building-"


class JobError(ConvocError):
    """A job that cannot be built from what the letters stage released; nothing was changed."""


@dataclass(frozen=True, slots=True)
class Stock:
    """What the pieces are printed on and mailed in: the job ticket's production settings."""

    paper: str = "A4 (210 × 297 mm), 80 g/m², white"
    plex: Literal["simplex", "duplex"] = "simplex"
    envelope: str = "DL window envelope (110 × 220 mm), window left, for DIN 5008 form B letters"
    fold: str = "letter fold in three, address block in the window"

    def sheets(self, pages: int) -> int:
        """Sheets of paper for ``pages`` pages of one piece."""
        return pages if self.plex == "simplex" else -(-pages // 2)


@dataclass(frozen=True, slots=True)
class BuiltJob:
    """A built job folder and its totals (from its manifest)."""

    path: Path
    job_id: str
    origin_job_id: str
    kind: Literal["original", "reprint"]
    files: int
    pieces: int
    pages: int
    sheets: int
    bytes: int
    manifest_sha256: str

    def as_dict(self) -> dict[str, str | int]:
        """JSON-safe form (Airflow XCom)."""
        return {
            "path": str(self.path),
            "job_id": self.job_id,
            "origin_job_id": self.origin_job_id,
            "kind": self.kind,
            "files": self.files,
            "pieces": self.pieces,
            "pages": self.pages,
            "sheets": self.sheets,
            "bytes": self.bytes,
            "manifest_sha256": self.manifest_sha256,
        }


@dataclass(frozen=True, slots=True)
class JobId:
    """A parsed job id."""

    job_id: str
    day: date
    reprint: int | None = None

    @property
    def origin_job_id(self) -> str:
        return f"J{self.day:%Y%m%d}"

    @property
    def kind(self) -> Literal["original", "reprint"]:
        return "original" if self.reprint is None else "reprint"


def parse_job_id(job_id: str) -> JobId:
    """``J20210129`` → day 2021-01-29; ``J20210129-R2`` → the same day, reprint 2. JobError otherwise."""
    match = JOB_ID.match(job_id)
    if match is None:
        raise JobError(f"{job_id!r} is not a print job id (JYYYYMMDD or JYYYYMMDD-Rn)")
    try:
        day = datetime.strptime(match["day"], "%Y%m%d").date()
    except ValueError:
        raise JobError(f"{job_id!r} is not a print job id: {match['day']} is not a date") from None
    reprint = int(match["reprint"]) if match["reprint"] else None
    return JobId(job_id, day, reprint)


def job_source(print_root: Path, job_id: str) -> Path:
    """The folder holding a job's ``batches/`` and released ``pdf/``."""
    parsed = parse_job_id(job_id)
    folder = day_dir(print_root, parsed.day)
    return folder if parsed.reprint is None else folder / "reprints" / job_id


def presort_key(postcode: str) -> str:
    """The envelope's presort key: its postcode as printed, ``L-1611`` (a bare ``1611`` gains the ``L-``)."""
    code = postcode.strip().upper()
    return f"L-{code}" if code.isdigit() else code


def presort_zone(postcode: str) -> str:
    """The postcode zone a presort tray collects: ``L-`` and the first two digits (``L-1611`` → ``L-16``)."""
    key = presort_key(postcode)
    digits = key.removeprefix("L-")
    return f"L-{digits[:2]}" if len(digits) == 4 and digits.isdigit() else "other"


@dataclass
class _File:
    name: str
    sha256: str
    bytes: int
    pages: int
    pieces: int
    sheets: int
    first_piece: int
    last_piece: int
    campaigns: dict[str, int] = field(default_factory=dict)
    preflight: dict[str, Any] | None = None


def _preflight_of(source: Path, stem: str, sha256: str) -> dict[str, Any] | None:
    """The prepress preflight recorded for the released file of ``sha256`` (``letters.batches``, at release),
    or None: never run on this very file (released before the preflight existed, or changed since)."""
    path = source / "preflight" / f"{stem}.json"
    try:
        found = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(found, dict) or found.get("sha256") != sha256:
        return None
    return {k: found[k] for k in ("profile", "result", "conformance", "document_id", "records", "fonts") if k in found}


def _check_across_files(files: list[_File]) -> None:
    """What no single file's preflight can see: a subset name naming two different font programs in two files
    of the job (a RIP merging them would print one's glyphs with the other's), or two files with one id."""
    from convoc.letters.preflight import subset_conflicts

    fonts = {f.name: f.preflight["fonts"] for f in files if f.preflight and isinstance(f.preflight.get("fonts"), dict)}
    problems = subset_conflicts(fonts)
    ids: dict[str, str] = {}
    for f in files:
        doc_id = (f.preflight or {}).get("document_id")
        if doc_id and ids.setdefault(doc_id, f.name) != f.name:
            problems.append(f"{ids[doc_id]} and {f.name} carry the same document id {doc_id}")
    if problems:
        raise JobError(f"the print files of the job conflict for prepress: {'; '.join(problems)}")


def build_job(
    print_root: Path,
    job_id: str,
    staging: Path,
    *,
    handoff_date: date | None = None,
    pages_per_piece: int | None = None,
    stock: Stock | None = None,
) -> BuiltJob:
    """Build job ``job_id`` from its released PDFs into ``<staging>/<job_id>/`` (see the module docstring).

    ``handoff_date`` is the day the job goes to the print shop (the mailing day the simulated print shop
    assumes); it defaults to the job's own day for a day's job and must be given for a reprint.
    Each piece's pages are its batch file's (``pages``: the letters stage's layout, held to by verification);
    they must add up to its PDF's pages. A batch file without them (cut before large print) gives every piece
    its PDF's pages ÷ its pieces, which must be a whole number. ``pages_per_piece``, when given, is required of
    every piece. Refused (JobError, nothing changed) when a batch has no released PDF, a released PDF
    has no batch file or belongs to another job, a file's pages do not fit its pieces, or a piece id
    occurs twice.
    """
    parsed = parse_job_id(job_id)
    stock = stock or Stock()
    if handoff_date is None:
        if parsed.reprint is not None:
            raise JobError(f"reprint job {job_id}: give the day it is handed off (handoff_date)")
        handoff_date = parsed.day
    if pages_per_piece is not None and pages_per_piece < 1:
        raise ValueError("pages_per_piece must be at least 1")
    source = job_source(print_root, job_id)
    stems = _released_stems(source, job_id)

    _private_dir(staging)
    _remove_leftovers(staging, job_id)
    building = staging / f"{_BUILDING}{job_id}-{secrets.token_hex(6)}"
    building.mkdir(mode=0o700)
    os.chmod(building, 0o700)
    try:
        manifest_sha256, totals = _build(building, source, stems, parsed, handoff_date, pages_per_piece, stock)
        _fsync_dir(building)
        _swap_into_place(building, staging / job_id)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return BuiltJob(
        path=staging / job_id,
        job_id=job_id,
        origin_job_id=parsed.origin_job_id,
        kind=parsed.kind,
        files=totals["files"],
        pieces=totals["pieces"],
        pages=totals["pages"],
        sheets=totals["sheets"],
        bytes=totals["bytes"],
        manifest_sha256=manifest_sha256,
    )


def _released_stems(source: Path, job_id: str) -> list[str]:
    """Stems of the job's batches, each with its released PDF; JobError naming what is missing or stray."""
    batches = {p.stem for p in (source / "batches").glob("*.parquet")}
    released = {p.stem for p in (source / "pdf").glob("*.pdf")}
    if not batches:
        raise JobError(f"job {job_id}: no batch files in {source / 'batches'}; cut (and render) the batches first")
    problems = []
    for stem in sorted(batches - released):
        reason = source / "rejected" / f"{stem}.reason.txt"
        why = f"rejected, see {reason}" if reason.exists() else "not rendered or not verified yet"
        problems.append(f"{source / 'batches' / stem}.parquet has no released PDF in {source / 'pdf'} ({why})")
    for stem in sorted(released - batches):
        problems.append(f"{source / 'pdf' / stem}.pdf has no batch file {source / 'batches' / stem}.parquet")
    for stem in sorted(batches & released):
        try:
            owner = batch_job_id(stem)
        except ConvocError as exc:
            problems.append(str(exc))
            continue
        if owner != job_id:
            problems.append(f"{source / 'pdf' / stem}.pdf belongs to job {owner}, not {job_id}")
    if problems:
        raise JobError(f"job {job_id} not built, nothing changed:\n" + "\n".join(f"  - {p}" for p in problems))
    return sorted(batches)


def _build(
    folder: Path,
    source: Path,
    stems: list[str],
    parsed: JobId,
    handoff_date: date,
    pages_per_piece: int | None,
    stock: Stock,
) -> tuple[str, dict[str, int]]:
    """Write every file of the job into ``folder``; return the manifest's SHA-256 and the totals."""
    import polars as pl

    job_id = parsed.job_id
    files: list[_File] = []
    # the run file is written as it is made (one row per envelope: a national job has millions)
    run = _StreamedFile(folder / RUN_FILE)
    writer = csv.writer(run, lineterminator="\n")
    writer.writerow(RUN_COLUMNS)
    last_piece = 0  # piece ids rise through the job (presort order): a piece twice cannot pass unseen
    presort: Counter[str] = Counter()
    campaigns: Counter[str] = Counter()
    by_pages: Counter[int] = Counter()
    formats: Counter[str] = Counter()
    envelope = 0
    for stem in stems:
        name = f"{stem}.pdf"
        sha256, size = _copy_private(source / "pdf" / name, folder / name)
        pages = _count_pages(folder / name, source / "pdf" / name)
        batch = source / "batches" / f"{stem}.parquet"
        present = set(pl.read_parquet_schema(batch))
        wanted = ["piece_id", "campaign", "postcode", *(c for c in ("pages", "format") if c in present)]
        rows = pl.read_parquet(batch, columns=wanted)
        if rows.height == 0:
            raise JobError(f"{batch}: no pieces, yet its PDF {source / 'pdf' / name} has {pages} pages")
        per_piece = _pages_of_pieces(rows, pages, pages_per_piece, batch, source / "pdf" / name)
        record = _File(name, sha256, size, pages, rows.height, sum(stock.sheets(n) for n in per_piece), 0, 0)
        record.preflight = _preflight_of(source, stem, sha256)
        ids = []
        first_page = 1
        piece_formats = rows.get_column("format") if "format" in rows.columns else [None] * rows.height
        for n, (piece_id, campaign, raw_postcode), letter_format in zip(
            per_piece, rows.select("piece_id", "campaign", "postcode").iter_rows(), piece_formats, strict=True
        ):
            postcode = raw_postcode or ""
            if piece_id <= last_piece:
                raise JobError(
                    f"{batch}: piece {piece_id} occurs twice in job {job_id}, or out of presort order (after piece "
                    f"{last_piece})"
                )
            last_piece = piece_id
            ids.append(piece_id)
            envelope += 1
            zone = presort_zone(postcode)
            presort[zone] += 1
            campaigns[campaign] += 1
            by_pages[n] += 1
            formats[letter_format or "standard"] += 1
            record.campaigns[campaign] = record.campaigns.get(campaign, 0) + 1
            writer.writerow(
                (envelope, piece_id, name, first_page, n, stock.sheets(n), zone, presort_key(postcode))
            )  # fmt: skip
            first_page += n
            run.flush_every(_RUN_ROWS)
        record.first_piece, record.last_piece = min(ids), max(ids)
        files.append(record)
    _check_across_files(files)
    uniform = next(iter(by_pages)) if len(by_pages) == 1 else None
    envelopes_by_pages = {str(n): count for n, count in sorted(by_pages.items())}

    totals = {
        "files": len(files),
        "pieces": envelope,
        "envelopes": envelope,
        "pages": sum(f.pages for f in files),
        "sheets": sum(f.sheets for f in files),
        "bytes": sum(f.bytes for f in files),
    }
    head: dict[str, Any] = {
        "job_id": job_id,
        "origin_job_id": parsed.origin_job_id,
        "kind": parsed.kind,
        "reprint": parsed.reprint is not None,
        "wave_date": parsed.day.isoformat(),
        "handoff_date": handoff_date.isoformat(),
    }
    documents = [run.close()]
    ticket = {
        **head,
        "paper": stock.paper,
        "plex": stock.plex,
        "envelope": stock.envelope,
        "fold": stock.fold,
        "pages_per_piece": uniform,
        "sheets_per_envelope": None if uniform is None else stock.sheets(uniform),
        "envelopes_by_pages": envelopes_by_pages,
        "quantities": {k: totals[k] for k in ("files", "envelopes", "pages", "sheets")},
        "print_files": [f.name for f in files],
        "inserter_run_file": RUN_FILE,
    }
    documents.append(_write_private(folder / TICKET, _json(ticket)))
    documents.append(
        _write_private(folder / MANIFEST_CSV, _manifest_csv(head, files, documents, campaigns, presort, totals))
    )
    manifest = {
        "format": FORMAT,
        **head,
        "campaigns": dict(sorted(campaigns.items())),
        "plex": stock.plex,
        "pages_per_piece": uniform,
        "sheets_per_piece": None if uniform is None else stock.sheets(uniform),
        "envelopes_by_pages": envelopes_by_pages,
        "formats": dict(sorted(formats.items())),
        "files": [
            {
                "name": f.name,
                "sha256": f.sha256,
                "bytes": f.bytes,
                "pieces": f.pieces,
                "pages": f.pages,
                "sheets": f.sheets,
                "first_piece": f.first_piece,
                "last_piece": f.last_piece,
                "campaigns": dict(sorted(f.campaigns.items())),
                "preflight": f.preflight,
            }
            for f in files
        ],
        "documents": documents,
        "presort": dict(sorted(presort.items())),
        "totals": totals,
    }
    faults.point("handoff.build.mid_job")
    return _write_private(folder / MANIFEST_JSON, _json(manifest))["sha256"], totals


def _pages_of_pieces(rows: Any, pages: int, pages_per_piece: int | None, batch: Path, pdf: Path) -> list[int]:
    """The pages of each piece of a batch (``rows``: its file) whose PDF has ``pages``; JobError when they
    do not add up, or differ from ``pages_per_piece`` when it is given."""
    if "pages" in rows.columns:
        per_piece = [int(n) for n in rows.get_column("pages")]
        if sum(per_piece) != pages or min(per_piece) < 1:
            raise JobError(f"{pdf}: {pages} pages for the {rows.height} pieces of {batch}, which take {sum(per_piece)}")
    else:
        uniform, rest = divmod(pages, rows.height)
        if rest or uniform == 0:
            raise JobError(
                f"{pdf}: {pages} pages for the {rows.height} pieces of {batch}; expected a whole number of pages "
                "per piece"
            )
        per_piece = [uniform] * rows.height
    if pages_per_piece is not None and any(n != pages_per_piece for n in per_piece):
        raise JobError(
            f"{pdf}: {pages} pages for the {rows.height} pieces of {batch}; expected {pages_per_piece} pages per piece"
        )
    return per_piece


def _manifest_csv(
    head: dict[str, Any],
    files: list[_File],
    documents: list[dict[str, Any]],
    campaigns: Counter[str],
    presort: Counter[str],
    totals: dict[str, int],
) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=MANIFEST_CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    common = {"job_id": head["job_id"], "kind": head["kind"], "wave_date": head["wave_date"]}
    for f in files:
        writer.writerow(
            {**common, "record": "file", "name": f.name, "campaign": "+".join(sorted(f.campaigns)),
             "sha256": f.sha256, "bytes": f.bytes, "pieces": f.pieces, "pages": f.pages, "sheets": f.sheets,
             "first_piece": f.first_piece, "last_piece": f.last_piece}
        )  # fmt: skip
    for doc in documents:
        writer.writerow({**common, "record": "document", "name": doc["name"], "sha256": doc["sha256"],
                         "bytes": doc["bytes"]})  # fmt: skip
    for campaign, pieces in sorted(campaigns.items()):
        writer.writerow({**common, "record": "campaign", "campaign": campaign, "pieces": pieces})
    for zone, pieces in sorted(presort.items()):
        writer.writerow({**common, "record": "presort", "name": zone, "pieces": pieces})
    writer.writerow(
        {**common, "record": "total", "bytes": totals["bytes"], "pieces": totals["pieces"],
         "pages": totals["pages"], "sheets": totals["sheets"]}
    )  # fmt: skip
    return out.getvalue().encode()


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode()


def read_manifest(job: Path) -> dict[str, Any]:
    """A built job's ``manifest.json``; JobError naming the file if it is missing or not a manifest."""
    path = job / MANIFEST_JSON
    try:
        manifest = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise JobError(f"{job}: not a built print job (no {MANIFEST_JSON})") from None
    except ValueError as exc:
        raise JobError(f"{path}: not JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise JobError(f"{path}: not a print job manifest of format {FORMAT}")
    return manifest


def manifest_checksums(manifest: dict[str, Any]) -> dict[str, str]:
    """Every file a manifest lists (PDFs and documents), with its SHA-256."""
    return {str(f["name"]): str(f["sha256"]) for f in [*manifest["files"], *manifest["documents"]]}


def _count_pages(path: Path, shown: Path) -> int:
    import pypdfium2

    try:
        pdf = pypdfium2.PdfDocument(path)
    except pypdfium2.PdfiumError as exc:
        raise JobError(f"{shown}: not a readable PDF ({exc})") from None
    try:
        return len(pdf)
    finally:
        pdf.close()


def _copy_private(src: Path, dst: Path) -> tuple[str, int]:
    """Copy ``src`` to a new 0600 file ``dst`` (fsynced); return the SHA-256 and size of the bytes copied."""
    digest = hashlib.sha256()
    size = 0
    try:
        with src.open("rb") as fin, os.fdopen(os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fout:
            while chunk := fin.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                fout.write(chunk)
            fout.flush()
            os.fsync(fout.fileno())
    except OSError as exc:
        if exc.errno == errno.ENOSPC:  # the job being built aside is removed by build_job
            raise disk_full(dst, src.stat().st_size) from None
        raise
    return digest.hexdigest(), size


class _StreamedFile:
    """A new 0600 file of the job being built, written in pieces and hashed as it goes (``write`` buffers
    text, ``flush_every`` writes the buffer out once it holds that many writes, ``close`` fsyncs and returns the
    manifest entry: name, SHA-256, bytes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fh = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
        self.digest = hashlib.sha256()
        self.size = 0
        self.buffer: list[str] = []

    def write(self, text: str) -> int:
        self.buffer.append(text)
        return len(text)

    def flush_every(self, writes: int) -> None:
        if len(self.buffer) >= writes:
            self._flush()

    def _flush(self) -> None:
        data = "".join(self.buffer).encode()
        self.buffer.clear()
        self.digest.update(data)
        self.size += len(data)
        try:
            self.fh.write(data)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:  # the job being built aside is removed by build_job
                raise disk_full(self.path, len(data)) from None
            raise

    def close(self) -> dict[str, Any]:
        self._flush()
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        return {"name": self.path.name, "sha256": self.digest.hexdigest(), "bytes": self.size}


_RUN_ROWS = 20_000
"""Rows of the inserter run file held before they are written out."""


def _write_private(path: Path, data: bytes) -> dict[str, Any]:
    """Write a 0600 file (atomically, fsynced); return its manifest entry (name, SHA-256, bytes)."""
    write_private(path, data)
    return {"name": path.name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def _leftover_of(name: str, job_id: str) -> bool:
    """Whether ``name`` in the staging folder is a crashed build or a replaced build of ``job_id``."""
    for prefix in (_BUILDING, ".replaced-"):
        if name.startswith(prefix):
            return name[len(prefix) :].rpartition("-")[0] == job_id
    return False


def _remove_leftovers(staging: Path, job_id: str) -> None:
    for child in staging.iterdir():
        if _leftover_of(child.name, job_id):
            shutil.rmtree(child, ignore_errors=True)


def _swap_into_place(built: Path, final: Path) -> None:
    """Rename ``built`` to ``final``; an earlier build there is moved aside first, then removed."""
    old = None
    if final.exists():
        old = final.with_name(f".replaced-{final.name}-{secrets.token_hex(6)}")
        os.rename(final, old)
    os.rename(built, final)
    _fsync_dir(final.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)

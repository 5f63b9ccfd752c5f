"""A simulated print shop (demo and tests): takes delivered jobs, checks them, "mails" them, reports back.

``simulate`` looks at every job folder of the drop folder (``outbox``) that carries ``READY`` and that it
has not handled yet, in name order, and for each:

1. checks it: ``READY`` must be readable, ``manifest.json``'s SHA-256 must be the one ``READY`` names, and
   every file the manifest lists must be there with its SHA-256 (recomputed), the inserter run file must
   hold one row per piece. Otherwise the job is **refused**: an ``ALERT`` is logged (error level) naming
   each file and both checksums, the refusal is recorded, and nothing of it is confirmed or mailed.
2. "prints and mails" every piece of the inserter run file on the mailing day (``day``, else the job's
   ``handoff_date``): each piece is ``spoiled`` with probability ``spoilage``, else ``mailed``. The print
   shop reports a day's work the next morning: rows ``job_id,piece_id,status,event_date`` go to
   ``print_confirm_<mailing day + 1>.csv`` in ``landing``.
3. lets a ``returns`` share of the mailed pieces come back, 2–7 days after mailing, as ``unknown_address``,
   ``moved`` or ``deceased``: rows ``job_id,piece_id,reason,returned_on`` go to
   ``returns_<returned_on + 1>.csv`` (reported the next morning too; files for days to come are written
   at once).

Landing files follow ``convoc.sources.specs`` (``PRINT_CONFIRM``, ``RETURNS``): UTF-8 CSV with a header.
Rows are merged into a day's file if it exists (one row per job × piece, sorted), written aside and
renamed. Reprint jobs are handled the same way; their rows carry the reprint job id.

Draws come from a hash of (seed, job id, piece id), so results do not depend on which jobs are handled
together. State: ``<outbox>/.printshop/<folder name>.json`` per job version handled (status ``processed``
or ``refused``, ``READY``'s delivery id, counts, files written, problems). A version is never handled
twice; a new delivery into the same folder name (a new ``READY`` delivery id) is handled anew.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

from convoc.errors import ConvocError
from convoc.files import sha256_file
from convoc.files import write_private as _write_atomic
from convoc.handoff.deliver import READY
from convoc.handoff.job import FORMAT, MANIFEST_JSON, RUN_FILE, manifest_checksums
from convoc.sources.specs import PRINT_CONFIRM, RETURNS

STATE_DIR = ".printshop"
REASONS: tuple[tuple[str, float], ...] = (("moved", 0.5), ("unknown_address", 0.35), ("deceased", 0.15))
"""Why mail comes back, and how often, among returned pieces."""
RETURN_DELAY_DAYS = (2, 7)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a job was refused: a file and, for a checksum mismatch, both checksums."""

    file: str
    reason: str
    expected: str | None = None
    found: str | None = None

    def __str__(self) -> str:
        if self.expected is not None:
            return f"{self.file}: {self.reason}: expected SHA-256 {self.expected}, found {self.found}"
        return f"{self.file}: {self.reason}"


@dataclass(frozen=True, slots=True)
class JobReport:
    """One job version the print shop handled in this run."""

    name: str
    job_id: str
    status: Literal["processed", "refused"]
    pieces: int = 0
    mailed: int = 0
    spoiled: int = 0
    returned: int = 0
    mailed_on: date | None = None
    files: tuple[Path, ...] = ()
    problems: tuple[Problem, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "job_id": self.job_id,
            "status": self.status,
            "pieces": self.pieces,
            "mailed": self.mailed,
            "spoiled": self.spoiled,
            "returned": self.returned,
            "mailed_on": self.mailed_on.isoformat() if self.mailed_on else None,
            "files": [str(p) for p in self.files],
            "problems": [
                {"file": p.file, "reason": p.reason, "expected": p.expected, "found": p.found} for p in self.problems
            ],
        }


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """Every job handled in one run (those handled before are not listed)."""

    jobs: tuple[JobReport, ...] = field(default_factory=tuple)

    @property
    def refused(self) -> tuple[JobReport, ...]:
        return tuple(j for j in self.jobs if j.status == "refused")

    @property
    def processed(self) -> tuple[JobReport, ...]:
        return tuple(j for j in self.jobs if j.status == "processed")


def simulate(
    outbox: Path,
    landing: Path,
    *,
    spoilage: float = 0.0,
    returns: float = 0.0,
    seed: int = 42,
    day: date | None = None,
) -> SimulationResult:
    """Handle every ready job of ``outbox`` not handled yet; see the module docstring. Refusals do not
    raise: they are logged as alerts and listed in the result (``SimulationResult.refused``)."""
    for name, rate in (("spoilage", spoilage), ("returns", returns)):
        if not 0 <= rate <= 1:
            raise ValueError(f"{name} rate must lie between 0 and 1, not {rate}")
    state = outbox / STATE_DIR
    folders = (
        sorted(p for p in outbox.iterdir() if p.is_dir() and not p.name.startswith(".")) if outbox.is_dir() else []
    )
    reports = []
    for folder in folders:
        if not (folder / READY).is_file():
            continue
        ready = _read_json(folder / READY)
        delivery = str(ready.get("delivery", "")) if isinstance(ready, dict) else ""
        seen = _read_json(state / f"{folder.name}.json")
        if isinstance(seen, dict) and seen.get("delivery") == delivery:
            continue
        report = _handle(folder, ready, landing, spoilage=spoilage, returns=returns, seed=seed, day=day)
        if report.status == "refused":
            log.error(
                "ALERT print shop refused %s (job %s), nothing printed:\n%s",
                folder,
                report.job_id,
                "\n".join(f"  - {p}" for p in report.problems),
            )
        else:
            log.info(
                "print shop: %s mailed %d, spoiled %d pieces on %s",
                report.job_id,
                report.mailed,
                report.spoiled,
                report.mailed_on,
            )
        _write_atomic(state / f"{folder.name}.json", _json({"delivery": delivery, **report.as_dict()}))
        reports.append(report)
    return SimulationResult(tuple(reports))


def _handle(
    folder: Path, ready: Any, landing: Path, *, spoilage: float, returns: float, seed: int, day: date | None
) -> JobReport:
    manifest, pieces, problems = _check(folder, ready)
    job_id = str(manifest.get("job_id", folder.name)) if manifest else folder.name
    if problems or manifest is None:
        return JobReport(folder.name, job_id, "refused", problems=tuple(problems))
    mailed_on = day or date.fromisoformat(str(manifest.get("handoff_date") or manifest["wave_date"]))
    confirm_rows = []
    returned: dict[date, list[tuple[str, ...]]] = defaultdict(list)
    counts: Counter[str] = Counter()
    for piece in pieces:
        status = "spoiled" if _uniform(seed, job_id, piece, "spoil") < spoilage else "mailed"
        counts[status] += 1
        confirm_rows.append((job_id, str(piece), status, mailed_on.isoformat()))
        if status == "mailed" and _uniform(seed, job_id, piece, "return") < returns:
            low, high = RETURN_DELAY_DAYS
            on = mailed_on + timedelta(days=low + int(_uniform(seed, job_id, piece, "delay") * (high - low + 1)))
            returned[on].append((job_id, str(piece), _reason(_uniform(seed, job_id, piece, "reason")), on.isoformat()))
    reported = mailed_on + timedelta(days=1)
    written = [_merge(landing / PRINT_CONFIRM.file_name(reported), PRINT_CONFIRM.columns, confirm_rows)]
    for on, rows in sorted(returned.items()):
        written.append(_merge(landing / RETURNS.file_name(on + timedelta(days=1)), RETURNS.columns, rows))
    return JobReport(
        folder.name,
        job_id,
        "processed",
        pieces=len(pieces),
        mailed=counts["mailed"],
        spoiled=counts["spoiled"],
        returned=sum(len(rows) for rows in returned.values()),
        mailed_on=mailed_on,
        files=tuple(written),
    )


def _check(folder: Path, ready: Any) -> tuple[dict[str, Any] | None, list[int], list[Problem]]:
    """The job's manifest and pieces (in envelope order), or the problems that refuse it."""
    if not isinstance(ready, dict) or "manifest_sha256" not in ready:
        return None, [], [Problem(READY, "not a READY marker of this print shop's format (JSON with manifest_sha256)")]
    found = _sha256(folder / MANIFEST_JSON)
    if found is None:
        return None, [], [Problem(MANIFEST_JSON, "missing")]
    if found != ready["manifest_sha256"]:
        expected = str(ready["manifest_sha256"])
        return None, [], [Problem(MANIFEST_JSON, "checksum mismatch (against READY)", expected, found)]
    manifest = _read_json(folder / MANIFEST_JSON)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return None, [], [Problem(MANIFEST_JSON, f"not a manifest of format {FORMAT}")]
    problems = []
    for name, expected in manifest_checksums(manifest).items():
        actual = None if "/" in name or name.startswith(".") else _sha256(folder / name)
        if actual is None:
            problems.append(Problem(name, "missing"))
        elif actual != expected:
            problems.append(Problem(name, "checksum mismatch", expected, actual))
    if problems:
        return manifest, [], problems
    with (folder / RUN_FILE).open(encoding="utf-8", newline="") as fh:
        pieces = [int(row["piece_id"]) for row in csv.DictReader(fh)]
    expected_pieces = int(manifest["totals"]["pieces"])
    if len(pieces) != expected_pieces or len(set(pieces)) != len(pieces):
        problems.append(
            Problem(
                RUN_FILE,
                f"{len(pieces)} envelopes ({len(set(pieces))} distinct pieces), manifest says {expected_pieces}",
            )
        )
    return manifest, pieces, problems


def _uniform(seed: int, job_id: str, piece_id: int, what: str) -> float:
    digest = hashlib.blake2b(f"{seed}:{job_id}:{piece_id}:{what}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _reason(u: float) -> str:
    for reason, share in REASONS:
        if u < share:
            return reason
        u -= share
    return REASONS[-1][0]


def _merge(path: Path, columns: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> Path:
    """Add ``rows`` to the landing file ``path`` (one row per job × piece, the new one wins), sorted."""
    merged: dict[tuple[str, str], tuple[str, ...]] = {}
    if path.exists():
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = tuple(next(reader, ()))
            if header != columns:
                raise ConvocError(f"{path}: header {','.join(header)!r}, expected {','.join(columns)!r}; not merged")
            merged.update(((r[0], r[1]), tuple(r)) for r in reader if r)
    merged.update(((r[0], r[1]), r) for r in rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(row for _, row in sorted(merged.items(), key=lambda kv: (kv[0][0], int(kv[0][1]))))
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, out.getvalue().encode())
    return path


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (FileNotFoundError, ValueError):
        return None


def _sha256(path: Path) -> str | None:
    try:
        return sha256_file(path)
    except (FileNotFoundError, IsADirectoryError):
        return None


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode()

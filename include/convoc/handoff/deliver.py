"""Atomic delivery of a built print job into the print shop's drop folder, through any ``Transport``.

What the print shop sees in its drop folder:

- ``<job id>/``: the first delivered version of a job, ``<job id>.v2/``, ``.v3``… later versions whose
  content changed (a delivered version is never overwritten or changed);
- in each, the job's files (``convoc.handoff.job``) and, written last, ``READY``: a job without ``READY``
  is not to be taken. ``READY`` is JSON: job id, folder name, the SHA-256 of the folder's
  ``manifest.json``, file count, and a random delivery id (a new one each time a version is completed);
- ``.partial-<job id>-<random>/``: an upload in progress, or left by a crash: hidden, never a job, removed
  by the next delivery of that job.

``deliver`` uploads the whole job into a partial folder, reads every file back (``Transport.sha256``) and
compares it with the manifest, renames the folder to its name (never replacing anything), then writes
``READY`` aside and renames it into place. A crash at any step leaves no ``READY`` on an incomplete job;
delivering again completes the same version. Delivering a job whose file checksums equal those of a
version already delivered (``READY`` present) changes nothing. A reprint job (``JYYYYMMDD-Rn``) is delivered
at most once with given content: another content under a delivered reprint id is refused (the print shop
would print both). One delivery of a given job at a time.
"""

from __future__ import annotations

import json
import logging
import secrets
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from convoc import faults
from convoc.errors import ConvocError
from convoc.files import sha256_file
from convoc.handoff.job import MANIFEST_JSON, JobError, manifest_checksums, read_manifest
from convoc.handoff.transport import Transport

READY = "READY"
_READY_ASIDE = ".READY.partial"
_PARTIAL = ".partial-"

log = logging.getLogger(__name__)


class DeliveryError(ConvocError):
    """A delivery that did not complete; no ``READY`` was written, delivering again starts over."""


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """A job in the drop folder.

    ``name`` is its folder there (``J20210129``, ``J20210129.v2``); ``status`` is ``delivered`` if this call
    completed it, ``unchanged`` if a version with the same checksums was there already (nothing written).
    ``files`` and ``bytes`` count the job's files (``READY`` aside), ``print_files`` its PDFs.
    """

    job_id: str
    name: str
    status: Literal["delivered", "unchanged"]
    files: int
    bytes: int
    print_files: int
    manifest_sha256: str
    kind: str
    origin_job_id: str
    pieces: int
    pages: int
    sheets: int

    def as_dict(self) -> dict[str, str | int]:
        """JSON-safe form (Airflow XCom)."""
        return {
            "job_id": self.job_id,
            "name": self.name,
            "status": self.status,
            "files": self.files,
            "bytes": self.bytes,
            "print_files": self.print_files,
            "manifest_sha256": self.manifest_sha256,
            "kind": self.kind,
            "origin_job_id": self.origin_job_id,
            "pieces": self.pieces,
            "pages": self.pages,
            "sheets": self.sheets,
        }


def deliver(job: Path, transport: Transport) -> DeliveryResult:
    """Deliver the built job folder ``job`` (named by its job id) through ``transport``; see the module docstring.

    Raises DeliveryError when the local job is incomplete or a file read back differs from the manifest
    (naming the file and both checksums), and lets the transport's errors through (``TransportUnavailable``);
    in every case nothing is marked ``READY`` that is not complete.
    """
    try:
        manifest = read_manifest(job)
    except JobError as exc:
        raise DeliveryError(str(exc)) from None
    job_id = str(manifest["job_id"])
    if job.name != job_id:
        raise DeliveryError(f"{job}: the folder of job {job_id} must be named {job_id}")
    wanted = manifest_checksums(manifest)
    missing = [name for name in wanted if not (job / name).is_file()]
    if missing:
        raise DeliveryError(f"{job}: incomplete job, missing {', '.join(missing)}; build it again")
    local_manifest = sha256_file(job / MANIFEST_JSON)

    entries = transport.listdir("")
    for entry in entries:
        if _is_partial_of(entry, job_id):
            log.info("removing %s, left by an interrupted delivery of %s", entry, job_id)
            transport.remove_tree(entry)
    versions = sorted((v, entry) for entry in entries if (v := _version(entry, job_id)) is not None)

    for _, name in versions:
        remote = _remote_manifest(transport, name)
        if remote is None or manifest_checksums(remote) != wanted:
            continue
        if transport.exists(f"{name}/{READY}"):
            log.info("%s: already delivered as %s with the same checksums; nothing sent", job_id, name)
            return _result(job, manifest, name, "unchanged", transport.sha256(f"{name}/{MANIFEST_JSON}"))
        # Renamed into place, but the delivery stopped before READY: complete it if every file is intact.
        remote_manifest = transport.sha256(f"{name}/{MANIFEST_JSON}")
        if _problems(transport, name, wanted):
            log.warning("%s: %s holds this job without READY but damaged; left as it is", job_id, name)
            continue
        _write_ready(transport, name, job_id, remote_manifest, len(wanted) + 1)
        log.info("%s: completed the interrupted delivery %s", job_id, name)
        return _result(job, manifest, name, "delivered", remote_manifest)

    if manifest.get("kind") == "reprint":
        ready = [name for _, name in versions if transport.exists(f"{name}/{READY}")]
        if ready:
            # A reprint id names a set of pieces: another set under the same id would be printed as well.
            raise DeliveryError(
                f"{job_id}: delivered before as {ready[-1]} with other pieces; a reprint is never delivered "
                "again with other content (its delivery must be recorded first: plan_jobs does it, run "
                "print_handoff again)"
            )
    name = job_id if not versions else f"{job_id}.v{max(v for v, _ in versions) + 1}"
    partial = f"{_PARTIAL}{job_id}-{secrets.token_hex(6)}"
    transport.makedir(partial)
    for file_name in [*wanted, MANIFEST_JSON]:
        transport.put_file(job / file_name, f"{partial}/{file_name}")
        faults.point("handoff.deliver.mid_upload")
    problems = _problems(transport, partial, {**wanted, MANIFEST_JSON: local_manifest})
    if problems:
        with suppress(Exception):
            transport.remove_tree(partial)
        raise DeliveryError(
            f"{job_id}: the files read back from the print shop's drop folder differ from {job / MANIFEST_JSON}; "
            "nothing delivered:\n" + "\n".join(f"  - {p}" for p in problems)
        )
    try:
        transport.rename(partial, name)
    except FileExistsError:
        with suppress(Exception):
            transport.remove_tree(partial)
        raise DeliveryError(
            f"{job_id}: {name} appeared in the drop folder during the delivery; deliver again"
        ) from None
    _write_ready(transport, name, job_id, local_manifest, len(wanted) + 1)
    log.info("%s: delivered as %s", job_id, name)
    return _result(job, manifest, name, "delivered", local_manifest)


def delivered_versions(transport: Transport, job_id: str) -> list[str]:
    """Names of the job's versions in the drop folder that are marked ``READY``, oldest first."""
    versions = sorted((v, e) for e in transport.listdir("") if (v := _version(e, job_id)) is not None)
    return [name for _, name in versions if transport.exists(f"{name}/{READY}")]


def _version(entry: str, job_id: str) -> int | None:
    """1 for ``<job id>``, n for ``<job id>.vn`` (n ≥ 2), None for anything else."""
    if entry == job_id:
        return 1
    rest = entry.removeprefix(f"{job_id}.v")
    if rest != entry and rest.isdigit() and not rest.startswith("0") and int(rest) >= 2:
        return int(rest)
    return None


def _is_partial_of(entry: str, job_id: str) -> bool:
    return entry.startswith(_PARTIAL) and entry[len(_PARTIAL) :].rpartition("-")[0] == job_id


def _remote_manifest(transport: Transport, name: str) -> dict[str, Any] | None:
    try:
        manifest = json.loads(transport.read_bytes(f"{name}/{MANIFEST_JSON}"))
        manifest_checksums(manifest)
    except (FileNotFoundError, ValueError, TypeError, KeyError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _problems(transport: Transport, folder: str, wanted: dict[str, str]) -> list[str]:
    """Files of ``folder`` whose stored SHA-256 is not the expected one (or that are missing)."""
    problems = []
    for file_name, expected in wanted.items():
        try:
            found = transport.sha256(f"{folder}/{file_name}")
        except FileNotFoundError:
            problems.append(f"{file_name}: missing")
            continue
        if found != expected:
            problems.append(f"{file_name}: SHA-256 {found}, expected {expected}")
    return problems


def _write_ready(transport: Transport, name: str, job_id: str, manifest_sha256: str, files: int) -> None:
    """Write ``READY`` last, aside then renamed, so that it is never seen half-written."""
    ready = {
        "job_id": job_id,
        "name": name,
        "manifest_sha256": manifest_sha256,
        "files": files,
        "delivery": secrets.token_hex(8),
    }
    transport.put_bytes((json.dumps(ready, indent=2) + "\n").encode(), f"{name}/{_READY_ASIDE}")
    transport.rename(f"{name}/{_READY_ASIDE}", f"{name}/{READY}")


def _result(
    job: Path, manifest: dict[str, Any], name: str, status: Literal["delivered", "unchanged"], manifest_sha256: str
) -> DeliveryResult:
    names = [*manifest_checksums(manifest), MANIFEST_JSON]
    totals = manifest["totals"]
    return DeliveryResult(
        job_id=str(manifest["job_id"]),
        name=name,
        status=status,
        files=len(names),
        bytes=sum((job / n).stat().st_size for n in names),
        print_files=len(manifest["files"]),
        manifest_sha256=manifest_sha256,
        kind=str(manifest["kind"]),
        origin_job_id=str(manifest["origin_job_id"]),
        pieces=int(totals["pieces"]),
        pages=int(totals["pages"]),
        sheets=int(totals["sheets"]),
    )

"""Named fault points: the steps where the fault-injection test kills the task process, as a lost machine would.

Each stage calls ``point(name)`` at the steps where a crash is the most dangerous — between a warehouse
transaction and a file rename, in the middle of a PDF, of an upload, of a publication. Without the test hook
nothing happens (one environment look-up). With ``CONVOC_FAULT_PLAN`` naming a folder, a point whose name is a
file in that folder (*armed*) renames it to ``<name>.fired`` and sends the process SIGKILL: no clean-up, no
``finally``, exactly like a machine lost. Each armed point fires once; Airflow then fails the task (its process
died) and retries it. ``tests/integration/test_airflow_local_executor.py`` arms every point of ``POINTS`` for a
backfill and proves the result equals an uninterrupted run; the README lists them.

This module reads the environment itself (the one exception to ``convoc.config``): the points sit deep inside
the stages, which have no settings at hand, and the hook must cost nothing when unset.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

PLAN_ENV = "CONVOC_FAULT_PLAN"

POINTS: dict[str, str] = {
    "ingest.extract.after_first_file": "register_ingest.extract_and_validate_files, in the extract's child "
    "process: one landing file parked, the others not",
    "ingest.validate.after_docs": "register_ingest.extract_and_validate_files: the files validated and the Data "
    "Docs written, the verdicts not handed on",
    "ingest.load.after_commit": "register_ingest.load_files: the warehouse committed, the working copies not "
    "yet removed",
    "waves.before_commit": "invitation_waves.plan_waves: the day's wave written, not committed",
    "letters.cut.after_first_batch": "letters_render.cut_batches: one batch file written, the others not",
    "letters.render.mid_pdf": "letters_render.render_batch: half the letters of a batch drawn, the PDF not saved",
    "letters.verify.before_release": "letters_render.verify_batch: the PDF verified, not yet renamed into pdf/",
    "letters.record.before_commit": "letters_render.record_batches: the batches recorded, not committed",
    "notify.send.mid_batch": "notify_digital.send_messages: half the day's e-mails accepted by the server, the "
    "last one's answer not yet in the ledger",
    "handoff.build.mid_job": "print_handoff.build_job: the print files copied, the manifest not written",
    "handoff.deliver.mid_upload": "print_handoff.deliver_job: the first file uploaded, the others not",
    "handoff.deliver.before_receipt": "print_handoff.deliver_job: the job READY at the print shop, its receipt "
    "not written",
    "handoff.record.before_commit": "print_handoff.record_jobs: the deliveries recorded, not committed",
    "stats.marts.before_commit": "dispatch_stats.build_marts: the marts rebuilt, not committed",
    "stats.publish.before_rename": "dispatch_stats.publish: the copy written aside, not renamed into place",
    "report.after_first_report": "dispatch_stats.render_reports: one report written, the others not",
    "stats.shared.before_rename": "dispatch_stats.publish_shared: the shared copy written aside, not renamed",
}
"""Every fault point, by name: the task it is in and the state a kill there leaves."""


def point(name: str) -> None:
    """A named step: if the fault plan arms it, the process is killed here (once)."""
    plan = os.environ.get(PLAN_ENV)
    if not plan:
        return
    if name not in POINTS:
        raise KeyError(f"unknown fault point {name!r}")
    armed = Path(plan) / name
    try:
        os.rename(armed, armed.with_name(f"{name}.fired"))
    except FileNotFoundError:
        return
    os.kill(os.getpid(), signal.SIGKILL)


def arm(plan: Path, names: list[str] | None = None) -> None:
    """Arm ``names`` (default: every point) in the folder ``plan``."""
    plan.mkdir(parents=True, exist_ok=True)
    for name in POINTS if names is None else names:
        (plan / name).touch()


def fired(plan: Path) -> set[str]:
    """The points of ``plan`` that have fired."""
    return {p.name.removesuffix(".fired") for p in plan.glob("*.fired")}

"""The print loop end to end with dag.test(): letters → hand-off → simulated print shop → confirmations and
returns through ingest → a reprint job of exactly the spoiled pieces → the register team's address checks."""

from __future__ import annotations

import csv
import json
import re
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pypdfium2
import pytest
import zxingcpp
from conftest import run_dag

from convoc.cli import main
from convoc.config import Settings
from convoc.letters.render import BOOKING_URL, piece_code
from convoc_dev.printshop import simulate
from convoc_dev.synth import generate

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
START = date(2021, 1, 29)
DAYS = 4
RESIDENTS = 3_000


@pytest.fixture(scope="module")
def dags(dagbag):  # type: ignore[no-untyped-def]
    return [dagbag[d] for d in ("register_ingest", "invitation_waves", "letters_render", "print_handoff")]


def mapped_labels() -> dict[str, list[str]]:
    """The rendered map index (label) of every mapped task instance run so far, by task id."""
    import os
    import sqlite3

    found: dict[str, list[str]] = {}
    with sqlite3.connect(Path(os.environ["AIRFLOW_HOME"]) / "airflow.db") as db:
        query = "select task_id, rendered_map_index from task_instance where map_index >= 0"
        for task, label in db.execute(query).fetchall():
            found.setdefault(task, []).append(label)
    return found


def rows(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_print_loop_with_a_reprint(  # type: ignore[no-untyped-def]
    dags, dagbag, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONVOC_SIGNING_KEY", "s" * 40)
    monkeypatch.setenv("CONVOC_CAPACITY_SCALE", str(RESIDENTS / 634_730))
    generate(residents=RESIDENTS, seed=11, out=settings.landing, start_date=START, days=DAYS)
    outbox = settings.outbox
    for k in range(DAYS):
        day = START + timedelta(days=k)
        for dag in dags:
            if k == 1 and dag.dag_id == "print_handoff":
                second_delivery_fails_then_retried(dag, day, settings, monkeypatch)
            assert run_dag(dag, day) == "success", (dag.dag_id, day)
        simulate(outbox, settings.landing, spoilage=0.03, returns=0.05, seed=3)

    first = f"J{START:%Y%m%d}"
    jobs = dict(rows(settings, "select job_id, kind from core.fct_print_job"))
    # Mapped task instances are named by their batch and job in the UI (map_index_template).
    labels = {task: set(names) for task, names in mapped_labels().items()}
    assert f"{first}-0001" in labels["render_batch"] and f"{first}-0001" in labels["verify_batch"]
    assert first in labels["deliver_job"] and first in labels["build_job"]
    job_label = re.compile(r"J\d{8}(-R\d+)?")
    assert all(job_label.fullmatch(label) for label in labels["build_job"] | labels["deliver_job"])
    assert jobs[first] == "original" and jobs[f"{first}-R1"] == "reprint"
    for job in jobs:
        assert (outbox / job / "READY").is_file()

    # The reprint carries exactly the pieces of the first job the print shop reported spoiled.
    with (settings.landing / f"print_confirm_{START + timedelta(days=1):%Y%m%d}.csv").open() as fh:
        spoiled = sorted(
            int(r["piece_id"]) for r in csv.DictReader(fh) if r["job_id"] == first and r["status"] == "spoiled"
        )
    assert spoiled, "no spoiled piece drawn: raise the spoilage rate"
    run_file = pl.read_csv(outbox / f"{first}-R1" / "inserter_run.csv")
    assert sorted(run_file["piece_id"].to_list()) == spoiled
    manifest = json.loads((outbox / f"{first}-R1" / "manifest.json").read_text())
    assert manifest["kind"] == "reprint" or manifest.get("reprint") is True

    # Same piece ids and booking codes as the first print, under the reprint's job id on the page.
    codes = dict(
        rows(
            settings,
            "select p.piece_id, i.booking_code from core.fct_print_piece p "
            f"join core.fct_invitation i using (invitation_id) where p.job_id = '{first}'",
        )
    )
    [pdf_path] = sorted((outbox / f"{first}-R1").glob("*.pdf"))
    pdf = pypdfium2.PdfDocument(pdf_path)
    assert len(pdf) == len(spoiled)
    for page, piece in zip(pdf, sorted(spoiled), strict=True):
        found = {b.text for b in zxingcpp.read_barcodes(page.render(scale=2).to_pil())}
        assert found == {BOOKING_URL + str(codes[piece]), piece_code(f"{first}-R1", piece)}
    pdf.close()

    # Every piece of the first job is accounted for: mailed once (first print or reprint) or still pending.
    mailed = rows(
        settings,
        f"select piece_id, count(*) from core.fct_print_event where origin_job_id = '{first}' and status = 'mailed' "
        "group by 1 having count(*) > 1",
    )
    assert mailed == []
    [(pieces,)] = rows(settings, f"select count(*) from core.fct_print_piece where job_id = '{first}'")
    [(accounted,)] = rows(
        settings,
        f"select count(distinct piece_id) from core.fct_print_event where origin_job_id = '{first}' "
        "and status = 'mailed'",
    )
    assert accounted >= pieces - len(spoiled)

    # Per job, what the print shop confirmed.
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        status = {r[0]: r for r in con.sql(
            "select job_id, pieces, printed, mailed, spoiled, spoiled_piece_ids "
            "from (" + (Path(__file__).parents[2] / "sql/intermediate/int_print__job_status.sql").read_text() + ")"
        ).fetchall()}  # fmt: skip
    assert status[first][1:] == (pieces, pieces, pieces - len(spoiled), len(spoiled), spoiled)
    capsys.readouterr()
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert f"{first}-R1" in out and "reprint" in out and "address checks" in out

    # Returned letters flag their invitations and reach the address-check list of the day they were loaded.
    returned = rows(settings, "select count(*) from core.dim_invitation_current where return_reason is not null")[0][0]
    listed = sum(
        len(p.read_text().splitlines()) - 1 for p in (settings.reports / "address_check").glob("address_check_*.csv")
    )
    assert returned > 0 and listed == rows(settings, "select count(*) from core.fct_return")[0][0]

    # A day without letters still completes the chain (its asset is published), delivering nothing.
    quiet = START + timedelta(days=DAYS)  # no register loaded, no wave planned
    assert run_dag(dags[2], quiet) == "success" and run_dag(dags[3], quiet) == "success"
    # record_jobs ran on an empty list (export_address_checks, after it, wrote the day's empty list).
    assert (settings.reports / "address_check" / f"address_check_{quiet:%Y%m%d}.csv").read_text() != ""
    assert not (outbox / f"J{quiet:%Y%m%d}").exists()

    # Re-running a day's hand-off delivers nothing new.
    before = sorted(p.name for p in outbox.iterdir())
    assert run_dag(dags[3], START + timedelta(days=1)) == "success"
    assert sorted(p.name for p in outbox.iterdir()) == before

    # The print shop received every piece exactly once: over all READY versions of every job, no piece id
    # twice for the same job, and no reprint delivered in a second version.
    seen: dict[str, list[int]] = {}
    for ready in sorted(outbox.glob("J*/READY")):
        job = ready.parent.name.split(".v")[0]
        assert not (job.count("-R") and ready.parent.name != job), f"reprint {job} delivered twice"
        seen.setdefault(job, []).extend(pl.read_csv(ready.parent / "inserter_run.csv")["piece_id"].to_list())
    assert all(len(ids) == len(set(ids)) for ids in seen.values())
    recorded = dict(rows(settings, "select job_id, pieces from core.fct_print_job"))
    assert {job: len(ids) for job, ids in seen.items()} == recorded

    housekeeping_with_the_clock_moved_forward(dagbag, settings)


def housekeeping_with_the_clock_moved_forward(dagbag, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    """Retention (30 days): nothing goes before its time; a dry run lists and keeps; then a closed job's print
    files and job folders go (manifests kept), open jobs stay, old register data goes but the latest
    partition, and each deletion is in audit.deletion_log."""
    dag = dagbag["housekeeping"]
    closed = dict(rows(settings, (ROOT / "sql/intermediate/int_print__closed_jobs.sql").read_text().replace(
        "select * from final", "select origin_job_id, last_report from final")))  # fmt: skip
    assert closed, "no job fully mailed: the simulated print shop reports every piece the next morning"
    first_report, last_report = min(closed.values()), max(closed.values())
    every_job = {f"J{START + timedelta(days=k):%Y%m%d}" for k in range(DAYS)}

    def files() -> list[str]:
        return sorted(str(p.relative_to(settings.home)) for p in settings.home.rglob("*") if p.is_file())

    def print_files(found: list[str]) -> set[str]:
        return {f for f in found if f.startswith(("print/2", "outbox/J", "work/handoff/"))}

    before = files()
    assert run_dag(dag, first_report + timedelta(days=30)) == "success"  # the day of the first limit: kept
    assert print_files(before) <= set(files())
    later = last_report + timedelta(days=31)
    kept = files()
    assert run_dag(dag, later, dry_run=True) == "success"
    assert set(kept) <= set(files())  # listed in the task log, nothing deleted
    assert rows(settings, f"select count(*) from audit.deletion_log where run_day = '{later}'")[0][0] == 0

    later += timedelta(days=1)  # a run of its own, its params said (dag.test keeps the last run's otherwise)
    assert run_dag(dag, later, dry_run=False) == "success"
    after = files()
    for job in every_job:
        folder = f"print/{job[1:]}/"
        if job in closed and closed[job] < later - timedelta(days=30):
            left = [f for f in after if f.startswith((folder, f"outbox/{job}", f"work/handoff/{job}"))]
            assert not left, job
            assert (settings.audit / "jobs" / job / "manifest.json").is_file()
        else:
            assert [f for f in after if f.startswith(folder)], f"{job} is not closed: its files stay"
    # Register data of the days past the retention: landing files and raw rows gone; the latest day's rows kept
    # (staging.register is a view of them).
    assert not list(settings.landing.glob("register_*.csv"))
    assert rows(settings, "select count(distinct _file) from raw.register")[0][0] == 1
    assert rows(settings, "select count(distinct snapshot_date) from staging.register")[0][0] == 1
    staged = rows(settings, "select count(*) from staging.register")[0][0]
    assert staged == rows(settings, "select count(*) from raw.register")[0][0] >= RESIDENTS * 0.9
    assert rows(settings, "select count(*) from core.dim_resident")[0][0] >= RESIDENTS * 0.9
    logged = dict(rows(settings, "select kind, count(*) from audit.deletion_log group by 1"))
    wanted = {"print_files", "job_folder", "delivered_job", "landing_file", "raw_rows", "staging_partition"}
    assert wanted <= set(logged)
    assert logged["print_files"] == len([j for j in closed if closed[j] < later - timedelta(days=30)])


def second_delivery_fails_then_retried(dag, day: date, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The day's hand-off has two jobs (a reprint and the day's job); the second delivery fails after the
    first is READY. The delivered job is recorded all the same and the run fails naming the other; the next
    run (the caller's) delivers the other and never the delivered one again."""
    import convoc.handoff.deliver as deliver_module
    from convoc.handoff.deliver import DeliveryError

    real = deliver_module.deliver
    calls: list[str] = []

    def deliver(job: Path, transport: object) -> object:
        calls.append(job.name)
        if len(calls) == 2:
            raise DeliveryError(f"{job.name}: the print shop's drop folder is full")
        return real(job, transport)  # type: ignore[arg-type]

    with monkeypatch.context() as patch:
        patch.setattr(deliver_module, "deliver", deliver)
        assert run_dag(dag, day) == "failed"
    reprint, original = f"J{START:%Y%m%d}-R1", f"J{day:%Y%m%d}"
    assert sorted(calls) == sorted([reprint, original])  # in either order: mapped tasks run in any order
    delivered, failed = calls
    assert (settings.outbox / delivered / "READY").is_file() and not (settings.outbox / failed).exists()
    kinds = {reprint: "reprint", original: "original"}
    recorded = rows(settings, f"select job_id, kind from core.fct_print_job where handoff_date = '{day}'")
    assert dict(recorded) == {delivered: kinds[delivered]}

"""Every DAG file loads, follows the house rules, and imports nothing heavy at parse time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAG_FILES = sorted(p for p in (ROOT / "dags").glob("*.py") if not p.name.startswith("_"))
HEAVY = ("polars", "duckdb", "great_expectations", "reportlab", "pandas", "qrcode")


@pytest.fixture(scope="module")
def dagbag():  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_no_import_errors(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}
    assert sorted(dagbag.dags) == sorted(p.stem for p in DAG_FILES)  # one DAG per file, file name = dag_id


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.stem)
def test_house_rules(dagbag, dag_file: Path) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags[dag_file.stem]
    assert dag.tags and "convoc" in dag.tags
    assert dag.doc_md and dag.doc_md.strip().startswith(f"## {dag.dag_id}")
    assert dag.max_active_runs == 1
    for task in dag.tasks:
        assert task.owner == "convoc", task.task_id
        assert task.retries >= 1, task.task_id


def test_register_ingest_structure(dagbag) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags["register_ingest"]
    assert {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks} == {
        "extract_and_validate_files": ["load_files"],
        "load_files": [],
    }
    # Both open the warehouse (the validation reads the previous snapshot's row counts): its single slot.
    assert {t.task_id: t.pool for t in dag.tasks} == {
        "extract_and_validate_files": "warehouse",
        "load_files": "warehouse",
    }
    assert dag.get_task("extract_and_validate_files").retries == 2  # one per fault point in it
    assert [o.uri for o in dag.get_task("load_files").outlets] == ["convoc://warehouse/core/dim_resident"]
    assert set(dag.params.keys()) == {"day", "accept_row_count_change"}


def test_letters_render_structure(dagbag) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags["letters_render"]
    # Nothing is recorded (or handed off) that has not been verified.
    assert {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks} == {
        "cut_batches": ["render_batch"],
        "render_batch": ["verify_batch"],
        "verify_batch": ["record_batches"],
        "record_batches": [],
    }
    assert {t.task_id: t.pool for t in dag.tasks} == {
        "cut_batches": "warehouse",
        "render_batch": "default_pool",
        "verify_batch": "default_pool",
        "record_batches": "warehouse",
    }
    assert {t.task_id for t in dag.tasks if t.is_mapped} == {"render_batch", "verify_batch"}


def test_print_handoff_structure(dagbag) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags["print_handoff"]
    assert {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks} == {
        "plan_jobs": ["build_job", "record_jobs"],
        "build_job": ["deliver_job"],
        "deliver_job": ["record_jobs"],
        "record_jobs": ["export_address_checks"],
        "export_address_checks": [],
    }
    # Building and delivering never hold the warehouse; planning and recording do.
    assert {t.task_id: t.pool for t in dag.tasks} == {
        "plan_jobs": "warehouse",
        "build_job": "default_pool",
        "deliver_job": "default_pool",
        "record_jobs": "warehouse",
        "export_address_checks": "warehouse",
    }
    assert {t.task_id for t in dag.tasks if t.is_mapped} == {"build_job", "deliver_job"}
    assert dag.get_task("deliver_job").retries >= 3  # a dropped connection is worth retrying
    assert [o.uri for o in dag.get_task("record_jobs").outlets] == ["convoc://print/handoff"]
    # A job delivered is recorded even when another delivery of the day failed.
    assert dag.get_task("record_jobs").trigger_rule == "all_done"
    assert dag.timetable.asset_condition.uri == "convoc://print/letters"


def test_dispatch_stats_structure(dagbag) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags["dispatch_stats"]
    # Nothing is published that has not been reconciled.
    assert {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks} == {
        "build_marts": ["reconcile"],
        "reconcile": ["publish"],
        "publish": ["publish_shared", "render_reports"],
        "render_reports": [],
        "publish_shared": [],
    }
    # The report and the shared copy read the published copy, not the warehouse: they hold no slot.
    assert {t.task_id: t.pool for t in dag.tasks} == {
        **dict.fromkeys(("build_marts", "reconcile", "publish"), "warehouse"),
        **dict.fromkeys(("render_reports", "publish_shared"), "default_pool"),
    }
    assert [o.uri for o in dag.get_task("publish").outlets] == ["convoc://warehouse/marts"]
    assert dag.timetable.asset_condition.uri == "convoc://print/handoff"
    assert set(dag.params.keys()) == {"day"}


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.stem)
def test_nothing_heavy_at_parse_time(dag_file: Path) -> None:
    code = (
        "import runpy, sys; runpy.run_path(sys.argv[1]); "
        f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(dag_file)], capture_output=True, text=True, check=True)
    [heavy] = [line for line in out.stdout.splitlines() if line.startswith("HEAVY=")]
    assert heavy == "HEAVY=", f"imported at parse time: {heavy}"


def test_docs_and_comments_speak_of_the_product_not_of_its_tickets() -> None:
    import re

    ticket = re.compile(r"\b(issue|ticket)s? #?\d+", re.IGNORECASE)
    files = [*(ROOT / "dags").glob("*.py"), *(ROOT / "include").rglob("*.py"), *(ROOT / "sql").rglob("*.sql")]
    assert [str(p.relative_to(ROOT)) for p in files if ticket.search(p.read_text(encoding="utf-8"))] == []


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.stem)
def test_every_dag_takes_the_shared_defaults(dagbag, dag_file: Path) -> None:  # type: ignore[no-untyped-def]
    from convoc_airflow.defaults import DEFAULT_ARGS, START

    dag = dagbag.dags[dag_file.stem]
    assert (dag.start_date, dag.catchup, dag.max_active_runs) == (START, False, 1)
    assert {k: dag.default_args[k] for k in DEFAULT_ARGS} == DEFAULT_ARGS
    assert "day" in dag.params


def test_every_task_that_opens_the_warehouse_runs_on_its_host(dagbag) -> None:  # type: ignore[no-untyped-def]
    # The warehouse is a DuckDB file on the local disk of one machine: every task holding the one-slot pool,
    # and every task reading the published copy beside it, goes to the queue only that machine's worker serves.
    # Everything else (extract, render, verify, build, deliver) runs on any worker and exchanges files only.
    import inspect

    from convoc_airflow.defaults import WAREHOUSE_QUEUE

    on_host = set()
    for dag in dagbag.dags.values():
        for t in dag.tasks:
            source = inspect.getsource(t.python_callable) if hasattr(t, "python_callable") else ""
            opens = t.pool == "warehouse" or 'stage(warehouse="' in source
            assert (t.queue == WAREHOUSE_QUEUE) == opens, f"{dag.dag_id}.{t.task_id}: queue {t.queue}"
            if t.pool == "warehouse" or 'stage(warehouse="write")' in source or 'stage(warehouse="read")' in source:
                assert t.pool == "warehouse", f"{dag.dag_id}.{t.task_id} opens the warehouse outside its pool"
            if opens:
                on_host.add(f"{dag.dag_id}.{t.task_id}")
    assert WAREHOUSE_QUEUE == "warehouse"
    assert {"letters_render.render_batch", "print_handoff.deliver_job"}.isdisjoint(on_host)
    assert {"dispatch_stats.render_reports", "register_ingest.load_files"} <= on_host


def test_housekeeping_waits_for_an_operator(dagbag) -> None:  # type: ignore[no-untyped-def]
    # Deleting is for good: created paused whatever dags_are_paused_at_creation says; the chain DAGs are not.
    from convoc.deploy import CHAIN_DAGS

    assert dagbag.dags["housekeeping"].is_paused_upon_creation is True
    assert all(dagbag.dags[d].is_paused_upon_creation is not True for d in CHAIN_DAGS)
    assert "housekeeping" not in CHAIN_DAGS


def test_every_task_is_bounded_and_every_mapped_task_named(dagbag) -> None:  # type: ignore[no-untyped-def]
    # A hung upload or render frees its worker (and the one-slot pool): every task has a time limit from the
    # one defaults module; a mapped task instance shows its batch or job in the UI, not a bare index.
    from convoc_airflow.defaults import LIMITS, MAP_LABEL

    allowed = {*LIMITS.values()}
    for dag in dagbag.dags.values():
        for t in dag.tasks:
            assert t.execution_timeout in allowed, f"{dag.dag_id}.{t.task_id}: {t.execution_timeout}"
            if t.is_mapped:
                assert t.partial_kwargs.get("map_index_template") == MAP_LABEL, f"{dag.dag_id}.{t.task_id}"
    assert dagbag.dags["print_handoff"].get_task("deliver_job").execution_timeout == LIMITS["deliver"]

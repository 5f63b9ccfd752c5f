"""The chain on a real scheduler: LocalExecutor, PostgreSQL metadata database, `airflow backfill create`.

A backfill of the first DAG over three days runs every chain DAG once per day (partition key), and the
warehouse it leaves equals, table by table, the one `dag.test()` leaves running the same days one by one —
with every fault point of `convoc.faults.POINTS` armed: each task process reaching one is killed (SIGKILL)
there once, Airflow fails the task and retries it, and the warehouse, the released PDFs, the delivered print
jobs and the published copies still equal the uninterrupted reference. Then the control room, in a real
browser: logged in, the Campaigns page shows every chain DAG's run of each day as a success and the day's figures
(``CONVOC_SCREENSHOT_DIR=docs`` writes the README's screenshot, ``docs/control-room.png``).
"""

from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow_stack import (  # noqa: F401 (population, reference: fixtures)
    PARTITION_KEYS,
    PG_HOST,
    PG_PORT,
    Stack,
    assert_same_published,
    assert_same_warehouse,
    open_stack,
    population,
    reference,
    report,
    require_service,
)
from browser import campaigns, require_chromium

from convoc import faults
from convoc.deploy import CHAIN_DAGS

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def fault_plan(tmp_path: Path) -> Path:
    plan = tmp_path / "faults"
    faults.arm(plan)
    return plan


@pytest.fixture
def local_stack(tmp_path: Path, population: Path, fault_plan: Path) -> Iterator[Stack]:  # noqa: F811
    extra = {faults.PLAN_ENV: str(fault_plan), "AIRFLOW__CONVOC__RETRY_DELAY_SECONDS": "1"}
    with open_stack(tmp_path, population, "LocalExecutor", extra) as stack:
        yield stack


@pytest.fixture(scope="session", autouse=True)
def _services() -> None:
    require_service("PostgreSQL", PG_HOST, PG_PORT)
    require_chromium()


@pytest.mark.timeout(900)
def test_backfill_through_the_chain_equals_running_day_by_day(
    local_stack: Stack,
    reference: Path,  # noqa: F811
    fault_plan: Path,
    tmp_path: Path,
) -> None:
    began = time.monotonic()
    local_stack.backfill(CHAIN_DAGS[0], PARTITION_KEYS)
    runs = local_stack.wait_for_chain(PARTITION_KEYS)
    report(f"LocalExecutor: {len(runs)} runs of {len(CHAIN_DAGS)} DAGs in {time.monotonic() - began:.0f} s")

    # one run per DAG and day, nothing run twice
    assert {key: states for key, states in runs.items() if states != ["success"]} == {}
    renders = local_stack.task_instances("letters_render", "render_batch")
    assert {r["partition_key"] for r in renders} == set(PARTITION_KEYS)
    assert all(r["state"] == "success" for r in renders)

    # Every fault point fired once, and each killed task succeeded on its retry.
    assert faults.fired(fault_plan) == set(faults.POINTS), (
        f"never reached: {set(faults.POINTS) - faults.fired(fault_plan)}"
    )
    retried = local_stack.sql("select count(*) from task_instance where try_number > 1 and state = 'success'")[0][0]
    report(f"{len(faults.POINTS)} fault points fired; {retried} task instances succeeded on a retry")
    # two points share deliver_job, two extract_and_validate_files
    assert retried >= len(faults.POINTS) - 2
    assert_same_warehouse(local_stack.convoc_home, reference)
    assert_same_published(local_stack.convoc_home, reference)

    # Task logs (a traceback may quote what a task read) are owner-only: 0600 files in 0700 folders.
    logs = local_stack.airflow.home / "logs"
    task_logs = [p for p in logs.rglob("*") if any(part.startswith("dag_id=") for part in p.relative_to(logs).parts)]
    assert sum(p.is_file() for p in task_logs) >= len(PARTITION_KEYS) * len(CHAIN_DAGS)
    loose = [
        (str(p.relative_to(logs)), oct(stat.S_IMODE(p.stat().st_mode)))
        for p in task_logs
        if stat.S_IMODE(p.stat().st_mode) != (0o700 if p.is_dir() else 0o600)
    ]
    assert loose == []

    # The control room in a real browser (Chromium): logged in, Campaigns shows each day's chain and figures.
    shot = Path(os.environ.get("CONVOC_SCREENSHOT_DIR") or tmp_path) / "control-room.png"
    rows = campaigns(local_stack.base_url, local_stack.airflow.home, shot)
    for key in PARTITION_KEYS:
        cells = rows[key]
        stages = len(CHAIN_DAGS)
        assert cells[1 : 1 + stages] == ["success"] * stages, (key, cells)
        loaded, planned, verified, rejected = (int(re.sub(r"\D", "", cells[stages + i]) or 0) for i in (1, 3, 5, 6))
        assert loaded > 0 and planned > 0 and verified > 0 and rejected == 0, (key, cells)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    report(f"control room read in Chromium; screenshot {shot}")

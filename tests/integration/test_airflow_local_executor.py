"""The chain on a real scheduler: LocalExecutor, PostgreSQL metadata database, `airflow backfill create`.

A backfill of the first DAG over five days runs every chain DAG once per day (partition key), and the
warehouse it leaves equals, table by table, the one `dag.test()` leaves running the same days one by one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow_stack import (  # noqa: F401 (population, reference: fixtures)
    PARTITION_KEYS,
    PG_HOST,
    PG_PORT,
    Stack,
    assert_same_warehouse,
    open_stack,
    population,
    reference,
    report,
    require_service,
)

from convoc.deploy import CHAIN_DAGS

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def local_stack(tmp_path: Path, population: Path) -> Iterator[Stack]:  # noqa: F811
    with open_stack(tmp_path, population, "LocalExecutor") as stack:
        yield stack


@pytest.fixture(scope="session", autouse=True)
def _services() -> None:
    require_service("PostgreSQL", PG_HOST, PG_PORT)


@pytest.mark.timeout(900)
def test_backfill_through_the_chain_equals_running_day_by_day(local_stack: Stack, reference: Path) -> None:  # noqa: F811
    began = time.monotonic()
    local_stack.backfill(CHAIN_DAGS[0], PARTITION_KEYS)
    runs = local_stack.wait_for_chain(PARTITION_KEYS)
    report(f"LocalExecutor: {len(runs)} runs of {len(CHAIN_DAGS)} DAGs in {time.monotonic() - began:.0f} s")

    # one run per DAG and day, nothing run twice
    assert {key: states for key, states in runs.items() if states != ["success"]} == {}
    renders = local_stack.task_instances("letters_render", "render_batch")
    assert {r["partition_key"] for r in renders} == set(PARTITION_KEYS)
    assert all(r["state"] == "success" for r in renders)
    assert_same_warehouse(local_stack.convoc_home, reference)

"""The chain on CeleryExecutor: Redis broker, PostgreSQL metadata database and result backend, two workers.

One stack for the module: api-server, scheduler, dag-processor and two Celery workers, every one a process
of its own started and stopped by PID. Each worker runs one task at a time: a busy worker takes no message,
so tasks queued together go to different workers (with two at a time, one worker was seen taking 6 of 7
render tasks). The backfill of the first DAG over three days runs the whole chain once per day;

- the warehouse, the released PDFs and the delivered print jobs equal the `dag.test()` reference (the one
  the LocalExecutor test compares with), and the mapped render tasks ran on the default queue's workers
  (their task instances' hostnames), while every task that opens the warehouse ran on its own queue, served by worker-1
  only (the machine holding the DuckDB file on local disk, as in docker-compose.yaml);
- a re-run of one day's letters with both workers idle: the day's batches, queued together, start one on
  each worker; the worker rendering one is killed in the middle of its task (every process of its session
  SIGKILLed, as when a machine is lost): the scheduler finds the task instance without heartbeat after
  `[scheduler] task_instance_heartbeat_timeout` (20 s here, 300 s by default), has it failed and, retries
  left, put up for retry (the DAG's retries=1; `[convoc] retry_delay_seconds` 5 s here, 60 by default); try 2
  runs on another worker, and the day's released PDFs hold every letter of the day exactly once.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from airflow_stack import (  # noqa: F401 (population, reference: fixtures)
    PARTITION_KEYS,
    PG_HOST,
    PG_PORT,
    REDIS_HOST,
    REDIS_PORT,
    Stack,
    assert_same_warehouse,
    hostname_of,
    open_stack,
    population,
    reference,
    report,
    require_service,
    worker_environment,
)

from convoc.deploy import CHAIN_DAGS

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HEARTBEAT_TIMEOUT = 20
RETRY_DELAY = 5
PIECE_CODE = re.compile(r"(J\d{8})\|(\d+)\|(\d+)/(\d+)")


@pytest.fixture(scope="session", autouse=True)
def _services() -> None:
    require_service("PostgreSQL", PG_HOST, PG_PORT)
    require_service("Redis", REDIS_HOST, REDIS_PORT)


def start_worker(stack: Stack, name: str, queue: str) -> None:
    stack.start(
        name,
        *("celery", "worker", "--celery-hostname", f"{name}@%h", "--concurrency", "1", "--queues", queue),
        *("--skip-serve-logs", "--without-gossip", "--without-mingle"),
        env=worker_environment(name),
    )


@pytest.fixture(scope="module")
def celery_chain(tmp_path_factory: pytest.TempPathFactory, population: Path) -> Iterator[Stack]:  # noqa: F811
    """The stack with two workers, after a backfill of the first DAG ran the chain for every day."""
    import redis

    queue = f"convoc-it-{secrets.token_hex(4)}"
    extra = {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/0",
        # every key this stack makes in Redis carries its prefix (and is deleted at the end)
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX": f"{queue}:",
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
        # as in the compose file: the warehouse's tasks on a queue of their own, served by worker-1 only
        "AIRFLOW__CONVOC__WAREHOUSE_QUEUE": f"{queue}-warehouse",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
        # the retry of the lost task waits 5 s, not the product's minute (a minute of the suite for nothing)
        "AIRFLOW__CONVOC__RETRY_DELAY_SECONDS": str(RETRY_DELAY),
    }
    try:
        with open_stack(tmp_path_factory.mktemp("celery"), population, "CeleryExecutor", extra) as stack:
            start_worker(stack, "worker-1", f"{queue},{queue}-warehouse")  # the machine holding the warehouse
            start_worker(stack, "worker-2", queue)
            began = time.monotonic()
            stack.backfill(CHAIN_DAGS[0], PARTITION_KEYS)
            stack.wait_for_chain(PARTITION_KEYS)
            report(f"CeleryExecutor: the chain for {len(PARTITION_KEYS)} days in {time.monotonic() - began:.0f} s")
            yield stack
    finally:
        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=0)
        for key in client.scan_iter(f"{queue}:*"):
            client.delete(key)


@pytest.mark.timeout(900)
def test_backfill_on_two_celery_workers_equals_running_day_by_day(celery_chain: Stack, reference: Path) -> None:  # noqa: F811
    runs = celery_chain.runs(CHAIN_DAGS, PARTITION_KEYS)
    assert {key: states for key, states in runs.items() if states != ["success"]} == {}
    assert len(runs) == len(CHAIN_DAGS) * len(PARTITION_KEYS)

    renders = celery_chain.task_instances("letters_render", "render_batch")
    verifies = celery_chain.task_instances("letters_render", "verify_batch")
    spread = Counter(r["hostname"] for r in renders)
    report(f"render tasks per worker: {dict(spread)}; verify tasks: {dict(Counter(r['hostname'] for r in verifies))}")
    assert {r["partition_key"] for r in renders} == set(PARTITION_KEYS)
    # the mapped work ran on the workers of the default queue; how it spreads over them in a backfill depends on
    # timing (worker-1 also serves the warehouse's queue and, busy there, leaves every batch to worker-2: seen once),
    # so that both take batches is shown where it does not: two idle workers in test_worker_killed_during_a_render_task
    assert set(spread) | {r["hostname"] for r in verifies} <= {hostname_of("worker-1"), hostname_of("worker-2")}
    # Every task that opened the warehouse ran on its queue, on worker-1 alone; the others never did.
    queue = celery_chain.airflow.env["AIRFLOW__CONVOC__WAREHOUSE_QUEUE"]
    placed = celery_chain.sql(
        "select distinct pool, queue, hostname from task_instance where state = 'success' and pool = 'warehouse'"
    )
    assert placed and {(q, h) for _, q, h in placed} == {(queue, hostname_of("worker-1"))}
    assert not celery_chain.sql("select 1 from task_instance where queue = %s and pool != 'warehouse' "
                                "and task_id not in ('render_reports', 'publish_shared')", [queue])  # fmt: skip
    assert_same_warehouse(celery_chain.convoc_home, reference)


@pytest.mark.timeout(900)
def test_worker_killed_during_a_render_task(celery_chain: Stack, reference: Path) -> None:  # noqa: F811
    """Re-run a day's letters (manual run), kill the worker rendering a batch, and check the print job."""
    key, run_id = PARTITION_KEYS[0], f"kill-{secrets.token_hex(3)}"
    day = date.fromisoformat(key)
    workers = {hostname_of(w): w for w in celery_chain.components if w.startswith("worker-")}
    celery_chain.airflow.cli(
        "dags", "trigger", "letters_render", "--run-id", run_id, "--conf", json.dumps({"day": key})
    )

    began = time.monotonic()
    killed: tuple[str, int] | None = None
    while killed is None:
        assert time.monotonic() - began < 240, f"no render task ran\n{celery_chain.diagnostics()}"
        for map_index, hostname in celery_chain.sql(
            "select map_index, hostname from task_instance where dag_id = 'letters_render' and run_id = %s"
            " and task_id = 'render_batch' and state = 'running' and try_number = 1 and hostname is not null",
            [run_id],
        ):
            # Freeze the worker, let a report already sent land, make sure the task has not finished, kill.
            frozen = celery_chain.freeze(workers[hostname])
            time.sleep(0.5)
            [(state,)] = celery_chain.sql(
                "select state from task_instance where dag_id = 'letters_render' and run_id = %s"
                " and task_id = 'render_batch' and map_index = %s",
                [run_id, map_index],
            )
            if state != "running":
                celery_chain.thaw(frozen)
                continue
            celery_chain.kill(workers[hostname])
            killed = (workers[hostname], map_index)
            break
        else:
            time.sleep(0.05)
    worker, map_index = killed
    report(f"killed {worker} while it rendered batch {map_index} of {day}")
    # a machine takes the lost worker's place: the same queues (the warehouse's too, if it was worker-1)
    queues = celery_chain.airflow.env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"]
    if worker == "worker-1":
        queues += "," + celery_chain.airflow.env["AIRFLOW__CONVOC__WAREHOUSE_QUEUE"]
    start_worker(celery_chain, "worker-3", queues)

    assert celery_chain.wait_for_run("letters_render", run_id, timeout=400) == "success", celery_chain.diagnostics()
    report(f"the run ended {time.monotonic() - began:.0f} s after the trigger")
    # whatever the re-run set off downstream (its asset event carries no partition key) ends too, and well
    followers = celery_chain.sql(
        "select dag_id, run_id from dag_run where dag_id = any(%s) and run_id != %s"
        " and created_at > (select created_at from dag_run where run_id = %s)",
        [list(CHAIN_DAGS), run_id, run_id],
    )
    states = {f"{dag_id} {rid}": celery_chain.wait_for_run(dag_id, rid) for dag_id, rid in followers}
    report(f"runs the re-run set off: {states or 'none'}")
    assert all(state == "success" for state in states.values()), celery_chain.diagnostics()

    [retried] = [
        t for t in celery_chain.task_instances("letters_render", "render_batch", run_id) if t["map_index"] == map_index
    ]
    assert (retried["state"], retried["try_number"]) == ("success", 2)
    assert retried["hostname"] != hostname_of(worker)
    [(first_state, first_host)] = celery_chain.sql(
        "select state, hostname from task_instance_history where dag_id = 'letters_render' and run_id = %s"
        " and task_id = 'render_batch' and map_index = %s and try_number = 1",
        [run_id, map_index],
    )
    report(f"batch {map_index}: try 1 on {first_host} ended {first_state}; try 2 on {retried['hostname']}")
    assert first_host == hostname_of(worker) and first_state != "success"
    # Both workers were idle when the day's batches were queued together: each took one (a worker runs one task at
    # a time and takes no message while busy), so the first tries of the batches ran on both (and on worker-3,
    # started after the kill, for batches still queued then).
    first_tries = {
        t["map_index"]: t["hostname"]
        for t in celery_chain.task_instances("letters_render", "render_batch", run_id)
        if t["try_number"] == 1
    } | {map_index: first_host}
    report(f"first tries of the re-run's batches: {first_tries}")
    assert {hostname_of("worker-1"), hostname_of("worker-2")} <= set(first_tries.values())

    # The day's print job: every letter of the day exactly once in the released PDFs and in the records.
    import duckdb
    import pypdfium2

    home = celery_chain.convoc_home
    with duckdb.connect(str(home / "warehouse" / "convoc.duckdb"), read_only=True) as con:
        # the day's letters: every invitation but those by e-mail only (the stack's mail server accepts every
        # e-mail, so no letter replaces one)
        invitations = con.execute(
            "select piece_id, booking_code from core.dim_invitation_current where wave_date = $d "
            "and channel <> 'email' order by piece_id",
            {"d": day},
        ).fetchall()
        [(pieces, pages)] = con.execute(
            "select sum(pieces), sum(pages) from core.fct_print_batch where wave_date = $d", {"d": day}
        ).fetchall()
    folder = home / "print" / f"{day:%Y%m%d}"
    printed: list[int] = []  # each piece's first page (a large-print letter has more)
    codes: dict[int, set[str]] = {}  # the booking codes printed on each piece's pages
    page_count = 0
    for pdf_path in sorted((folder / "pdf").glob("*.pdf")):
        pdf = pypdfium2.PdfDocument(pdf_path)
        for page in pdf:
            page_count += 1
            text = page.get_textpage().get_text_range()
            [(_, piece, k, _)] = PIECE_CODE.findall(text)
            if k == "1":
                printed.append(int(piece))
            codes.setdefault(int(piece), set()).update(code for (_, code) in invitations if code in text)
        pdf.close()
    assert invitations and pieces == len(invitations) and pages == page_count >= pieces
    assert sorted(printed) == [piece for piece, _ in invitations]  # none missing, none twice
    assert codes == {piece: {code} for piece, code in invitations}  # each piece its own code, no other
    assert list((folder / "rendered").iterdir()) == [] and not (folder / "rejected").exists()
    # and the re-run changed nothing: the warehouse and the PDFs still equal the reference
    assert_same_warehouse(home, reference)

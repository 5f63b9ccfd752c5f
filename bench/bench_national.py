"""Benchmark: a national mailing — every resident one letter in one day — on the real scheduler.

    .venv/bin/python bench/bench_national.py [--residents 650000] [--batch-size N] [--duckdb-memory SIZE]
                                             [--email-rate N] [--parallelism N] [--no-dags-test] [--celery N]
                                             [--keep DIR]

A generated register of ``--residents`` people (one day, 2021-06-01) and a campaign folder
(``CONVOC_CAMPAIGNS``) holding one campaign, ``national``: kind ``mailing``, one letter per resident of any
age; the print shop's capacity lifted (``CONVOC_PRINT_SHOP``: 10 million pieces). Then, as deployed by
``make airflow-up`` but on a database of its own: PostgreSQL metadata, LocalExecutor (parallelism 4), an
api-server, a scheduler and a dag-processor started and stopped by PID, print batches of the product's
size (5,000). Timed: from ``airflow backfill create --dag-id register_ingest`` for the day to the success of
``dispatch_stats``, and to the end of every chain DAG's run of the day (``notify_digital``'s e-mails go on beside
the letters and the hand-off, to ``RelayStandIn``, the cheapest SMTP peer that answers as a relay does: the relay is
another machine's CPU; ``dispatch_stats`` follows the hand-off, not them). Read from Airflow's metadata:
each DAG run's wall time and its tasks' summed duration; the scheduler's own overhead (the time inside the chain's
span when no task of it was running); from the task logs (``convoc: peak memory N MiB, CPU S s``), the largest task's
peak memory — every task's, largest first (DuckDB's tasks are bounded by ``CONVOC_DUCKDB_MEMORY``, the product's
512 MB unless ``--duckdb-memory`` says otherwise; runs before 2026-12-02 set 1 GB) — and the CPU the tasks' own
processes used, per task; beside it the machine's CPU over the same span (``/proc/stat``), this process's (the
mail relay's stand-in) and each Airflow component's (scheduler — under the LocalExecutor with its workers and each
task's supervisor —, api-server, dag-processor): what is left is PostgreSQL's and the kernel's. The dag-processor
parses the DAG files again every 10 minutes, as ``docker-compose.yaml`` deploys it (Airflow's default: 30 s).

With ``--celery N``: the CeleryExecutor and N workers of concurrency 2 on this machine (Redis broker, the
warehouse's tasks on worker-1's queue as in docker-compose.yaml), and which worker ran each render and verify
task. For comparison, in the same run: the same day with ``airflow dags test`` for each chain DAG in turn (SQLite
metadata, every task in one process, mapped tasks one after the other), on a fresh copy of the landing files.

Target: the whole day ≤ 5 minutes on 2 cores at 650,000 residents.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.integration.airflow_stack: the integration tests' Airflow stack

DAY = date(2021, 6, 1)
KEY = f"{DAY:%Y-%m-%d}"
SEED = 21
NATIONAL = f"""\
# One letter to every resident, any age: the national mailing of bench/bench_national.py.
campaign: national
kind: mailing
title: {{fr: Lettre à tous les résidents, de: Brief an alle Einwohner, en: Letter to every resident,
         pt: Carta a todos os residentes}}
active_from: {DAY}
active_until: {DAY}
min_age: 0
validity_days: 45
code_suffix: N
"""
LIFTED = "pieces_per_day: 10000000\nworking_days: [mon, tue, wed, thu, fri, sat, sun]\n"


def campaign_folder(root: Path) -> tuple[Path, Path]:
    """The campaign folder and the print shop file of the run."""
    from convoc.letters.render import TEMPLATES_DIR

    folder = root / "campaigns"
    (folder / "templates").mkdir(parents=True)
    (folder / "national.yaml").write_text(NATIONAL)
    shutil.copytree(TEMPLATES_DIR / "information", folder / "templates" / "national")
    shop = root / "print_shop.yaml"
    shop.write_text(LIFTED)
    return folder, shop


def _seconds(a: datetime | None, b: datetime | None) -> float:
    return (b - a).total_seconds() if a and b else 0.0


def _union(intervals: list[tuple[datetime, datetime]]) -> float:
    """Seconds covered by at least one interval."""
    total, end = 0.0, None
    for a, b in sorted(intervals):
        if end is None or a > end:
            total += _seconds(a, b)
            end = b
        elif b > end:
            total += _seconds(end, b)
            end = b
    return total


def task_usage(logs: Path) -> tuple[dict[str, float], dict[str, float]]:
    """Per task (mapped tasks together): the largest ``convoc: peak memory`` its instances logged (MiB), largest
    first, and the CPU seconds they logged, summed, largest first (logs of tasks before 2026-12-07: no CPU)."""
    peaks: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for log in logs.rglob("*.log"):
        found = re.findall(r"convoc: peak memory (\d+) MiB(?:, CPU (\d+\.\d+) s)?", log.read_text(errors="replace"))
        if found:
            parts = dict(p.split("=", 1) for p in log.relative_to(logs).parts if "=" in p)
            task = f"{parts.get('dag_id')}.{parts.get('task_id')}"
            peaks[task] = max(peaks.get(task, 0.0), *(float(mib) for mib, _ in found))
            cpu[task] = cpu.get(task, 0.0) + sum(float(spent or 0) for _, spent in found)
    return (
        dict(sorted(peaks.items(), key=lambda kv: -kv[1])),
        dict(sorted(cpu.items(), key=lambda kv: -kv[1])),
    )


def machine_cpu() -> float:
    """CPU seconds the whole machine has spent busy since boot (``/proc/stat``: every state but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")  # user … steal; guest time is inside user


@dataclass(frozen=True)
class Stage:
    """One chain DAG's run, from Airflow's metadata."""

    wall: float
    tasks: float
    task_count: int
    largest: tuple[Any, ...] | None  # (dag_id, task_id, map_index, start, end, duration, hostname)


@dataclass(frozen=True)
class SchedulerRun:
    """The day on the scheduler: seconds from ``backfill create``, per-stage figures, per-task peaks (MiB)."""

    wall: float
    to_stats: float
    span: float
    busy: float
    overhead: float
    stages: dict[str, Stage]
    peaks: dict[str, float]
    task_cpu: dict[str, float]
    machine_cpu: float
    components: dict[str, float]
    home: Path
    spread: dict[tuple[str, str], int]


def on_the_scheduler(tmp: Path, landing: Path, env_extra: dict[str, str], workers: int = 0) -> SchedulerRun:
    """The day on a real scheduler: LocalExecutor, or CeleryExecutor with ``workers`` workers (Redis broker;
    the warehouse's tasks on worker-1's queue, as in docker-compose.yaml)."""
    import secrets

    from convoc.deploy import CHAIN_DAGS
    from tests.integration.airflow_stack import REDIS_HOST, REDIS_PORT, open_stack, worker_environment

    root = tmp / ("celery" if workers else "scheduler")
    queue = f"convoc-bench-{secrets.token_hex(4)}"
    executor = "CeleryExecutor" if workers else "LocalExecutor"
    if workers:
        env_extra = {
            **env_extra,
            "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/0",
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX": f"{queue}:",
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
            "AIRFLOW__CONVOC__WAREHOUSE_QUEUE": f"{queue}-warehouse",
        }
    with open_stack(root, landing, executor, extra_env=env_extra) as stack:
        for k in range(1, workers + 1):
            name = f"worker-{k}"
            stack.start(
                name,
                *("celery", "worker", "--celery-hostname", f"{name}@%h", "--concurrency", "2"),
                *("--queues", f"{queue},{queue}-warehouse" if k == 1 else queue),
                *("--skip-serve-logs", "--without-gossip", "--without-mingle"),
                env=worker_environment(name),
            )
        cpu_before = {name: component_cpu(stack, name) for name in stack.components}
        began, busy_before = time.monotonic(), machine_cpu()
        stack.backfill(CHAIN_DAGS[0], [KEY])
        stack.wait_for_chain([KEY], timeout=3 * 3600)
        wall, busy_cpu = time.monotonic() - began, machine_cpu() - busy_before
        spent = {name: component_cpu(stack, name) - before for name, before in cpu_before.items()}
        runs = stack.sql(
            "select dag_id, run_id, start_date, end_date from dag_run where partition_key = %s and state = 'success'",
            [KEY],
        )
        tasks = stack.sql(
            "select ti.dag_id, ti.task_id, ti.map_index, ti.start_date, ti.end_date, ti.duration, ti.hostname"
            " from task_instance ti join dag_run dr on dr.dag_id = ti.dag_id and dr.run_id = ti.run_id"
            " where dr.partition_key = %s and ti.state = 'success'",
            [KEY],
        )
        logs = stack.airflow.home / "logs"
        peaks, task_cpu = task_usage(logs)
    stages = {}
    for dag_id, _run, start, end in runs:
        mine = [t for t in tasks if t[0] == dag_id]
        stages[dag_id] = Stage(
            wall=_seconds(start, end),
            tasks=sum(float(t[5] or 0) for t in mine),
            task_count=len(mine),
            largest=max(mine, key=lambda t: float(t[5] or 0)) if mine else None,
        )
    first = min(r[2] for r in runs)
    last = max(r[3] for r in runs)
    stats_end = max(r[3] for r in runs if r[0] == "dispatch_stats")
    busy = _union([(t[3], t[4]) for t in tasks if t[3] and t[4]])
    return SchedulerRun(
        wall=wall,
        # dispatch_stats follows the print hand-off, not the e-mails: the chain's last run may end after it
        to_stats=wall - _seconds(stats_end, last),
        span=_seconds(first, last),
        busy=busy,
        overhead=_seconds(first, last) - busy,
        stages=stages,
        peaks=peaks,
        task_cpu=task_cpu,
        machine_cpu=busy_cpu,
        components=spent,
        home=root / "var",
        spread={
            (task, host): sum(1 for t in tasks if t[1] == task and t[6] == host)
            for task in ("render_batch", "verify_batch")
            for host in sorted({str(t[6]) for t in tasks})
        },
    )


def with_dags_test(tmp: Path, landing: Path, env_extra: dict[str, str]) -> dict[str, float]:
    from convoc.deploy import CHAIN_DAGS
    from convoc_dev.airflow_local import clean_environment
    from tests.integration.airflow_stack import SIGNING_KEY, convoc_env

    root = tmp / "dags-test"
    shutil.copytree(landing, root / "var" / "landing")
    env = clean_environment()
    for name in [k for k in env if k.startswith("CONVOC_")]:
        del env[name]
    env.update(
        {
            "AIRFLOW_HOME": str(root / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "CONVOC_HOME": str(root / "var"),
            "CONVOC_SIGNING_KEY": SIGNING_KEY,
            # the same SMTP server standing in for the relay as on the scheduler: notify_digital sends the day's e-mails
            "AIRFLOW_CONN_CONVOC_SMTP": convoc_env(root / "var")["AIRFLOW_CONN_CONVOC_SMTP"],
            **env_extra,
        }
    )
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
    times = {}
    for dag_id in CHAIN_DAGS:
        began = time.monotonic()
        done = subprocess.run([airflow, "dags", "test", dag_id, KEY], env=env, capture_output=True, text=True)
        times[dag_id] = time.monotonic() - began
        if done.returncode != 0 or "state=success" not in (done.stdout + done.stderr).replace(" ", ""):
            tail = (done.stdout + done.stderr)[-3000:]
            raise SystemExit(f"airflow dags test {dag_id} {KEY} failed:\n{tail}")
    return times


def letters_in(home: Path) -> int:
    import duckdb

    with duckdb.connect(str(home / "warehouse" / "convoc.duckdb"), read_only=True) as con:
        row = con.execute("select count(*) from core.fct_print_batch_letter").fetchone()
    return int(row[0]) if row else 0


def component_cpu(stack: Any, name: str) -> float:
    """CPU seconds (user + system) of an Airflow component's session so far: its live processes' own, and what
    the processes they have waited for used (under the LocalExecutor the scheduler's are its executor's workers,
    each task's supervisor and the task's process)."""
    import psutil

    from convoc_dev.airflow_local import session_members

    launched = stack.airflow.launched(name)
    total = 0.0
    for pid in session_members(launched) if launched else []:
        try:
            t = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def _own_cpu() -> float:
    """CPU seconds (user + system) of this process so far, its threads included."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class RelayStandIn:
    """The mail relay's stand-in: an SMTP peer on 127.0.0.1 that accepts every message (``250``) and keeps nothing,
    as cheap as an SMTP server can be in Python, in a thread of this process. A deployment's relay runs on another
    machine; the stand-in shares the bench's two cores with the product, so what it costs is not the product's
    (aiosmtpd, the tests' server, cost ≈ 0.8 ms of CPU a message: 15 % of a 650,000 day's CPU). It offers PIPELINING,
    as production relays do, and counts the messages it accepted."""

    def __init__(self) -> None:
        import asyncio
        import socket
        import threading

        self.accepted = 0
        self._loop = asyncio.new_event_loop()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = int(sock.getsockname()[1])
        stand_in = self

        class Session(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                self.transport, self.buffer, self.in_data = transport, bytearray(), False
                transport.write(b"220 relay stand-in ready\r\n")

            def data_received(self, chunk: bytes) -> None:
                self.buffer += chunk
                replies: list[bytes] = []
                while True:
                    if self.in_data:  # the message ends at CRLF . CRLF (the buffer starts with DATA's CRLF)
                        end = self.buffer.find(b"\r\n.\r\n")
                        if end < 0:
                            break
                        del self.buffer[: end + 5]
                        self.in_data = False
                        stand_in.accepted += 1
                        replies.append(b"250 OK\r\n")
                        continue
                    line_end = self.buffer.find(b"\r\n")
                    if line_end < 0:
                        break
                    verb = bytes(self.buffer[:4]).upper()
                    if verb == b"DATA":  # its line's CRLF stays: an empty message ends at once
                        del self.buffer[:line_end]
                        replies.append(b"354 end with <CRLF>.<CRLF>\r\n")
                        self.in_data = True
                        continue
                    del self.buffer[: line_end + 2]
                    if verb in (b"EHLO", b"HELO"):
                        replies.append(b"250-relay stand-in\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
                    elif verb == b"QUIT":
                        self.transport.write(b"".join(replies) + b"221 bye\r\n")
                        self.transport.close()
                        return
                    else:  # MAIL, RCPT, RSET, NOOP: accepted
                        replies.append(b"250 OK\r\n")
                if replies:
                    self.transport.write(b"".join(replies))

        async def serve() -> None:
            await self._loop.create_server(Session, sock=sock)

        self._loop.run_until_complete(serve())
        threading.Thread(target=self._loop.run_forever, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--residents", type=int, default=650_000)
    parser.add_argument("--no-dags-test", action="store_true", help="skip the airflow dags test comparison")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    parser.add_argument("--batch-size", type=int, default=5000, help="CONVOC_BATCH_SIZE (default: the product's)")
    parser.add_argument("--duckdb-memory", help="CONVOC_DUCKDB_MEMORY (default: the product's, 512MB)")
    parser.add_argument("--parallelism", type=int, default=4,
                        help="Airflow's core parallelism: tasks at once (default 4, the tests' stack)")  # fmt: skip
    parser.add_argument("--email-rate", type=float,
                        help="CONVOC_EMAIL_RATE: what the relay takes a second (default: 500)")  # fmt: skip
    parser.add_argument("--celery", type=int, default=0, metavar="N",
                        help="run on N Celery workers (Redis broker) instead of the LocalExecutor")  # fmt: skip
    args = parser.parse_args()

    from convoc.deploy import CHAIN_DAGS
    from convoc_dev.synth import generate
    from tests.integration.airflow_stack import require_service

    require_service("PostgreSQL", "127.0.0.1", 5432)
    import tests.integration.airflow_stack as stack_module

    relay = RelayStandIn()
    stack_module.mail_server = functools.cache(lambda: relay.port)  # the e-mails of the stack and of dags test
    tmp = args.keep or Path(tempfile.mkdtemp(prefix="convoc-national-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        landing = tmp / "population"
        began = time.monotonic()
        generate(residents=args.residents, seed=SEED, out=landing, start_date=DAY, days=1)
        print(f"register of {args.residents:,} residents in {time.monotonic() - began:.1f} s", flush=True)
        folder, shop = campaign_folder(tmp)
        env_extra = {
            "CONVOC_CAMPAIGNS": str(folder),
            "CONVOC_PRINT_SHOP": str(shop),
            "CONVOC_CAPACITY_SCALE": "1",
            "CONVOC_BATCH_SIZE": str(args.batch_size),
            # as docker-compose.yaml deploys it: the DAG files parsed again every 10 minutes, not every 30 s
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
        }
        if args.duckdb_memory:
            env_extra["CONVOC_DUCKDB_MEMORY"] = args.duckdb_memory
        env_extra["AIRFLOW__CORE__PARALLELISM"] = str(args.parallelism)
        if args.email_rate is not None:
            env_extra["CONVOC_EMAIL_RATE"] = f"{args.email_rate:g}"
        cpu_before = _own_cpu()
        real = on_the_scheduler(tmp, landing, env_extra, args.celery)
        relay_cpu = _own_cpu() - cpu_before
        letters = letters_in(real.home)
        to_stats = real.to_stats
        print(f"\nscheduler: {letters:,} letters, backfill create → dispatch_stats success {to_stats:.0f} s "
              f"({letters / to_stats:.0f} letters/s), → every chain DAG's run done (the e-mails included) "
              f"{real.wall:.0f} s; chain span {real.span:.0f} s, tasks running "
              f"{real.busy:.0f} s, no task running {real.overhead:.0f} s (the scheduler's overhead)")  # fmt: skip
        print(f"this process's CPU during the run: {relay_cpu:.0f} s — the SMTP server that stands in for the mail "
              f"relay (RelayStandIn, a thread of this process: {relay.accepted:,} messages accepted) and the bench's "
              "polling: CPU a deployment's relay spends on another machine")  # fmt: skip
        print("peak memory per task (MiB, largest first): "
              + ", ".join(f"{task} {mib:.0f}" for task, mib in real.peaks.items()))  # fmt: skip
        own = sum(real.task_cpu.values())
        rest = real.machine_cpu - own - relay_cpu
        print(f"CPU from backfill create to the chain's end: the machine {real.machine_cpu:.0f} s of "
              f"{os.cpu_count()} × {real.wall:.0f} s; the tasks' own processes {own:.0f} s ("
              + ", ".join(f"{task} {s:.0f}" for task, s in real.task_cpu.items() if s >= 1)
              + f"); this process (the relay's stand-in) {relay_cpu:.0f} s; the rest — Airflow's scheduler, "
              f"api-server, dag-processor and task supervisors, PostgreSQL — {rest:.0f} s")  # fmt: skip
        parts = dict(real.components)
        # the tasks run below the scheduler (LocalExecutor) or the workers (Celery): their own CPU is counted above
        workers = [name for name in parts if name.startswith("worker-")]
        if workers:
            parts["Celery workers"] = sum(parts.pop(name) for name in workers) - own
        elif "scheduler" in parts:
            parts["scheduler"] -= own
        print("of which, per Airflow component's processes (those that ended and were waited for included; under the "
              "LocalExecutor the scheduler's are its executor's workers and each task's supervisor, the tasks' own "
              "CPU taken out): " + ", ".join(f"{n} {s:.0f} s" for n, s in parts.items())
              + f"; PostgreSQL and the rest {rest - sum(parts.values()):.0f} s")  # fmt: skip
        if args.celery:
            print("render and verify task instances by worker: "
                  + ", ".join(f"{task} on {host}: {n}" for (task, host), n in real.spread.items() if n))  # fmt: skip
        print("\n| DAG | run wall | tasks | task time (sum) | longest task |")
        print("|---|---|---|---|---|")
        for dag_id in CHAIN_DAGS:
            stage = real.stages[dag_id]
            longest = stage.largest
            name = f"{longest[1]}" + (f"[{longest[2]}]" if longest[2] >= 0 else "") if longest else "–"
            print(f"| {dag_id} | {stage.wall:.0f} s | {stage.task_count} | {stage.tasks:.0f} s | "
                  f"{name} {float(longest[5] or 0) if longest else 0:.0f} s |")  # fmt: skip
        if not args.no_dags_test:
            times = with_dags_test(tmp, landing, env_extra)
            total = sum(times.values())
            print(f"\nairflow dags test, one DAG after the other: {total:.0f} s "
                  f"({letters / total:.0f} letters/s): "
                  + ", ".join(f"{d} {t:.0f} s" for d, t in times.items()))  # fmt: skip
        machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        print(f"\nmachine: {machine}; one run: {to_stats:.0f} s to dispatch_stats, {real.wall:.0f} s in all")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Benchmark: register_ingest (extract + validate + load) at full-country size.

    .venv/bin/python bench/bench_ingest.py [--residents 650000] [--repeat 3]

Generates one day of landing files (1 % damaged rows, every damage class of ``convoc generate``) once. Per
repeat, on a fresh warehouse, runs the stage's two tasks as the DAG does: each in a fresh child process
(``extract_and_validate_day`` — which extracts in a child of its own while it imports Great Expectations —, then
``load_day``, handing references on through a JSON file as XCom would), measuring each task's wall time from its
start (interpreter and imports included) to its end — ``os._exit`` once its work is done, as Airflow ends a task's
process, so without the interpreter's teardown (≈ 0.5 s of freeing GX's objects, a cost no Airflow task pays) — and
peak RSS (the largest of the task's processes). Baseline in the same
run: the same register file read with polars and inserted into DuckDB in one child, no validation
(quoting ignored, malformed lines truncated, bad bytes replaced: a reader that checks nothing). Prints a
Markdown table row for bench/RESULTS.md. Target: ≤ 8 s and ≤ 1 GiB at 650,000.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

DAY = date(2021, 1, 29)

TASK = """
import json, sys
from datetime import date
from pathlib import Path
from convoc.config import Settings
from convoc.quality.validate import Verdict
from convoc import ingest
from convoc.sources.extract import Extracted
task, day, xcom = sys.argv[1], date.fromisoformat(sys.argv[2]), Path(sys.argv[3])
s = Settings.from_env()
if task == "extract_validate":
    extracted, verdicts = ingest.extract_and_validate_day(s, day)
    passed = {"extracted": [e.as_dict() for e in extracted], "verdicts": [v.as_dict() for v in verdicts]}
    xcom.write_text(json.dumps(passed))
else:
    passed = json.loads(xcom.read_text())
    extracted = [Extracted.from_dict(e) for e in passed["extracted"]]
    ingest.load_day(s, extracted, [Verdict.from_dict(v) for v in passed["verdicts"]], day)
# Ended as Airflow ends a task's process (airflow.sdk.execution_time.supervisor._fork_main: os._exit once its
# streams are flushed): without the interpreter's teardown, which frees Great Expectations' objects one by one.
sys.stdout.flush()
sys.stderr.flush()
import os
os._exit(0)
"""
TASKS = ("extract_validate", "load")

GENERATE = """
import sys
from datetime import date
from pathlib import Path
from convoc_dev.synth import generate
generate(residents=int(sys.argv[1]), seed=1, out=Path(sys.argv[2]), start_date=date.fromisoformat(sys.argv[3]),
         days=1, defects=0.01)
"""

BASELINE = """
import sys, duckdb, polars as pl
frame = pl.read_csv(sys.argv[1], infer_schema=False, encoding="utf8-lossy", truncate_ragged_lines=True, quote_char=None)
con = duckdb.connect(sys.argv[2])
con.execute("create table register as select * from frame")
con.close()
import os
os._exit(0)  # ended as the tasks are
"""


def _child(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run a child; return (seconds, peak RSS MiB, stdout). The peak is the child's own as long as this process
    is smaller (``ru_maxrss`` counts what a child inherited at fork)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"child failed ({status}): {' '.join(args)}")
    return seconds, usage.ru_maxrss / 1024, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=650_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="convoc-bench-ingest-"))
    try:
        landing = root / "landing"
        # In a child: a child's ru_maxrss starts at its parent's RSS when it was forked, so the parent stays
        # small (generating here made every task report the generator's 757 MiB).
        _child(["-c", GENERATE, str(args.residents), str(landing), DAY.isoformat()], dict(os.environ))
        register = landing / f"register_{DAY:%Y%m%d}.csv"
        runs, peaks, phases, base = [], [], [], []
        for i in range(args.repeat):
            home = root / f"home{i}"
            shutil.copytree(landing, home / "landing")
            env = {**os.environ, "CONVOC_HOME": str(home)}
            times: dict[str, float] = {}
            for task in TASKS:
                seconds, peak, _ = _child(["-c", TASK, task, DAY.isoformat(), str(home / "xcom.json")], env)
                times[task] = seconds
                peaks.append(peak)
            runs.append(sum(times[t] for t in TASKS))
            phases.append(times)
            b, _, _ = _child(["-c", BASELINE, str(register), str(home / "baseline.duckdb")], env)
            base.append(b)
            shutil.rmtree(home)
        median, baseline = statistics.median(runs), statistics.median(base)
        split = {k: statistics.median(p[k] for p in phases) for k in phases[0]}
        machine = f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"
        print(f"runs: {[round(r, 2) for r in runs]} s; peak RSS per task: {[round(p) for p in peaks]} MiB")
        print("tasks (median): " + ", ".join(f"{k} {v:.2f} s" for k, v in split.items()))
        print("| command | machine | residents | median wall | peak RSS | baseline (read + insert) | ratio |")
        print("|---|---|---|---|---|---|---|")
        print(
            f"| `.venv/bin/python bench/bench_ingest.py --residents {args.residents} --repeat {args.repeat}` "
            f"| {machine} | {args.residents:,} | {median:.1f} s | {max(peaks):.0f} MiB | {baseline:.1f} s "
            f"| {median / baseline:.1f}× |"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

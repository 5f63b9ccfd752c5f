"""Benchmark: register_ingest (extract + validate + load) at full-country size.

    .venv/bin/python bench/bench_ingest.py [--residents 650000] [--repeat 3]

Generates one day of landing files (1 % damaged rows) once, then per repeat runs the whole stage in a
fresh child process on a fresh warehouse, measuring wall time and the child's peak RSS. Baseline in
the same run: the same register file read with polars and inserted into DuckDB, no validation.
Prints a Markdown table row for bench/RESULTS.md. Targets: ≤ 30 s and ≤ 1.5 GiB at 650,000.
"""

from __future__ import annotations

import argparse
import json
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

STAGE = """
import json, sys, time
from datetime import date
from convoc.config import Settings
from convoc.sources import ingest
day = date.fromisoformat(sys.argv[1])
s = Settings.from_env()
t0 = time.perf_counter(); ex = ingest.extract_day(s, day)
t1 = time.perf_counter(); v = ingest.validate_day(s, ex, day)
t2 = time.perf_counter(); ingest.load_day(s, ex, v, day)
t3 = time.perf_counter()
print("PHASES=" + json.dumps({"extract": t1 - t0, "validate": t2 - t1, "load": t3 - t2}))
"""

BASELINE = """
import sys, duckdb, polars as pl
frame = pl.read_csv(sys.argv[1], infer_schema=False)
con = duckdb.connect(sys.argv[2])
con.execute("create table register as select * from frame")
"""


def _child(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run a child; return (seconds, peak RSS MiB, stdout)."""
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

    from convoc.synth import generate

    root = Path(tempfile.mkdtemp(prefix="convoc-bench-ingest-"))
    try:
        landing = root / "landing"
        generate(residents=args.residents, seed=1, out=landing, start_date=DAY, days=1, defects=0.01)
        register = landing / f"register_{DAY:%Y%m%d}.csv"
        runs, peaks, phases, base = [], [], [], []
        for i in range(args.repeat):
            home = root / f"home{i}"
            shutil.copytree(landing, home / "landing")
            env = {**os.environ, "CONVOC_HOME": str(home)}
            seconds, peak, out = _child(["-c", STAGE, DAY.isoformat()], env)
            runs.append(seconds)
            peaks.append(peak)
            phases.append(json.loads(out.split("PHASES=", 1)[1]))
            b, _, _ = _child(["-c", BASELINE, str(register), str(home / "baseline.duckdb")], env)
            base.append(b)
            shutil.rmtree(home)
        median, baseline = statistics.median(runs), statistics.median(base)
        split = {k: statistics.median(p[k] for p in phases) for k in phases[0]}
        machine = f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"
        print(f"runs: {[round(r, 2) for r in runs]} s; peaks: {[round(p) for p in peaks]} MiB")
        print("phases (median): " + ", ".join(f"{k} {v:.2f} s" for k, v in split.items()))
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

"""Benchmark: the synthetic register generator at full-country size.

    .venv/bin/python bench/bench_generate.py [--residents 650000] [--repeat 3]

Each repeat runs `generate()` (1 day, 1 % damaged rows) in a fresh child process and measures its wall time
and peak RSS. Baseline in the same run: computing the 650,000 matricule check digits alone with
python-stdnum (the floor the generator cannot go under). Prints a Markdown table row for bench/RESULTS.md.
Target: 650,000 residents in ≤ 15 s.
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
from pathlib import Path

GENERATE = """
import sys
from pathlib import Path
from convoc.synth import generate
generate(residents=int(sys.argv[1]), seed=1, out=Path(sys.argv[2]), defects=0.01)
"""

BASELINE = """
import sys
from stdnum import luhn, verhoeff
heads = [f"{19000101 + i // 1000:08d}{i % 1000:03d}" for i in range(int(sys.argv[1]))]
digits = [h + luhn.calc_check_digit(h) + verhoeff.calc_check_digit(h) for h in heads]
"""


def _child(args: list[str]) -> tuple[float, float]:
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args])
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"child failed ({status})")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=650_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs, peaks, base = [], [], []
    for _ in range(args.repeat):
        out = Path(tempfile.mkdtemp(prefix="convoc-bench-generate-"))
        try:
            seconds, peak = _child(["-c", GENERATE, str(args.residents), str(out)])
        finally:
            shutil.rmtree(out, ignore_errors=True)
        runs.append(seconds)
        peaks.append(peak)
        base.append(_child(["-c", BASELINE, str(args.residents)])[0])
    median, baseline = statistics.median(runs), statistics.median(base)
    machine = f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"runs: {[round(r, 2) for r in runs]} s; baseline runs: {[round(b, 2) for b in base]} s")
    print("| command | machine | residents | median wall | peak RSS | baseline (check digits only) | ratio |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| `.venv/bin/python bench/bench_generate.py --residents {args.residents} --repeat {args.repeat}` "
        f"| {machine} | {args.residents:,} | {median:.1f} s | {max(peaks):.0f} MiB | {baseline:.1f} s "
        f"| {median / baseline:.1f}× |"
    )


if __name__ == "__main__":
    main()

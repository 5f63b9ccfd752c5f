"""Benchmark: the synthetic register generator at full-country size.

    .venv/bin/python bench/bench_generate.py [--residents 650000] [--repeat 3]

Each repeat runs ``generate()`` (1 day, 1 % damaged rows) into a temporary folder in a fresh child process,
which reports the seconds ``generate()`` took; peak RSS is the largest child's (``ru_maxrss`` of
``RUSAGE_CHILDREN``). Baseline in the same run, in this process: the check digits of as many matricules
with python-stdnum alone, the floor the generator cannot go under. Prints a Markdown table row for
bench/RESULTS.md. Target: 650,000 residents in ≤ 15 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GENERATE = """
import sys, time
from pathlib import Path
from convoc_dev.synth import generate
start = time.perf_counter()
generate(residents=int(sys.argv[1]), seed=1, out=Path(sys.argv[2]), days=1, defects=0.01)
print(time.perf_counter() - start)
"""


def _generate_once(residents: int) -> float:
    """Seconds one ``generate()`` took in a fresh child process."""
    out = Path(tempfile.mkdtemp(prefix="convoc-bench-generate-"))
    try:
        done = subprocess.run(
            [sys.executable, "-c", GENERATE, str(residents), str(out / "landing")],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return float(done.stdout.strip().splitlines()[-1])


def _check_digits_once(residents: int) -> float:
    """Seconds python-stdnum takes for the Luhn and Verhoeff digits of ``residents`` matricule heads."""
    from stdnum import luhn, verhoeff

    heads = [f"{19000101 + (i // 1000) % 1_000_000:08d}{i % 1000:03d}" for i in range(residents)]
    start = time.perf_counter()
    matricules = [h + luhn.calc_check_digit(h) + verhoeff.calc_check_digit(h) for h in heads]
    seconds = time.perf_counter() - start
    assert len(matricules) == residents
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=650_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    runs = [_generate_once(args.residents) for _ in range(args.repeat)]
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    base = [_check_digits_once(args.residents) for _ in range(args.repeat)]
    median, baseline = statistics.median(runs), statistics.median(base)
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    command = f"`.venv/bin/python bench/bench_generate.py --residents {args.residents} --repeat {args.repeat}`"
    print(
        f"generate() runs: {', '.join(f'{r:.2f}' for r in runs)} s; "
        f"check-digit baseline runs: {', '.join(f'{b:.2f}' for b in base)} s"
    )
    print()
    print("| command | machine | residents | median wall | peak RSS | baseline (check digits only) | ratio |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {command} | {machine} | {args.residents:,} | {median:.1f} s | {peak_mib:.0f} MiB "
        f"| {baseline:.1f} s | {median / baseline:.1f}× |"
    )


if __name__ == "__main__":
    main()

"""Benchmark: the hand-off's memory against the size of the day's job — building it, delivering it (with its
receipt) and recording it — at two sizes, in the same run.

    .venv/bin/python bench/bench_handoff.py [--pieces 650000 6500000]

A synthetic day's print folder, as the letters stage leaves it: batch files of 5,000 pieces (piece id, invitation,
campaign, postcode, format, pages) and, for each, a released PDF of 5,000 blank A4 pages (made once with pikepdf,
then copied). Each task of ``print_handoff`` runs as the DAG runs it, in a fresh process (its peak RSS is its
own): ``build_planned_job`` (PDFs copied and hashed, pages counted, the inserter run file, ticket and manifests),
``deliver_planned_job`` (local transport: copied, checksums read back, ``READY``; then the receipt with the
delivered pieces) and ``record_deliveries`` (into a fresh warehouse). What is measured is memory against the
job's size: the letters themselves are rendered by ``bench_render.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

DAY = date(2021, 2, 1)
BATCH = 5_000

TASK = """
import json, sys, time
from datetime import date
from pathlib import Path
root, task = Path(sys.argv[1]), sys.argv[2]
day = date(2021, 2, 1)
t = time.perf_counter()
if task == "build":
    from convoc.handoff.daily import build_planned_job
    plan = {"job_id": "J20210201", "kind": "original"}
    out = build_planned_job(plan, root / "print", root / "staging", day)
elif task == "deliver":
    from convoc.handoff.daily import deliver_planned_job
    built = json.loads((root / "built.json").read_text())
    out = deliver_planned_job(built, "local", root / "outbox", root / "print", day)
else:
    from convoc import warehouse
    from convoc.handoff.daily import record_deliveries
    with warehouse.connect(root / "warehouse.duckdb") as con:
        warehouse.ensure_schema(con)
        with warehouse.transaction(con):
            out = {"recorded": record_deliveries(con, root / "print")}
        out["pieces"] = con.execute("select count(*) from core.fct_print_piece").fetchall()[0][0]
print("RESULT=" + json.dumps({"seconds": time.perf_counter() - t, "out": out}, default=str))
"""


def _blank_pdf(path: Path, pages: int) -> None:
    import pikepdf

    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page(page_size=(595.28, 841.89))
    pdf.save(path)


def _day(root: Path, pieces: int) -> None:
    """The day's batch files and released PDFs (every piece one page: the blank PDF fits every batch)."""
    import polars as pl

    folder = root / "print" / f"{DAY:%Y%m%d}"
    for sub in ("batches", "pdf"):
        (folder / sub).mkdir(parents=True, mode=0o700)
    blank = root / "blank.pdf"
    _blank_pdf(blank, BATCH)
    postcodes = [f"L-{1000 + k % 8000:04d}" for k in range(BATCH)]
    for k, start in enumerate(range(0, pieces, BATCH), start=1):
        n = min(BATCH, pieces - start)
        ids = list(range(start + 1, start + n + 1))
        stem = f"J{DAY:%Y%m%d}-{k:04d}"
        pl.DataFrame(
            {
                "piece_id": ids,
                "invitation_id": [f"information:1:{i}:1" for i in ids],
                "campaign": ["information"] * n,
                "postcode": postcodes[:n],
                "format": ["standard"] * n,
                "pages": pl.Series([1] * n, dtype=pl.Int16),
            }
        ).write_parquet(folder / "batches" / f"{stem}.parquet")
        if n == BATCH:
            shutil.copyfile(blank, folder / "pdf" / f"{stem}.pdf")
        else:
            _blank_pdf(folder / "pdf" / f"{stem}.pdf", n)


def _child(root: Path, task: str) -> tuple[dict[str, Any], float]:
    proc = subprocess.Popen([sys.executable, "-c", TASK, str(root), task], stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"task {task} failed ({status})")
    return json.loads(out.split("RESULT=", 1)[1]), usage.ru_maxrss / 1024


def measure(pieces: int) -> dict[str, tuple[float, float]]:
    root = Path(tempfile.mkdtemp(prefix="convoc-bench-handoff-"))
    try:
        t = time.perf_counter()
        _day(root, pieces)
        print(f"{pieces:,} pieces: day written in {time.perf_counter() - t:.1f} s", flush=True)
        found = {}
        for task in ("build", "deliver", "record"):
            result, peak = _child(root, task)
            if task == "build":
                (root / "built.json").write_text(json.dumps(result["out"]))
                assert result["out"]["pieces"] == pieces, result
            if task == "record":
                assert result["out"]["pieces"] == pieces, result
            found[task] = (result["seconds"], peak)
            print(f"  {task}: {result['seconds']:.1f} s, peak {peak:.0f} MiB", flush=True)
        return found
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pieces", type=int, nargs="+", default=[650_000, 6_500_000])
    args = parser.parse_args()
    runs = {n: measure(n) for n in args.pieces}
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print("| command | machine | pieces | build | deliver + receipt | record |")
    print("|---|---|---|---|---|---|")
    command = f"`.venv/bin/python bench/bench_handoff.py --pieces {' '.join(map(str, args.pieces))}`"
    for n, found in runs.items():
        cells = " | ".join(f"{s:.1f} s, {peak:.0f} MiB" for s, peak in found.values())
        print(f"| {command} | {machine} | {n:,} | {cells} |")


if __name__ == "__main__":
    main()

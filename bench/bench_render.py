"""Benchmark: rendering letters, convoc's renderer against a straightforward reportlab one, same run.

    .venv/bin/python bench/bench_render.py [--letters 5000] [--baseline-letters 300] [--repeat 3]

convoc: the render task (`convoc.letters.batches.render_batch_file`) on one 5,000-letter batch file cut
from a synthetic register (real-looking names, addresses, languages; one booking code each), in a fresh
child process: wall time and peak RSS are the task's own. The task reads only its batch file, so its memory
does not depend on the population (650k or 6.5M residents give the same 5,000-row batches).
Straightforward: one canvas and one file per letter, the same text drawn
line by line, the QR code made with `qrcode.make()` and embedded as an image (timed on fewer letters and
reported per letter). Targets: ≥ 600 letters/s per core, ≥ 7× the straightforward renderer,
≤ 1.5 KB per letter in 5,000-letter files, peak memory of one render ≤ 400 MiB. Also timed in the same child,
after the render: the verify task on the file (codes decoded on the sampled pages, then the prepress preflight of
the whole file), and the preflight alone as verification runs it.
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
from datetime import date
from pathlib import Path


def _write_batch(n: int, path: Path) -> None:
    """A print batch file as ``cut_batches`` writes it: a synthetic register's residents (names, addresses and
    languages as the real one has them), presorted, each with their own booking code."""
    import polars as pl

    from convoc.codes import make_code
    from convoc_dev.synth import generate

    with tempfile.TemporaryDirectory() as tmp:
        generate(int(n * 1.3) + 100, 7, Path(tmp))
        people = pl.read_csv(next(Path(tmp).glob("register_*.csv")), infer_schema=False)
    people = people.filter(pl.col("status") == "resident").head(n).sort("postcode", "street", "house_number")
    ids = [f"vaccination:1:{i}:1" for i in range(1, people.height + 1)]
    people.select(
        pl.int_range(1, people.height + 1, dtype=pl.Int64).alias("piece_id"),
        pl.Series("invitation_id", ids),
        pl.lit("vaccination").alias("campaign"),
        "language",
        "family_name",
        "given_name",
        "street",
        "house_number",
        "postcode",
        "locality",
        pl.Series("booking_code", [make_code(i, b"bench-key-0123456789abcdef") for i in ids]),
        pl.lit(date(2021, 2, 2)).alias("valid_from"),
        pl.lit(date(2021, 2, 15)).alias("valid_until"),
        pl.lit("Hall Victor Hugo").alias("centre_name"),
        pl.lit(["60, avenue Victor Hugo", "L-1750 Luxembourg"]).alias("centre_address"),
        pl.lit("2a").alias("phase"),
        pl.lit([], dtype=pl.List(pl.String)).alias("co_residents"),  # an invitation, not a household letter
        pl.lit(1, dtype=pl.Int64).alias("household_size"),
    ).write_parquet(path)


# The real render task: reads its batch file, renders one PDF (fresh process: time and peak RSS are its own);
# then the real verify task on it (codes decoded on the sampled pages, the prepress preflight of the whole
# file), and the preflight alone as verification runs it.
CONVOC = """
import inspect, json, resource, sys, time
from datetime import date
from pathlib import Path
from convoc.letters.batches import render_batch_file, verify_batch_file
from convoc.letters.preflight import preflight
t = time.perf_counter()
result = render_batch_file(Path(sys.argv[1]), date(2021, 2, 1))
rendered = time.perf_counter() - t
render_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t = time.perf_counter()
released = verify_batch_file(result.as_dict(), date(2021, 2, 1))
verified = time.perf_counter() - t
from convoc.letters.batches import batch_pages
codes = [f"J20210201|{k}|1/{n}" for k, n in enumerate(batch_pages(Path(sys.argv[1])), start=1)]
extra = {"records": codes} if "records" in inspect.signature(preflight).parameters else {}
t = time.perf_counter()
checked = preflight(Path(released["path"]), result.pages, image_pages=released["checked"], **extra)
assert checked.passed, checked.findings
print("RESULT=" + json.dumps({"seconds": rendered, "bytes": result.bytes, "verify": verified, "peak": render_peak,
                              "preflight": time.perf_counter() - t}))
"""

NAIVE = """
import json, sys, time
from dataclasses import fields
from datetime import date
from pathlib import Path
import polars as pl
import qrcode
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas
from convoc.letters.layout import register_fonts
from convoc.letters.render import Letter
regular, bold, mono = register_fonts()
names = [f.name for f in fields(Letter) if f.name != "letter_date" and f.name in pl.read_parquet_schema(sys.argv[1])]
batch = [Letter(**{**row, "centre_address": tuple(row["centre_address"]), "co_residents": (),
                   "letter_date": date(2021, 2, 1)})
         for row in pl.read_parquet(sys.argv[1], columns=names).head(int(sys.argv[3])).iter_rows(named=True)]
out = Path(sys.argv[2]); out.mkdir(parents=True, exist_ok=True)
t = time.perf_counter()
size = 0
for letter in batch:
    path = out / f"{letter.piece_id}.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont(bold, 14); c.drawString(20 * mm, 280 * mm, "Ministère de la Santé — Campagne de vaccination")
    c.setFont(regular, 10)
    for k, line in enumerate([f"{letter.given_name} {letter.family_name}", f"{letter.street} {letter.house_number}",
                              f"{letter.postcode} {letter.locality}"]):
        c.drawString(25 * mm, (297 - 67 - 4.5 * k) * mm, line)
    for k in range(14):
        c.drawString(20 * mm, (297 - 110 - 5 * k) * mm, "Lorem ipsum dolor sit amet, consectetur adipiscing.")
    img = qrcode.make("https://convoc.example.lu/b/" + letter.booking_code)
    c.drawImage(ImageReader(img.get_image()), 160 * mm, 30 * mm, 30 * mm, 30 * mm)
    qr = qrcode.make(f"J20210201|{letter.piece_id}|1/1")
    c.drawImage(ImageReader(qr.get_image()), 5 * mm, 17 * mm, 12 * mm, 12 * mm)
    c.setFont(mono, 16); c.drawString(20 * mm, 45 * mm, letter.booking_code)
    c.showPage(); c.save()
    size += path.stat().st_size
print("RESULT=" + json.dumps({"seconds": time.perf_counter() - t, "bytes": size}))
"""


def _large_print(batch: Path, share: float) -> None:
    """Every (1 / ``share``)-th letter of the batch file in large print, with the pages it takes, as ``cut_batches``
    writes them."""
    import polars as pl

    from convoc.letters.batches import _pages

    frame = pl.read_parquet(batch)
    step = max(1, round(1 / share))
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) % step == step - 1).then(pl.lit("large_print")).otherwise(pl.lit("standard"))
        .alias("format")
    )  # fmt: skip
    frame.with_columns(_pages(frame, date(2021, 2, 1), None)).write_parquet(batch)


def _child(args: list[str]) -> tuple[dict[str, float], float]:
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"child failed ({status})")
    return json.loads(out.split("RESULT=", 1)[1]), usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--letters", type=int, default=5_000)
    parser.add_argument("--baseline-letters", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--large-print", type=float, default=0.0, help="share of the letters in large print")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="convoc-bench-render-"))
    ours, naive, peaks = [], [], []
    try:
        batch = root / "print" / "20210201" / "batches" / "J20210201-0001.parquet"
        batch.parent.mkdir(parents=True)
        _write_batch(args.letters, batch)
        if args.large_print:
            _large_print(batch, args.large_print)
        for i in range(args.repeat):
            result, _ = _child(["-c", CONVOC, str(batch)])
            ours.append(result)
            peak = result["peak"]  # the render's own, before verification
            peaks.append(peak)
            base, _ = _child(["-c", NAIVE, str(batch), str(root / f"naive{i}"), str(args.baseline_letters)])
            naive.append(base)
            print(f"run {i}: convoc {result}, straightforward {base}, peak {peak:.0f} MiB", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    rate = statistics.median(args.letters / r["seconds"] for r in ours)
    base_rate = statistics.median(args.baseline_letters / r["seconds"] for r in naive)
    per_letter = statistics.median(r["bytes"] / args.letters for r in ours)
    base_bytes = statistics.median(r["bytes"] / args.baseline_letters for r in naive)
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    verify = statistics.median(r["verify"] for r in ours)
    checks = statistics.median(r["preflight"] for r in ours)
    print("| command | machine | convoc | bytes/letter | peak RSS | straightforward | its bytes/letter | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| `.venv/bin/python bench/bench_render.py --letters {args.letters} --repeat {args.repeat}"
        f"{f' --large-print {args.large_print}' if args.large_print else ''}` | {machine} "
        f"| {rate:.0f} letters/s | {per_letter:,.0f} B | {max(peaks):.0f} MiB | {base_rate:.0f} letters/s "
        f"| {base_bytes:,.0f} B | {rate / base_rate:.1f}× |"
    )
    print(
        f"verification of the file (render → released): {verify:.2f} s, of which the prepress preflight {checks:.2f} s"
    )


if __name__ == "__main__":
    main()

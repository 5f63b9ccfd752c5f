"""Benchmark: rendering letters, convoc's renderer against a straightforward reportlab one, same run.

    .venv/bin/python bench/bench_render.py [--letters 5000] [--baseline-letters 300] [--repeat 3]

convoc: one 5,000-letter batch into one PDF (`convoc.letters.render.render_batch`), in a fresh child
process, wall time and peak RSS. Straightforward: one canvas and one file per letter, the same text drawn
line by line, the QR code made with `qrcode.make()` and embedded as an image (timed on fewer letters and
reported per letter). Targets (issue 4): ≥ 600 letters/s per core, ≥ 7× the straightforward renderer,
≤ 1.5 KB per letter in 5,000-letter files, peak memory of one render ≤ 400 MiB.
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
from pathlib import Path

LETTERS = """
import random
from datetime import date
from convoc.letters.render import Letter
def letters(n):
    rnd = random.Random(1)
    names = ["Gonçalves", "Müller", "Łukasiewicz", "Sørensen", "Lefèvre", "Schmit", "Muñoz", "Erdős"]
    langs = ["fr", "de", "en", "pt", None]
    return [Letter(piece_id=i, invitation_id=f"vaccination:1:{i}:1", campaign="vaccination",
                   language=langs[i % 5], family_name=rnd.choice(names), given_name="Inês",
                   street="rue de la Gare", house_number=str(i % 150 + 1), postcode="L-1009",
                   locality="Luxembourg", booking_code="7QK2-M0ZD-4R1X", valid_from=date(2021, 2, 2),
                   valid_until=date(2021, 2, 15), letter_date=date(2021, 2, 1),
                   centre_name="Hall Victor Hugo", centre_address=("60, avenue Victor Hugo", "L-1750 Luxembourg"),
                   phase="2a") for i in range(1, n + 1)]
"""

CONVOC = (
    LETTERS
    + """
import json, sys, time
from pathlib import Path
from convoc.letters.render import render_batch
batch = letters(int(sys.argv[1]))
t = time.perf_counter()
result = render_batch(batch, Path(sys.argv[2]), job_id="J20210201")
print("RESULT=" + json.dumps({"seconds": time.perf_counter() - t, "bytes": result.bytes}))
"""
)

NAIVE = (
    LETTERS
    + """
import json, sys, time
from pathlib import Path
import qrcode
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas
from convoc.letters.layout import register_fonts
regular, bold, mono = register_fonts()
batch = letters(int(sys.argv[1]))
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
)


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
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="convoc-bench-render-"))
    ours, naive, peaks = [], [], []
    try:
        for i in range(args.repeat):
            result, peak = _child(["-c", CONVOC, str(args.letters), str(root / f"batch{i}.pdf")])
            ours.append(result)
            peaks.append(peak)
            base, _ = _child(["-c", NAIVE, str(args.baseline_letters), str(root / f"naive{i}")])
            naive.append(base)
            print(f"run {i}: convoc {result}, straightforward {base}, peak {peak:.0f} MiB", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    rate = statistics.median(args.letters / r["seconds"] for r in ours)
    base_rate = statistics.median(args.baseline_letters / r["seconds"] for r in naive)
    per_letter = statistics.median(r["bytes"] / args.letters for r in ours)
    base_bytes = statistics.median(r["bytes"] / args.baseline_letters for r in naive)
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print("| command | machine | convoc | bytes/letter | peak RSS | straightforward | its bytes/letter | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| `.venv/bin/python bench/bench_render.py --letters {args.letters} --repeat {args.repeat}` | {machine} "
        f"| {rate:.0f} letters/s | {per_letter:,.0f} B | {max(peaks):.0f} MiB | {base_rate:.0f} letters/s "
        f"| {base_bytes:,.0f} B | {rate / base_rate:.1f}× |"
    )


if __name__ == "__main__":
    main()

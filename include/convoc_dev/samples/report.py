"""Preview of the summary report for the documentation, rendered from the demo marts, then rasterized.

    .venv/bin/python -m convoc_dev.samples.report docs/report

Builds :mod:`convoc_dev.samples.report_marts`'s marts in a temporary DuckDB, renders the daily report of
14 March 2021 in French and English with ``render_report`` (the same code as the DAG), keeps the PDFs as
``summary-<lang>.pdf`` and page 1 of each as ``summary-<lang>.png`` (grayscale, 100 dpi by default).
The same code gives the same files on every run.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

from convoc.report.labels import LANGS
from convoc.report.render import render_report
from convoc_dev.samples.report_marts import LAST_DAY, build_demo_marts

PREVIEW_DAY: date = LAST_DAY


def write_preview(out: Path, dpi: int = 100) -> list[Path]:
    """Write ``summary-<lang>.pdf`` and ``summary-<lang>.png`` (page 1) for each language to ``out``."""
    import duckdb
    import pypdfium2

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.duckdb"
        with duckdb.connect(str(db)) as con:
            build_demo_marts(con)
        with duckdb.connect(str(db), read_only=True) as con:
            for lang in LANGS:
                made = render_report(con, PREVIEW_DAY, "daily", lang, Path(tmp) / "reports")
                pdf_path = out / f"summary-{lang}.pdf"
                shutil.copyfile(made, pdf_path)
                pdf = pypdfium2.PdfDocument(pdf_path)
                try:
                    image = pdf[0].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
                finally:
                    pdf.close()
                png_path = out / f"summary-{lang}.png"
                image.save(png_path, optimize=True)
                written += [pdf_path, png_path]
    return written


if __name__ == "__main__":
    for path in write_preview(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/report")):
        print(path)

"""Sample letters for the documentation: one per language, rendered by the project, then rasterized.

    .venv/bin/python -m convoc_dev.samples.letters docs/letters     (or: make docs)

Each sample is a one-letter batch rendered by ``render_batch`` (the same code as the DAG), kept as
``letter-<lang>.pdf`` and turned into ``letter-<lang>.png`` by pypdfium2; the French one also in large print
(``letter-fr-large-print.pdf``, one PNG per page). The people are invented; the
booking codes come from a fixed documentation key, so the files are the same on every run.
"""

from __future__ import annotations

import dataclasses
import sys
from datetime import date
from pathlib import Path

from convoc.codes import make_code
from convoc.letters.render import Letter, render_batch

DOC_KEY = b"convoc documentation key, not a secret"
SAMPLES = (
    ("fr", "Marie", "Schmit", "rue de la Gare", "12", "L-1611", "Luxembourg"),
    ("de", "Jean-Paul", "Weber", "Haaptstrooss", "5", "L-9753", "Heinerscheid"),
    ("en", "Olivia", "Thompson-Ward", "boulevard Royal", "27", "L-2449", "Luxembourg"),
    ("pt", "João", "Gonçalves Ferreira", "rue de l'Alzette", "104", "L-4010", "Esch-sur-Alzette"),
    (None, "Łukasz", "Kővári", "route d'Arlon", "8", "L-8009", "Strassen"),
)
"""(language, given name, family name, street, house number, postcode, locality); None: unknown → fr + de."""


def sample_letters() -> list[Letter]:
    return [
        Letter(
            piece_id=k,
            invitation_id=f"vaccination:1:sample-{k}:1",
            campaign="vaccination",
            language=lang,
            family_name=family,
            given_name=given,
            street=street,
            house_number=number,
            postcode=postcode,
            locality=locality,
            booking_code=make_code(f"vaccination:1:sample-{k}:1", DOC_KEY),
            valid_from=date(2021, 2, 1),
            valid_until=date(2021, 2, 14),
            letter_date=date(2021, 1, 29),
            centre_name="Hall Victor Hugo",
            centre_address=("60, avenue Victor Hugo", "L-1750 Luxembourg"),
            phase="2a",
        )
        for k, (lang, given, family, street, number, postcode, locality) in enumerate(SAMPLES, start=1)
    ]


LARGE_PRINT = ("fr",)
"""Languages whose sample is also rendered in large print."""


def write_samples(out: Path, dpi: int = 100) -> list[Path]:
    """Write ``letter-<lang>.pdf`` and ``.png`` (``letter-fr-de`` for the unknown language) to ``out``, and
    the large-print letter ``letter-<lang>-large-print.pdf`` with one ``-<page>.png`` per page."""
    import pypdfium2

    out.mkdir(parents=True, exist_ok=True)
    written = []
    samples = sample_letters()
    large = [dataclasses.replace(x, format="large_print") for x in samples if x.language in LARGE_PRINT]
    for letter in (*samples, *large):
        stem = f"letter-{letter.language or 'fr-de'}" + ("-large-print" if letter.format == "large_print" else "")
        pdf_path = out / f"{stem}.pdf"
        render_batch([letter], pdf_path, job_id="J20210129")
        pdf = pypdfium2.PdfDocument(pdf_path)
        try:
            images = [page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L") for page in pdf]
        finally:
            pdf.close()
        written.append(pdf_path)
        for k, image in enumerate(images, start=1):
            png_path = out / (f"{stem}.png" if len(images) == 1 else f"{stem}-{k}.png")
            image.save(png_path, optimize=True)
            written.append(png_path)
    return written


if __name__ == "__main__":
    for path in write_samples(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/letters")):
        print(path)

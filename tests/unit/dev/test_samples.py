"""The documentation's sample letters: made by the project's renderer, current, and scannable."""

from __future__ import annotations

from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from convoc.letters.render import piece_code
from convoc_dev.samples.letters import sample_letters, write_samples

DOCS = Path(__file__).resolve().parents[3] / "docs" / "letters"
URL = "https://convoc.example.lu/b/"


def test_samples_cover_every_language_and_the_bilingual_fallback(tmp_path: Path) -> None:
    written = write_samples(tmp_path, dpi=150)
    names = sorted(p.name for p in written)
    large = ["letter-fr-large-print.pdf", "letter-fr-large-print-1.png", "letter-fr-large-print-2.png"]
    assert names == sorted(
        [*(f"letter-{lang}.{ext}" for lang in ("fr", "de", "en", "pt", "fr-de") for ext in ("pdf", "png")), *large]
    )
    for letter in sample_letters():
        png = tmp_path / f"letter-{letter.language or 'fr-de'}.png"
        found = {b.text for b in zxingcpp.read_barcodes(Image.open(png))}
        assert found == {URL + letter.booking_code, piece_code("J20210129", letter.piece_id)}
    # the large-print sample: its two pages, the booking code on the first, each page's piece code k/2
    fr = next(x for x in sample_letters() if x.language == "fr")
    pages = [{b.text for b in zxingcpp.read_barcodes(Image.open(tmp_path / name))} for name in large[1:]]
    assert pages == [
        {URL + fr.booking_code, piece_code("J20210129", fr.piece_id, 1, 2)},
        {piece_code("J20210129", fr.piece_id, 2, 2)},
    ]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("samples")
    write_samples(out)
    return out


@pytest.mark.parametrize(
    "stem", ["letter-fr", "letter-de", "letter-en", "letter-pt", "letter-fr-de", "letter-fr-large-print"]
)
def test_committed_samples_are_what_the_renderer_makes_today(fresh: Path, stem: str) -> None:
    for path in sorted(fresh.glob(f"{stem}.*")) + sorted(fresh.glob(f"{stem}-[0-9].png")):
        assert (DOCS / path.name).read_bytes() == path.read_bytes(), (
            f"docs/letters/{path.name} is stale: run `make docs` and commit the result"
        )

"""Prepress preflight (convoc.letters.preflight), as a print shop's prepress runs it: what the renderer makes
passes, and each defect prepress rejects is found, by page and rule — and rejects the batch in verification."""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from convoc.letters import layout
from convoc.letters.preflight import preflight
from convoc.letters.render import render_batch
from convoc.letters.verify import VerificationFailed, verify_pdf
from tests.unit.letters.test_render import make_letter

DOCS = Path(__file__).resolve().parents[3] / "docs" / "letters"
JOB = "J20210201"


def rendered(tmp_path: Path, n: int = 3) -> tuple[Path, list[tuple[int, str]]]:
    letters = [make_letter(k, booking_code=f"7QK2-M0ZD-{k:04d}") for k in range(1, n + 1)]
    path = tmp_path / "batch.pdf"
    render_batch(letters, path, job_id=JOB)
    return path, [(letter.piece_id, letter.booking_code) for letter in letters]


def rules(path: Path, pages: int | None = None, image_pages: list[int] | None = None) -> list[str]:
    return [f"{f.page} {f.rule}" for f in preflight(path, pages, image_pages).findings]


@pytest.mark.parametrize("sample", sorted(p.name for p in DOCS.glob("*.pdf")))
def test_the_sample_letters_pass(sample: str) -> None:
    result = preflight(DOCS / sample, 1)
    assert result.passed, result.findings
    assert len(result.fonts) == 3 and all("+DejaVuSans" in f for f in result.fonts)


def test_a_rendered_batch_passes_and_says_so(tmp_path: Path) -> None:
    path, _ = rendered(tmp_path)
    result = preflight(path, 3)
    assert result.as_dict()["result"] == "passed" and result.as_dict()["profile"] == "convoc-prepress-1"
    assert rules(path, 4) == ["None page_count"]


def _plain(path: Path, *, rgb: bool = False, helvetica: bool = False, trim: bool = True) -> Path:
    regular, _, _ = layout.register_fonts()
    c = canvas.Canvas(str(path), pagesize=A4, initialFontName=regular)
    if trim:
        c.setTrimBox((0, 0, *A4))
    for page in range(2):
        if rgb and page == 1:
            c.setFillColorRGB(0.2, 0.2, 0.2)  # a "black" on three channels
        c.setFont("Helvetica" if helvetica and page == 1 else regular, 11)
        c.drawString(72, 720, "Madame, Monsieur,")
        c.showPage()
    c.save()
    return path


def test_a_base14_font_not_embedded_is_found(tmp_path: Path) -> None:
    assert rules(_plain(tmp_path / "ok.pdf")) == []
    # reportlab gives every page the file's font list: found on the first page that names it
    assert rules(_plain(tmp_path / "helvetica.pdf", helvetica=True)) == ["1 base14_font", "1 font_not_embedded"]


def test_rgb_text_is_found(tmp_path: Path) -> None:
    assert rules(_plain(tmp_path / "rgb.pdf", rgb=True)) == ["2 colour"]


def test_a_missing_or_wrong_box_is_found(tmp_path: Path) -> None:
    assert rules(_plain(tmp_path / "untrimmed.pdf", trim=False)) == ["1 trim_box", "2 trim_box"]
    path, _ = rendered(tmp_path)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        pdf.pages[1].obj.MediaBox = pikepdf.Array([0, 0, 612, 792])  # US Letter
        pdf.save(path)
    assert rules(path, 3) == ["2 media_box"]


def test_two_fonts_under_one_subset_name_are_found(tmp_path: Path) -> None:
    path, _ = rendered(tmp_path)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        fonts = pdf.pages[0].Resources.Font
        names = {str(f.BaseFont): key for key, f in fonts.items()}
        regular = next(n for n in names if n.endswith("+DejaVuSans"))
        bold = fonts[names[next(n for n in names if n.endswith("-Bold"))]]
        bold.BaseFont = pikepdf.Name(regular)  # the bold program under the regular subset's name
        pdf.save(path)
    assert "1 duplicate_subset" in rules(path, 3)


def test_a_batch_that_fails_preflight_is_rejected_naming_file_page_and_rule(tmp_path: Path) -> None:
    path, pieces = rendered(tmp_path)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        del pdf.pages[2].obj["/TrimBox"]
        pdf.save(path)
    with pytest.raises(VerificationFailed) as failed:
        verify_pdf(path, pieces, job_id=JOB, sample=3)
    assert failed.value.problems == ["preflight page 3: trim_box: no TrimBox"]
    assert str(path) in str(failed.value)


def test_an_rgb_inline_image_is_found_on_the_pages_checked_for_images(tmp_path: Path) -> None:
    from PIL import Image

    regular, _, _ = layout.register_fonts()
    path = tmp_path / "photo.pdf"
    c = canvas.Canvas(str(path), pagesize=A4, initialFontName=regular)
    c.setTrimBox((0, 0, *A4))
    for _ in range(3):
        c.drawInlineImage(Image.new("RGB", (4, 4), (200, 30, 30)), 72, 600, 20, 20)
        c.showPage()
    c.save()
    assert rules(path) == ["1 colour", "2 colour", "3 colour"]
    assert rules(path, image_pages=[2]) == ["2 colour"]  # verification passes the pages it decodes

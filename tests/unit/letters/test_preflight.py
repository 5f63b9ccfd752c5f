"""Prepress preflight (convoc.letters.preflight), as a print shop's prepress runs it: what the renderer makes
passes, and each defect prepress rejects is found, by page and rule — and rejects the batch in verification."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pikepdf
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from convoc.letters import layout, prepress
from convoc.letters.preflight import COLOUR_OPERATORS, preflight, subset_conflicts
from convoc.letters.render import piece_code, render_batch
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
    result = preflight(DOCS / sample, 2 if "large-print" in sample else 1)
    assert result.passed, result.findings
    assert len(result.fonts) == 3 and all("+DejaVuSans" in f for f in result.fonts)


def test_a_rendered_batch_passes_and_says_so(tmp_path: Path) -> None:
    path, _ = rendered(tmp_path)
    result = preflight(path, 3)
    summary = result.as_dict()
    assert summary["result"] == "passed" and summary["profile"] == "convoc-prepress-2"
    assert summary["conformance"] == ["PDF/X-4", "PDF/VT-1"] and summary["records"] == 3
    assert rules(path, 4) == ["None page_count"]


def _plain(path: Path, *, rgb: bool = False, helvetica: bool = False, trim: bool = True, pages: int = 2) -> Path:
    """A file drawn directly with reportlab and marked for press like the letters (``prepress``)."""
    regular, _, _ = layout.register_fonts()
    c = canvas.Canvas(str(path), pagesize=A4, initialFontName=regular, pdfVersion=prepress.PDF_VERSION)
    prepress.prepare_canvas(c, title="a plain file", author="convoc tests", subject="plain", creator="pytest")
    if trim:
        c.setTrimBox((0, 0, *A4))
    for page in range(pages):
        if rgb and page == 1:
            c.setFillColorRGB(0.2, 0.2, 0.2)  # a "black" on three channels
        c.setFont("Helvetica" if helvetica and page == 1 else regular, 11)
        c.drawString(72, 720, "Madame, Monsieur,")
        c.showPage()
    records = [prepress.Record(k, 1, f"P|{k}|1/1") for k in range(1, pages + 1)]
    prepress.mark_for_press(c, created=prepress.job_created(date(2021, 2, 1)), records=records)
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
    c = canvas.Canvas(str(path), pagesize=A4, initialFontName=regular, pdfVersion=prepress.PDF_VERSION)
    prepress.prepare_canvas(c, title="photos", author="convoc tests", subject="photos", creator="pytest")
    c.setTrimBox((0, 0, *A4))
    for _ in range(3):
        c.drawInlineImage(Image.new("RGB", (4, 4), (200, 30, 30)), 72, 600, 20, 20)
        c.showPage()
    records = [prepress.Record(k, 1, f"P|{k}|1/1") for k in range(1, 4)]
    prepress.mark_for_press(c, created=prepress.job_created(date(2021, 2, 1)), records=records)
    c.save()
    assert rules(path) == ["1 colour", "2 colour", "3 colour"]
    assert rules(path, image_pages=[2]) == ["2 colour"]  # verification passes the pages it decodes


def _colour_pages(path: Path) -> list[int]:
    return [f.page for f in preflight(path, image_pages=[]).findings if f.rule == "colour" and f.page is not None]


def test_a_colour_operator_is_found_wherever_it_stands_and_a_word_that_looks_like_one_is_no_finding(
    tmp_path: Path,
) -> None:
    """Pages whose content holds no colour operator's name as a word are not parsed; the others are, by qpdf."""
    path, _ = rendered(tmp_path)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        for n, tail in ((0, b"(Ana K) Tj"), (1, b"(x)Tj 0 0 0 1 k"), (2, b"/F1 9 Tf [(a)]TJ[0 0 1]sc")):
            contents = pdf.pages[n].obj.Contents
            contents.write(contents.read_bytes() + b"\nBT " + tail + b" ET\n")
        pdf.save(path)
    assert _colour_pages(path) == [2, 3]  # "K" inside a string on page 1 is text, not an operator


_WORDS = st.sampled_from(
    [*sorted(COLOUR_OPERATORS), "0", "1.5", "Tj", "TJ", "re", "f", "q", "Q", "cm", "g", "G", "BT", "ET", "Do",
     "/CS0", "/k", "/rg", "(k)", "(a rg b)", "(x\\)k)", "<6b>", "[", "]", "<<", ">>", "%rg", "BI", "ID", "EI",
     "(", ")", "\\", "{", "}", "kk", "rgb", "scn0"]
)  # fmt: skip
_SEPARATORS = st.sampled_from(["", " ", "\n", "\r", "\t", "\x00", "\x0c", "\x0b"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_WORDS, _SEPARATORS), max_size=12))
def test_the_preflight_finds_a_colour_operator_whenever_qpdf_s_parser_does(
    tmp_path: Path, tokens: list[tuple[str, str]]
) -> None:
    content = "".join(word + sep for word, sep in tokens).encode("latin-1")
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.pages[0].obj.Contents = pdf.make_stream(content)
    path = tmp_path / "content.pdf"
    pdf.save(path)
    try:
        found = any(True for _ in pikepdf.parse_content_stream(pdf.pages[0], " ".join(sorted(COLOUR_OPERATORS))))
    except TypeError:  # qpdf refuses the content ("[CS]"): no operator to compare with
        assume(False)
    assert (set(_colour_pages(path)) == {1}) == found, content


# --- PDF/X-4 and PDF/VT-1: version, identity, output intent, metadata, record boundaries ------------------------


def _edit(path: Path, change) -> Path:  # type: ignore[no-untyped-def]
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        change(pdf)
        pdf.save(path, static_id=True, fix_metadata_version=False)  # pikepdf would rewrite the XMP
    return path


def _xmp(pdf: pikepdf.Pdf) -> str:
    return pdf.Root.Metadata.read_bytes().decode()


def _set_xmp(pdf: pikepdf.Pdf, text: str) -> None:
    pdf.Root.Metadata = pdf.make_stream(text.encode(), Type=pikepdf.Name.Metadata, Subtype=pikepdf.Name.XML)


def test_a_rendered_file_declares_pdfx4_and_pdfvt1_with_the_jobs_date_and_a_gray_press(tmp_path: Path) -> None:
    path, _ = rendered(tmp_path)
    with pikepdf.open(path) as pdf:
        assert pdf.pdf_version == "1.6"
        info = pdf.trailer.Info
        assert str(info.GTS_PDFXVersion) == "PDF/X-4" and str(info.GTS_PDFVTVersion) == "PDF/VT-1"
        assert str(info.Trapped) == "/False" and str(info.Title) == f"convoc letters {JOB}"
        # the letters' date (make_letter: 2021-01-29), not the clock
        assert str(info.CreationDate) == str(info.ModDate) == "D:20210129000000+00'00'"
        xmp = _xmp(pdf)
        assert "<xmp:CreateDate>2021-01-29T00:00:00Z</xmp:CreateDate>" in xmp
        assert "<pdfvtid:GTS_PDFVTModDate>2021-01-29T00:00:00Z</pdfvtid:GTS_PDFVTModDate>" in xmp
        assert "/Filter" not in pdf.Root.Metadata.stream_dict
        [intent] = pdf.Root.OutputIntents
        assert str(intent.S) == "/GTS_PDFX" and str(intent.OutputConditionIdentifier) == prepress.OUTPUT_CONDITION
        icc = intent.DestOutputProfile.read_bytes()
        assert icc == prepress.ICC_PROFILE.read_bytes() and int(intent.DestOutputProfile.N) == 1
        assert (icc[12:16], icc[16:20]) == (b"prtr", b"GRAY")
        # the page tree's MediaBox is inherited, every page has its own TrimBox
        assert [round(float(v), 2) for v in pdf.pages[1].mediabox] == [0, 0, 595.28, 841.89]
        assert "/TrimBox" in pdf.pages[1].obj
    data = path.read_bytes()
    assert data.count(b"/MediaBox") == 1 and data.count(b"/TrimBox") == 3  # the page tree's, each page's


def test_qpdf_finds_no_syntax_or_structure_problem_in_a_rendered_file(tmp_path: Path) -> None:
    path, _ = rendered(tmp_path)
    with pikepdf.open(path) as pdf:
        assert pdf.check_pdf_syntax() == []  # qpdf --check: xref, streams, page tree, every object


def test_each_piece_is_a_pdfvt_record_the_rip_can_find(tmp_path: Path) -> None:
    path, pieces = rendered(tmp_path, 4)
    with pikepdf.open(path) as pdf:
        root = pdf.Root.DPartRoot
        assert int(root.RecordLevel) == 1 and [str(n) for n in root.NodeNameList] == ["/Job", "/Piece"]
        [leaves] = root.DPartRootNode.DParts
        assert [str(leaf.DPM.CIP4_Root.CIP4_Recipient.CIP4_UniqueID) for leaf in leaves] == [
            piece_code(JOB, piece_id) for piece_id, _ in pieces
        ]
        for page, leaf in zip(pdf.pages, leaves, strict=True):
            assert leaf.Start.objgen == page.obj.objgen and page.obj.DPart.objgen == leaf.objgen
            assert "/End" not in leaf  # one page each
    codes = [piece_code(JOB, piece_id) for piece_id, _ in pieces]
    assert preflight(path, 4, records=codes).passed
    assert rules(path, 4, None) == []
    assert [f.detail for f in preflight(path, 4, records=[codes[1], codes[0], *codes[2:]]).findings] == [
        f"record 1 is piece {codes[0]!r}, expected {codes[1]!r}"
    ]
    assert [f.detail for f in preflight(path, 4, records=codes[:3]).findings] == ["4 records, expected 3 pieces"]


def test_more_than_8191_records_are_grouped_as_pdfvt_asks(tmp_path: Path) -> None:
    path = _plain(tmp_path / "many.pdf", pages=8193)
    with pikepdf.open(path) as pdf:
        assert [len(group) for group in pdf.Root.DPartRoot.DPartRootNode.DParts] == [8191, 2]
    assert rules(path, 8193, image_pages=[]) == []


def test_broken_record_boundaries_are_found(tmp_path: Path) -> None:
    path = _plain(tmp_path / "ok.pdf", pages=3)
    assert rules(path) == []
    assert rules(_edit(tmp_path / "ok.pdf", lambda pdf: pdf.pages[1].obj.__delitem__("/DPart"))) == ["2 records"]
    path = _plain(tmp_path / "gap.pdf", pages=3)

    def gap(pdf: pikepdf.Pdf) -> None:
        [leaves] = pdf.Root.DPartRoot.DPartRootNode.DParts
        del leaves[1]  # the second piece's record lost: page 2 belongs to no record

    assert next(f.detail for f in preflight(_edit(path, gap)).findings if f.rule == "records") == (
        "record 2 starts on page 3, expected 2 (in page order, no gap)"
    )
    path = _plain(tmp_path / "none.pdf", pages=2)
    assert rules(_edit(path, lambda pdf: pdf.Root.__delitem__("/DPartRoot"))) == ["None records"]


def test_a_missing_or_wrong_output_intent_is_found(tmp_path: Path) -> None:
    path = _plain(tmp_path / "none.pdf")
    assert rules(_edit(path, lambda pdf: pdf.Root.__delitem__("/OutputIntents"))) == ["None output_intent"]

    def screen(pdf: pikepdf.Pdf) -> None:  # a display profile is not a press
        profile = pdf.Root.OutputIntents[0].DestOutputProfile
        data = bytearray(profile.read_bytes())
        data[12:16] = b"mntr"
        profile.write(bytes(data))

    path = _plain(tmp_path / "screen.pdf")
    assert [f.detail for f in preflight(_edit(path, screen)).findings] == [
        "its ICC profile is a 'mntr' profile, not output"
    ]

    def channels(pdf: pikepdf.Pdf) -> None:
        pdf.Root.OutputIntents[0].DestOutputProfile.N = 4

    path = _plain(tmp_path / "n.pdf")
    assert [f.detail for f in preflight(_edit(path, channels)).findings] == ["/N 4 for a 1-channel profile"]


def _packed_xmp(path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file whose XMP packet is Flate-compressed (qpdf uncompresses one on saving: reportlab writes it)."""
    from reportlab.pdfbase import pdfdoc

    def packed(entries: dict[str, object], content: bytes) -> object:
        return pdfdoc.PDFStream(pdfdoc.PDFDictionary(dict(entries)), content, [pdfdoc.PDFZCompress])

    monkeypatch.setattr(prepress, "_plain_stream", packed)
    return _plain(path)


def test_missing_or_inconsistent_metadata_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def details(path: Path) -> list[str]:
        return [f.detail for f in preflight(path).findings]

    path = _plain(tmp_path / "none.pdf")
    assert details(_edit(path, lambda pdf: pdf.Root.__delitem__("/Metadata"))) == ["no XMP metadata"]

    path = _plain(tmp_path / "title.pdf")
    assert details(_edit(path, lambda pdf: setattr(pdf.trailer.Info, "Title", "another title"))) == [
        "Info Title differs from dc:title"
    ]
    path = _plain(tmp_path / "clock.pdf")  # a date from the clock in Info only
    assert details(_edit(path, lambda pdf: setattr(pdf.trailer.Info, "ModDate", "D:20261130181500Z"))) == [
        "Info ModDate differs from xmp:ModifyDate"
    ]
    path = _plain(tmp_path / "x3.pdf")
    assert details(_edit(path, lambda pdf: _set_xmp(pdf, _xmp(pdf).replace("PDF/X-4", "PDF/X-3:2002")))) == [
        "pdfxid:GTS_PDFXVersion is 'PDF/X-3:2002', expected 'PDF/X-4'"
    ]
    path = _plain(tmp_path / "noid.pdf")
    stripped = details(
        _edit(path, lambda pdf: _set_xmp(pdf, re.sub(r"<xmpMM:VersionID>.*?</xmpMM:VersionID>\n", "", _xmp(pdf))))
    )
    assert stripped == ["no xmpMM:VersionID"]
    assert details(_packed_xmp(tmp_path / "packed.pdf", monkeypatch)) == ["the XMP metadata is compressed"]
    path = _plain(tmp_path / "broken.pdf")
    assert details(_edit(path, lambda pdf: _set_xmp(pdf, _xmp(pdf)[:200]))) == ["the XMP metadata does not parse"]


def test_an_older_version_an_annotation_or_an_action_is_found(tmp_path: Path) -> None:
    path = _plain(tmp_path / "v14.pdf")
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        pdf.save(path, force_version="1.4", static_id=True)
    assert rules(path) == ["None pdf_version"]

    def note(pdf: pikepdf.Pdf) -> None:
        pdf.pages[0].obj.Annots = pdf.make_indirect(pikepdf.Array([]))

    assert rules(_edit(_plain(tmp_path / "note.pdf"), note)) == ["1 forbidden"]
    path = _plain(tmp_path / "action.pdf")
    opened = _edit(path, lambda pdf: setattr(pdf.Root, "OpenAction", pikepdf.Array([pdf.pages[0].obj])))
    assert [str(f) for f in preflight(opened).findings] == ["file: forbidden: the catalog holds OpenAction"]


def test_two_files_of_a_job_never_share_an_id_and_a_rerun_gives_the_same_bytes(tmp_path: Path) -> None:
    first = [make_letter(k) for k in range(1, 4)]
    second = [make_letter(k) for k in range(4, 7)]
    render_batch(first, tmp_path / "a.pdf", job_id=JOB)
    render_batch(second, tmp_path / "b.pdf", job_id=JOB)
    render_batch(first, tmp_path / "a-again.pdf", job_id=JOB)
    a, b = preflight(tmp_path / "a.pdf"), preflight(tmp_path / "b.pdf")
    assert a.document_id and b.document_id and a.document_id != b.document_id
    with pikepdf.open(tmp_path / "a.pdf") as pa, pikepdf.open(tmp_path / "b.pdf") as pb:
        assert bytes(pa.trailer.ID[0]) != bytes(pb.trailer.ID[0])
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "a-again.pdf").read_bytes()


def test_subset_names_are_checked_across_the_files_of_a_job() -> None:
    same = {"ABCDEF+DejaVuSans": "1" * 64}
    assert subset_conflicts({"a.pdf": same, "b.pdf": same, "c.pdf": {"GHIJKL+DejaVuSans": "2" * 64}}) == []
    assert subset_conflicts({"a.pdf": same, "b.pdf": {"ABCDEF+DejaVuSans": "3" * 64}}) == [
        "ABCDEF+DejaVuSans names different font programs in a.pdf and b.pdf"
    ]


def test_the_shipped_output_profile_is_the_one_the_project_makes_and_a_cmm_reads_it() -> None:
    from PIL import ImageCms

    from convoc_dev.icc import gray_press_profile

    assert prepress.ICC_PROFILE.read_bytes() == gray_press_profile()
    profile = ImageCms.getOpenProfile(str(prepress.ICC_PROFILE)).profile
    assert (profile.device_class, profile.xcolor_space, profile.version) == ("prtr", "GRAY", 2.1)
    # solid black prints at the press's maximum density (L* ≈ 20.7 for D 1.5), paper white stays white
    to_lab = ImageCms.buildTransform(
        ImageCms.getOpenProfile(str(prepress.ICC_PROFILE)), ImageCms.createProfile("LAB"), "L", "LAB"
    )
    from PIL import Image

    tones = Image.new("L", (2, 1))
    tones.putpixel((0, 0), 0)
    tones.putpixel((1, 0), 255)
    lab = ImageCms.applyTransform(tones, to_lab)
    assert round(lab.getpixel((0, 0))[0] * 100 / 255) == 21 and lab.getpixel((1, 0))[0] == 255


def test_a_large_print_piece_is_one_record_over_its_pages(tmp_path: Path) -> None:
    path = tmp_path / "large.pdf"
    render_batch([make_letter(1), make_letter(2, format="large_print"), make_letter(3)], path, job_id=JOB)
    codes = [piece_code(JOB, 1), piece_code(JOB, 2, 1, 2), piece_code(JOB, 3)]
    assert preflight(path, 4, records=codes).passed
    with pikepdf.open(path) as pdf:
        [leaves] = pdf.Root.DPartRoot.DPartRootNode.DParts
        assert (leaves[1].Start.objgen, leaves[1].End.objgen) == (pdf.pages[1].obj.objgen, pdf.pages[2].obj.objgen)
        assert pdf.pages[1].obj.DPart.objgen == pdf.pages[2].obj.DPart.objgen == leaves[1].objgen
    # a record that names a piece of two pages but spans one is found
    cut = _edit(path, lambda pdf: pdf.Root.DPartRoot.DPartRootNode.DParts[0][1].__delitem__("/End"))
    assert [f.detail for f in preflight(cut, 4, records=codes).findings] == ["record 2 spans 1 pages, expected 2"]

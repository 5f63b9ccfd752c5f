"""Letters: address fit rule, page content, QR codes, templates, reproducible and private output."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import random
import re
import stat
import unicodedata
from datetime import date
from pathlib import Path

import pypdfium2
import pytest
import qrcode
import zxingcpp
from qrcode.util import MODE_8BIT_BYTE, QRData
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from convoc.errors import ConvocError
from convoc.letters import layout
from convoc.letters.qr import QrEncoder
from convoc.letters.render import (
    LANGUAGES,
    TEMPLATES_DIR,
    Letter,
    MissingTemplate,
    UnprintableText,
    household_names,
    letter_languages,
    load_template,
    piece_code,
    render_batch,
)

URL = "https://convoc.example.lu/b/"
LONG_STREET = "boulevard de la Grande-Duchesse Charlotte et du Prince Félix de Bourbon-Parme"


def make_letter(piece_id: int = 1, **changes: object) -> Letter:
    letter = Letter(
        piece_id=piece_id,
        invitation_id=f"vaccination:1:{piece_id}:1",
        campaign="vaccination",
        language="fr",
        family_name="Schmit",
        given_name="Marie",
        street="rue de la Gare",
        house_number="12",
        postcode="L-1611",
        locality="Luxembourg",
        booking_code="7QK2-M0ZD-4R1X",
        valid_from=date(2021, 2, 1),
        valid_until=date(2021, 2, 14),
        letter_date=date(2021, 1, 29),
        centre_name="Hall Victor Hugo",
        centre_address=("60, avenue Victor Hugo", "L-1750 Luxembourg"),
        phase="2a",
    )
    return dataclasses.replace(letter, **changes)  # type: ignore[arg-type]


def page_text(path: Path, index: int) -> str:
    pdf = pypdfium2.PdfDocument(path)
    try:
        return str(pdf[index].get_textpage().get_text_range())
    finally:
        pdf.close()


def decoded(path: Path, index: int) -> set[str]:
    pdf = pypdfium2.PdfDocument(path)
    try:
        img = pdf[index].render(scale=300 / 72).to_pil()
    finally:
        pdf.close()
    return {b.text for b in zxingcpp.read_barcodes(img)}


# --- address block -----------------------------------------------------------------------------------

ADDRESSES = {
    "plain": ("Marie", "Schmit", "rue de la Gare", "12", "L-1611", "Luxembourg"),
    "long street": ("Jean", "Weber", LONG_STREET, "123A", "L-1331", "Luxembourg"),
    "long names": (
        "Jean-Pierre Maximilien Alexandre",
        "Wojciechowski-Dąbrowska de la Fontaine-Vandermeulen",
        "route d'Arlon",
        "280",
        "L-8010",
        "Strassen",
    ),
    "everything long": (
        "Anna-Maria Konstancja Zofia",
        "Kővári-Ștefănescu Gonçalves de Albuquerque e Vasconcelos",
        "rue du Lieutenant-Colonel Saint-Exupéry et de l'avenue de la Liberté prolongée",
        "1001-1003",
        "L-4360",
        "Esch-sur-Alzette Belval Porte de France Quartier Universitaire",
    ),
    "no house number": ("Ana", "Silva", "Op der Héicht", None, "L-9999", "Wemperhardt"),
}


@pytest.mark.parametrize("name", ADDRESSES)
def test_address_lines_fit_the_window(name: str) -> None:
    block = layout.format_address(*ADDRESSES[name])
    placed = layout.address_placements(block)
    assert 1 <= len(placed) <= layout.ADDRESS_MAX_LINES
    assert block.size in layout.ADDRESS_FONT_SIZES
    for line in placed:
        width_mm = pdfmetrics.stringWidth(line.text, layout.FONT_REGULAR, line.size) / layout.MM
        assert line.size == block.size
        assert line.x_mm >= layout.ADDRESS_FIELD_LEFT_MM
        assert line.x_mm + width_mm <= layout.ADDRESS_FIELD_LEFT_MM + layout.ADDRESS_FIELD_WIDTH_MM  # 105 mm
        assert width_mm <= 85.0
        assert line.top_mm >= 62.7
        assert line.bottom_mm <= 90.0
    # what the renderer draws is what is placed here
    drawn = [(x.text, x.font, x.size, x.y_mm, x.x_mm) for x in layout.address_lines(block)]
    assert drawn == [(p.text, layout.FONT_REGULAR, p.size, p.baseline_mm, p.x_mm) for p in placed]


def test_address_plain_is_three_lines_at_10pt_without_country() -> None:
    block = layout.format_address(*ADDRESSES["plain"])
    assert block == layout.AddressBlock(("Marie Schmit", "rue de la Gare 12", "L-1611 Luxembourg"), 10.0)


def test_address_drops_to_9pt_before_shortening() -> None:
    street = "rue de la Montagne Sainte-Geneviève"
    while layout.text_width_mm(f"{street} 1", 10) <= layout.ADDRESS_MAX_LINE_MM:
        street += "e"
    assert layout.text_width_mm(f"{street} 1", 9) <= layout.ADDRESS_MAX_LINE_MM  # precondition
    block = layout.format_address("Marie", "Schmit", street, "1", "L-1611", "Luxembourg")
    assert block.size == 9.0
    assert block.lines[1] == f"{street} 1"


def test_long_street_is_abbreviated_then_truncated_keeping_the_house_number() -> None:
    block = layout.format_address(*ADDRESSES["long street"])
    street_line = block.lines[1]
    assert block.size == 8.0
    assert street_line.startswith("bd de la Gde-Dsse Charlotte")
    assert street_line.endswith("… 123A")


def test_abbreviation_alone_when_it_is_enough() -> None:
    street = "boulevard du Colonel Saint-Exupéry et de la Grande-Duchesse Charlotte"
    assert layout.text_width_mm(f"{street} 5", 8) > layout.ADDRESS_MAX_LINE_MM  # precondition
    block = layout.format_address("Marie", "Schmit", street, "5", "L-1611", "Luxembourg")
    assert block.lines[1] == "bd du Col. St-Exupéry et de la Gde-Dsse Charlotte 5"


def test_long_given_names_become_initials() -> None:
    block = layout.format_address(*ADDRESSES["long names"])
    assert block.lines[0].startswith("J.-P. M. A. Wojciechowski")
    assert block.lines[1] == "route d'Arlon 280"  # fits: not abbreviated
    assert block.lines[2] == "L-8010 Strassen"


def test_initials() -> None:
    assert layout.initials("Jean-Pierre") == "J.-P."
    assert layout.initials("Anna Maria") == "A. M."


def test_long_locality_keeps_its_postcode() -> None:
    block = layout.format_address(*ADDRESSES["everything long"])
    assert block.lines[2].startswith("L-4360 Esch-sur-Alzette")
    assert block.lines[2].endswith("…")
    assert block.lines[1].endswith(" 1001-1003")


def test_missing_font_files_raise_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConvocError, match=r"shipped with convoc \(convoc/fonts\); reinstall the package"):
        layout.register_fonts.__wrapped__(tmp_path)


# --- templates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("campaign", ["vaccination", "booster", "testing", "information"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_template_loads(campaign: str, language: str) -> None:
    template = load_template(TEMPLATES_DIR / campaign / f"{language}.txt")
    body = " ".join(template.paragraphs)
    assert template.subject
    assert "{booking_code}" in body and "{valid_until}" in body


def test_a_template_may_name_its_booking_box(tmp_path: Path) -> None:
    information = load_template(TEMPLATES_DIR / "information" / "en.txt")
    assert information.labels == {"code": "Your household's registration code", "book": "Register at"}
    assert information.paragraphs[0] == "Dear Sir or Madam,"
    assert load_template(TEMPLATES_DIR / "vaccination" / "en.txt").labels == {}


def test_unknown_placeholder_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fr.txt"
    path.write_text("subject: Test\nBonjour {prenom}\n", encoding="utf-8")
    with pytest.raises(ConvocError, match="prenom"):
        load_template(path)


# --- QR -----------------------------------------------------------------------------------------------


def _qrcode_matrix(data: str, version: int) -> list[list[bool]]:
    qr = qrcode.QRCode(
        version=version, error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=0, mask_pattern=0
    )
    qr.add_data(QRData(data.encode(), mode=MODE_8BIT_BYTE))  # byte mode, as QrEncoder encodes
    qr.make(fit=False)
    return qr.get_matrix()  # type: ignore[no-any-return]


@pytest.mark.parametrize("version", [3, 4])
def test_encoder_matches_the_qrcode_package_module_for_module(version: int) -> None:
    rnd = random.Random(version)
    encoder = QrEncoder(version)
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ-|/:.abcxyzé"
    payloads = [URL + "7QK2-M0ZD-4R1X", "J20210201|1|1/1", "J20210201|1234567|1/1", "x", "é" * 10]
    payloads += ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 30))) for _ in range(150)]
    for data in payloads:
        assert encoder.rows(data) == _qrcode_matrix(data, version), data


def test_encoder_asks_the_qrcode_package_once_per_bit_that_ever_differs(monkeypatch: pytest.MonkeyPatch) -> None:
    from convoc.letters import qr

    calls: list[bytes] = []
    own = qr.reference_matrix
    monkeypatch.setattr(qr, "reference_matrix", lambda data, *a: calls.append(data) or own(data, *a))
    encoder = QrEncoder(3)
    for piece in range(1000, 10000, 7):  # four digits: only their low four bits ever differ
        assert encoder.rows(f"J20210201|{piece}|1/1") == _qrcode_matrix(f"J20210201|{piece}|1/1", 3)
    assert len(calls) == 1 + 4 * 4


def test_encoder_image_mask_is_padded_rows_top_first() -> None:
    encoder = QrEncoder(3)
    data = "J20210201|42|1/1"
    mask = encoder.image_mask(data)
    assert encoder.modules == 29 and encoder.row_bytes == 4 and len(mask) == 29 * 4
    matrix = _qrcode_matrix(data, 3)
    for r, row in enumerate(matrix):
        bits = int.from_bytes(mask[4 * r : 4 * r + 4], "big")
        assert bits & 0b111 == 0  # padding bits are light
        assert [bool(bits >> (31 - c) & 1) for c in range(29)] == row


def test_encoder_refuses_a_payload_longer_than_its_version_holds() -> None:
    with pytest.raises(ConvocError, match="does not fit a version-3"):
        QrEncoder(3).packed("x" * 43)  # version 3-M holds 42 bytes


def test_recurring_text_is_drawn_once_per_batch(tmp_path: Path) -> None:
    # Twenty letters differ only by person and code: the template's paragraphs become shared forms, so
    # the file grows by much less per page than the first page costs, and every page still reads whole.
    def batch(n: int) -> int:
        letters = [
            make_letter(i, family_name=f"Schmit{i}", booking_code=f"7QK2-M0ZD-{i:04d}"[:14]) for i in range(1, n + 1)
        ]
        return render_batch(letters, tmp_path / f"b{n}.pdf", job_id="J1", booking_url=URL).bytes

    one, twenty = batch(1), batch(20)
    assert (twenty - one) / 19 < 1_500
    text = page_text(tmp_path / "b20.pdf", 13)
    assert "Schmit14" in text and "7QK2-M0ZD-0014" in text
    assert "munissez-vous de cette lettre" in text and "Hall Victor Hugo" in text


def test_payload_too_long_for_the_fixed_version_fails_before_writing(tmp_path: Path) -> None:
    out = tmp_path / "batch.pdf"
    with pytest.raises(ConvocError, match="does not fit"):
        render_batch([make_letter()], out, job_id="J1", booking_url="https://" + "x" * 80 + "/")
    assert list(tmp_path.iterdir()) == []


# --- batch ---------------------------------------------------------------------------------------------


def test_batch_pages_result_and_qr_codes(tmp_path: Path) -> None:
    letters = [
        make_letter(101),
        make_letter(102, language="de", campaign="booster"),
        make_letter(103, language="en", campaign="testing", booking_code="ZZ9Q-0000-ABCD-T"),
    ]
    out = tmp_path / "out" / "batch.pdf"
    result = render_batch(letters, out, job_id="2021-W05-b0001", booking_url=URL)

    data = out.read_bytes()
    pdf = pypdfium2.PdfDocument(out)
    assert len(pdf) == result.pages == result.pieces == 3
    pdf.close()
    assert result.path == out and result.bytes == len(data)
    import hashlib

    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert json.loads(json.dumps(result.as_dict()))["pages"] == 3
    assert not out.with_suffix(".part").exists()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600

    assert decoded(out, 0) == {URL + "7QK2-M0ZD-4R1X", "2021-W05-b0001|101|1/1"}
    assert decoded(out, 2) == {URL + "ZZ9Q-0000-ABCD-T", piece_code("2021-W05-b0001", 103)}
    last = page_text(out, 2)
    assert "ZZ9Q-0000-ABCD-T" in last and "2021-W05-b0001|103|1/1" in last


def household(piece_id: int, size: int, language: str = "en") -> Letter:
    others = ("Jean Schmit", "Léa Schmit-Weber", "Tom Schmit", "Zoé Schmit")[: size - 1]
    return make_letter(
        piece_id, campaign="information", language=language, phase="household", booking_code="7QK2-M0ZD-4R1X-M",
        co_residents=others[:3], household_size=size, centre_name="", centre_address=(),
    )  # fmt: skip


def test_a_household_letter_names_its_residents_in_the_window(tmp_path: Path) -> None:
    out = tmp_path / "household.pdf"
    letters = [household(1, 1), household(2, 3), household(3, 5), household(4, 5, language="de"), household(5, 1, "")]
    render_batch(letters, out, job_id="J20210517", booking_url=URL)
    more_names = ((), ("Jean Schmit", "Léa Schmit-Weber"), ("Jean Schmit", "and the other residents"))
    blocks = [layout.format_address("Marie", "Schmit", "rue de la Gare", "12", "L-1611", "Luxembourg", more)
              for more in more_names]  # fmt: skip
    assert [b.lines for b in blocks] == [
        ("Marie Schmit", "rue de la Gare 12", "L-1611 Luxembourg"),
        ("Marie Schmit", "Jean Schmit", "Léa Schmit-Weber", "rue de la Gare 12", "L-1611 Luxembourg"),
        ("Marie Schmit", "Jean Schmit", "and the other residents", "rue de la Gare 12", "L-1611 Luxembourg"),
    ]
    # every line inside the window's address zone
    for block in blocks:
        assert all(p.bottom_mm <= layout.ADDRESS_ZONE_TOP_MM + layout.ADDRESS_ZONE_HEIGHT_MM
                   for p in layout.address_placements(block))  # fmt: skip
    assert [household_names(letter, letter_languages(letter.language)) for letter in letters] == [
        (), ("Jean Schmit", "Léa Schmit-Weber"), ("Jean Schmit", "and the other residents"),
        ("Jean Schmit", "und die weiteren Bewohner"), (),
    ]  # fmt: skip
    # what the pages print (text order in a PDF is drawing order: lines shared by pages are drawn as forms)
    texts = [page_text(out, k) for k in range(5)]
    lines = [set(text.split("\r\n")) for text in texts]
    assert "Jean Schmit" not in lines[0] and {"Marie Schmit", "rue de la Gare 12", "L-1611 Luxembourg"} <= lines[0]
    assert {"Marie Schmit", "Jean Schmit", "Léa Schmit-Weber", "rue de la Gare 12"} <= lines[1]
    assert {"Jean Schmit", "and the other residents"} <= lines[2] and "Léa" not in texts[2]
    assert "und die weiteren Bewohner" in lines[3]
    # the template's own labels, in the letter's languages (French then German when unknown)
    assert "Your household's registration code" in texts[1] and "Register at: " + URL in texts[1]
    assert "Anmeldecode Ihres Haushalts" in texts[3] and "Book at" not in texts[1] + texts[3]
    assert "Inscription sur / Anmeldung auf: " + URL in texts[4]
    assert decoded(out, 2) == {URL + "7QK2-M0ZD-4R1X-M", piece_code("J20210517", 3)}


NAMES = [
    ("Łukasz", "Kővári"),
    ("Ștefan", "Jørgensen"),
    ("Begoña", "Gonçalves"),
    ("João", "Müller-Weiß"),
    ("Hélène", "Wójcik"),
    ("Grzegorz Łoś", "Lőrincz-Ștefănescu"),
    ("Søren Ñúñez", "França-Conceição"),
    ("Jürgen", "Strauß-Désiré"),
]


def test_names_with_diacritics_render_intact(tmp_path: Path) -> None:
    face = TTFont("check", str(layout.FONT_DIR / "DejaVuSans.ttf")).face
    for given, family in NAMES:
        for char in given + family:
            assert face.charToGlyph.get(ord(char), 0) != 0, char
    letters = [make_letter(i, given_name=g, family_name=f) for i, (g, f) in enumerate(NAMES)]
    out = tmp_path / "names.pdf"
    render_batch(letters, out, job_id="J")
    for i, (given, family) in enumerate(NAMES):
        assert f"{given} {family}" in page_text(out, i)


UNPRINTABLE = {
    "CJK name": ({"given_name": "小明", "family_name": "王"}, "U+5C0F CJK UNIFIED IDEOGRAPH-5C0F", "no glyph in font"),
    "Hebrew name": ({"family_name": "כהן"}, "U+05D4 HEBREW LETTER HE", "right-to-left"),
    "Arabic street": ({"street": "شارع الملك فيصل"}, "U+0627 ARABIC LETTER ALEF", "right-to-left"),
    "zero-width space": ({"family_name": "Sch\u200bmit"}, "U+200B ZERO WIDTH SPACE", "invisible format"),
    "private use": ({"given_name": "Ma\ue000rie"}, "U+E000 <private use>", "private-use"),
    "control": ({"locality": "Luxem\x07bourg"}, "U+0007 <control>", "control"),
}


@pytest.mark.parametrize("case", UNPRINTABLE)
def test_unprintable_text_refuses_the_batch_before_writing(tmp_path: Path, case: str) -> None:
    changes, char, reason = UNPRINTABLE[case]
    changes = {**changes, "booking_code": "ZZ9Q-0000-ABCD-T"}
    bad = make_letter(42, **changes)
    out = tmp_path / "pdf" / "batch.pdf"
    out.parent.mkdir()
    out.write_bytes(b"previous")  # an earlier render stays as it was
    with pytest.raises(UnprintableText) as refused:
        render_batch([make_letter(1), make_letter(2), bad, make_letter(3)], out, job_id="J20210201")
    message = str(refused.value)
    assert isinstance(refused.value, ConvocError) and refused.value.piece_ids == [42]
    assert message.startswith("job J20210201: the text of piece 42 ")
    assert f"  - {reason}" in message and f": {char}" in message and message.endswith("(piece 42)")
    for text in changes.values():  # never the name, address or booking code
        assert text not in message
        for word in text.split():
            assert word not in message
    assert "Schmit" not in message and "Marie" not in message and "7QK2-M0ZD-4R1X" not in message
    assert sorted(p.name for p in out.parent.iterdir()) == ["batch.pdf"] and out.read_bytes() == b"previous"


def test_unprintable_message_lists_a_few_pieces_and_counts_them(tmp_path: Path) -> None:
    letters = [make_letter(i, family_name="王" if i % 2 else "Schmit") for i in range(1, 31)]
    with pytest.raises(UnprintableText) as refused:
        render_batch(letters, tmp_path / "b.pdf", job_id="J1")
    message = str(refused.value)
    assert refused.value.piece_ids == list(range(1, 31, 2))
    assert "15 pieces: 1, 3, 5, 7, 9 and 10 more" in message
    assert "- no glyph in font DejaVuSans: U+738B CJK UNIFIED IDEOGRAPH-738B (15 pieces: 1, 3, 5, 7, 9" in message
    assert "王" not in message and "11" not in message  # piece ids beyond the first few are counted
    assert list(tmp_path.iterdir()) == []


def test_glyph_is_checked_in_the_font_the_line_is_drawn_with(tmp_path: Path) -> None:
    # U+01E5 LATIN SMALL LETTER G WITH STROKE: in DejaVu Sans, not in DejaVu Sans Mono (the booking code's font).
    layout.register_fonts()
    regular, mono = (pdfmetrics.getFont(f).face.charToGlyph for f in (layout.FONT_REGULAR, layout.FONT_MONO))
    assert regular.get(0x1E5) and not mono.get(0x1E5)  # precondition
    render_batch([make_letter(family_name="Schmi\u01e5")], tmp_path / "ok.pdf", job_id="J")
    with pytest.raises(
        UnprintableText, match=r"no glyph in font DejaVuSansMono: U\+01E5 LATIN SMALL LETTER G WITH STROKE \(piece 1\)"
    ):
        render_batch([make_letter(booking_code="7QK2-M0ZD-\u01e5R1")], tmp_path / "bad.pdf", job_id="J")
    assert not (tmp_path / "bad.pdf").exists()


def test_rendered_address_is_the_layout_block(tmp_path: Path) -> None:
    out = tmp_path / "long.pdf"
    render_batch([make_letter(street=LONG_STREET, house_number="123A")], out, job_id="J")
    block = layout.format_address("Marie", "Schmit", LONG_STREET, "123A", "L-1611", "Luxembourg")
    text = page_text(out, 0)
    for line in block.lines:
        assert line in text


def test_portuguese_letter(tmp_path: Path) -> None:
    out = tmp_path / "pt.pdf"
    render_batch([make_letter(language="pt")], out, job_id="J")
    text = page_text(out, 0)
    assert "Convite para a vacinação contra a COVID-19" in text
    assert "Luxemburgo, 29 de janeiro de 2021" in text
    assert "1 de fevereiro de 2021" in text
    assert "Luxembourg, le" not in text


@pytest.mark.parametrize("language", [None, "lb", "it"])
def test_unknown_language_gives_a_bilingual_french_german_letter(tmp_path: Path, language: str | None) -> None:
    out = tmp_path / "bi.pdf"
    render_batch([make_letter(language=language, campaign="testing")], out, job_id="J")
    text = page_text(out, 0)
    assert "Invitation à un test gratuit de dépistage de la COVID-19" in text
    assert "Einladung zu einem kostenlosen COVID-19-Test" in text
    assert "Luxembourg, le 29 janvier 2021" in text and "Luxemburg, den 29. Januar 2021" in text


def test_missing_template_raises_before_any_file_is_written(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    (templates / "vaccination").mkdir(parents=True)
    (templates / "vaccination" / "fr.txt").write_text("subject: Invitation\nBonjour {given_name}.\n", encoding="utf-8")
    out = tmp_path / "pdf" / "batch.pdf"

    render_batch([make_letter(language="fr")], out, job_id="J", templates=templates)  # fr alone is enough
    out.unlink()
    for letter, missing in [
        (make_letter(language="de"), "'de'"),
        (make_letter(language=None), "'de'"),  # bilingual needs fr and de
        (make_letter(campaign="leaflet"), "'leaflet'"),  # neither here nor shipped (booster would be shipped)
    ]:
        with pytest.raises(MissingTemplate, match=missing) as err:
            render_batch([make_letter(language="fr"), letter], out, job_id="J", templates=templates)
        assert err.value.campaign == letter.campaign
        assert list((tmp_path / "pdf").iterdir()) == []


def test_the_letter_text_is_drawn_once_a_file_whatever_addresses_neighbours_share(tmp_path: Path) -> None:
    """Two by two, neighbours share a street and a locality: the template's paragraphs that follow the address are
    still one form for the whole file, not one per street (the address block never starts a recurring run)."""
    import pikepdf

    letters = [
        make_letter(k, given_name=f"Anne{chr(65 + k % 26)}", street=f"rue {k // 2}", locality=f"Lieu {k // 2}")
        for k in range(1, 21)
    ]
    out = tmp_path / "neighbours.pdf"
    render_batch(letters, out, job_id="J20210129", booking_url=URL)
    with pikepdf.open(out) as pdf:
        streams = [obj.read_bytes() for obj in pdf.objects if isinstance(obj, pikepdf.Stream)]
    assert sum(b"(Madame, Monsieur,) Tj" in data for data in streams) == 1
    assert sum(b"(rue 3 12) Tj" in data for data in streams) == 2  # each neighbour's page draws its own address
    assert [page_text(out, k).splitlines().count("Madame, Monsieur,") for k in range(20)] == [1] * 20


def test_the_cyclic_collector_is_paused_while_a_batch_renders_and_resumed_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    from convoc.letters import render

    seen: list[bool] = []
    draw = render._draw_pages
    monkeypatch.setattr(render, "_draw_pages", lambda *a, **k: seen.append(gc.isenabled()) or draw(*a, **k))
    assert gc.isenabled()
    render_batch([make_letter()], tmp_path / "a.pdf", job_id="J")
    assert seen == [False] and gc.isenabled()
    with pytest.raises(ConvocError, match="empty"):  # resumed when the render fails too
        render_batch([], tmp_path / "b.pdf", job_id="J")
    assert gc.isenabled()
    gc.disable()  # and left paused if it was
    try:
        render_batch([make_letter()], tmp_path / "c.pdf", job_id="J")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_same_input_gives_the_same_bytes(tmp_path: Path) -> None:
    letters = [make_letter(i, language=lang) for i, lang in enumerate(["fr", "de", None, "pt", "en"])]
    a = render_batch(letters, tmp_path / "a.pdf", job_id="J")
    b = render_batch(letters, tmp_path / "b.pdf", job_id="J")
    assert a.sha256 == b.sha256
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


def test_pages_are_written_byte_for_byte_as_reportlab_writes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``convoc.letters.pdf_objects`` writes every page, content stream, record and text object itself: the file is
    reportlab's own — with names of every Latin letter with a diacritic (more characters than one font subset holds:
    the text objects switch subsets within a line), a no-break space, and an empty address line."""
    from convoc.letters import pdf_objects

    languages = itertools.cycle(["fr", "de", None, "pt", "en", "lb"])
    letters = [
        make_letter(i, language=next(languages), format="large_print" if i % 7 == 0 else "standard")
        for i in range(1, 41)
    ]
    latin = [chr(c) for c in range(0xC0, 0x250) if unicodedata.category(chr(c)) in ("Lu", "Ll") and c != 0xD7]
    names = ["".join(latin[k : k + 12]) for k in range(0, len(latin), 12)]
    letters += [make_letter(41 + k, family_name=name, given_name="Anne\u00a0Marie") for k, name in enumerate(names)]
    letters.append(make_letter(41 + len(names), street="", house_number=""))
    written: list[str] = []
    texts: list[int] = []
    monkeypatch.setattr(
        pdf_objects, "text_object", lambda c, lines, own=pdf_objects.text_object: texts.append(1) or own(c, lines)
    )
    for kind in (pdf_objects.LetterPage, pdf_objects.RecordPart):
        own = kind.format
        monkeypatch.setattr(
            kind, "format", lambda obj, doc, own=own: written.append(type(obj).__name__) or own(obj, doc)
        )
    fast = render_batch(letters, tmp_path / "fast.pdf", job_id="J20210129", booking_url=URL)
    # every page, large print's second pages included, and every piece's record; a text object on every page
    assert (written.count("LetterPage"), written.count("RecordPart")) == (fast.pages, fast.pieces)
    assert fast.pieces == len(letters) > 60 and fast.pages > 65 and len(texts) > fast.pages
    text = "".join(page_text(tmp_path / "fast.pdf", k) for k in range(fast.pages))
    assert all(f"Anne Marie {name}" in text for name in names) and len(set("".join(names))) > 200
    monkeypatch.setattr(pdf_objects, "ENABLED", False)
    reportlab = render_batch(letters, tmp_path / "reportlab.pdf", job_id="J20210129", booking_url=URL)
    assert len(written) == fast.pages + fast.pieces
    assert (tmp_path / "fast.pdf").read_bytes() == (tmp_path / "reportlab.pdf").read_bytes()
    assert fast.sha256 == reportlab.sha256


def test_existing_file_is_replaced_with_mode_0600(tmp_path: Path) -> None:
    out = tmp_path / "batch.pdf"
    out.write_bytes(b"old")
    out.chmod(0o644)
    render_batch([make_letter()], out, job_id="J")
    assert out.read_bytes().startswith(b"%PDF")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_empty_batch_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConvocError, match="empty"):
        render_batch([], tmp_path / "x.pdf", job_id="J")


def test_text_that_cannot_fit_the_page_fails_before_writing(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    (templates / "vaccination").mkdir(parents=True)
    words = " ".join(["Madame, Monsieur, veuillez prendre rendez-vous."] * 200)
    (templates / "vaccination" / "fr.txt").write_text(f"subject: Invitation\n{words}\n", encoding="utf-8")
    out = tmp_path / "pdf" / "batch.pdf"
    with pytest.raises(ConvocError, match="does not fit the page"):
        render_batch([make_letter()], out, job_id="J", templates=templates)
    assert not out.parent.exists()


# --- fonts as prepress sees them (issue 17, item 1) -----------------------------------------------------

BASE_14 = (b"Helvetica", b"Times-", b"Courier", b"Symbol", b"ZapfDingbats")


def _fonts(path: Path) -> tuple[list[str], int]:
    """The BaseFont names of a file's fonts and how many embedded font programs (FontFile2) it holds."""
    data = path.read_bytes()
    names = [m.decode() for m in re.findall(rb"/BaseFont /([^\s/>]+)", data)]
    return names, data.count(b"/FontFile2")


def test_every_font_is_an_embedded_subset_named_by_its_content(tmp_path: Path) -> None:
    first, second, again = tmp_path / "b1.pdf", tmp_path / "b2.pdf", tmp_path / "b3.pdf"
    render_batch([make_letter(1), make_letter(2, language="de", given_name="Łukasz")], first, job_id="J20210201")
    render_batch([make_letter(3, given_name="Zoë", language="pt")], second, job_id="J20210201")
    render_batch([make_letter(1), make_letter(2, language="de", given_name="Łukasz")], again, job_id="J20210201")
    found = {path.name: _fonts(path) for path in (first, second)}
    for name, (fonts, embedded) in found.items():
        assert not any(base in path.read_bytes() for base in BASE_14 for path in (first, second)), name
        assert fonts and all(re.fullmatch(r"[A-Z]{6}\+DejaVuSans(-Bold|Mono)?", f) for f in fonts), fonts
        assert embedded == len(fonts)  # one font program per subset: all embedded
    regular = {name: next(f for f in fonts if f.endswith("+DejaVuSans")) for name, (fonts, _) in found.items()}
    # different names (Ł, ë) → different subsets → different tags across the files of one job; none is AAAAAA
    assert regular["b1.pdf"] != regular["b2.pdf"] and "AAAAAA+DejaVuSans" not in regular.values()
    # the same letters → the same subset and name
    assert _fonts(again)[0] == found["b1.pdf"][0]


def test_subset_tags_are_six_capitals_from_font_and_code_points() -> None:
    tag = layout.subset_tag("DejaVuSans", [32, 65, 66])
    assert re.fullmatch("[A-Z]{6}", tag) and tag == layout.subset_tag("DejaVuSans", [32, 65, 66])
    assert tag != layout.subset_tag("DejaVuSans", [32, 65, 67]) != layout.subset_tag("DejaVuSans-Bold", [32, 65, 67])


# --- large print ----------------------------------------------------------------------------------


def chars(path: Path, index: int) -> list[tuple[str, float, float, float, float, float, float]]:
    """Every drawn character of a page: (char, font size in pt, left, top, right, bottom, baseline in mm from the
    top-left)."""
    import ctypes

    import pypdfium2.raw as raw

    pdf = pypdfium2.PdfDocument(path)
    try:
        text = pdf[index].get_textpage()
        found = []
        for i in range(text.count_chars()):
            char = text.get_text_range(i, 1)
            if not char.strip():
                continue
            left, bottom, right, top = text.get_charbox(i)
            x, y = ctypes.c_double(), ctypes.c_double()
            raw.FPDFText_GetCharOrigin(text.raw, i, x, y)
            page_mm = layout.PAGE_HEIGHT_MM
            size = float(raw.FPDFText_GetFontSize(text.raw, i))
            box = (left / layout.MM, page_mm - top / layout.MM, right / layout.MM, page_mm - bottom / layout.MM)
            found.append((char, size, *box, page_mm - y.value / layout.MM))
        return found
    finally:
        pdf.close()


def test_a_large_print_letter_is_16_pt_on_two_pages_with_its_address_in_the_window(tmp_path: Path) -> None:
    out = tmp_path / "large.pdf"
    letters = [make_letter(1), make_letter(2, format="large_print", given_name="Jean-Paul"), make_letter(3)]
    result = render_batch(letters, out, job_id="J20210129", booking_url=URL)
    assert (result.pages, result.pieces) == (4, 3)
    # the piece code on every page says k/n; the booking QR on the piece's first page only
    assert [decoded(out, k) for k in range(4)] == [
        {URL + "7QK2-M0ZD-4R1X", "J20210129|1|1/1"},
        {URL + "7QK2-M0ZD-4R1X", "J20210129|2|1/2"},
        {"J20210129|2|2/2"},
        {URL + "7QK2-M0ZD-4R1X", "J20210129|3|1/1"},
    ]
    first, second = chars(out, 1), chars(out, 2)
    # the address: same lines and size as the standard letter's, inside the window's address zone
    block = layout.format_address("Jean-Paul", "Schmit", "rue de la Gare", "12", "L-1611", "Luxembourg")
    window = [c for c in first if c[3] >= layout.ADDRESS_ZONE_TOP_MM and c[5] <= layout.ADDRESS_ZONE_BOTTOM_MM + 1]
    assert "".join(c[0] for c in window) == "".join("".join(line.split()) for line in block.lines)
    assert {c[1] for c in window} == {block.size}
    assert all(c[2] >= layout.ADDRESS_FIELD_LEFT_MM and c[4] <= 105.0 for c in window)
    # everything below the window in 16 pt or more, but the inserter's piece code under its QR code
    body = [c for page in (first, second) for c in page
            if c[3] > layout.ADDRESS_ZONE_BOTTOM_MM and not (c[3] > layout.PIECE_QR_TOP_MM and c[2] < 25)]  # fmt: skip
    assert min(c[1] for c in body) == layout.LARGE_BODY_SIZE
    assert {c[1] for c in body} == {16.0, 18.0, 24.0}  # body and labels, subject, code in clear
    text = page_text(out, 1) + page_text(out, 2)
    assert "7QK2-M0ZD-4R1X" in page_text(out, 1) and "1/2" in page_text(out, 1) and "2/2" in page_text(out, 2)
    assert "Le ministère de la Santé" in page_text(out, 2) and "Invitation à la vaccination" in text
    # generous line spacing: body baselines 1.5 × 16 pt apart
    baselines = sorted({round(c[6], 2) for c in second if c[1] == 16.0 and c[6] <= layout.LARGE_BOX_BOTTOM_MM})
    pitches = {round(b - a, 1) for a, b in itertools.pairwise(baselines)}
    assert min(pitches) == round(16 * 1.5 / layout.MM, 1) == 8.5  # and paragraphs further apart
    assert max(baselines) <= layout.LARGE_BOX_BOTTOM_MM
    # the standard letters around it are unchanged: one page each, the same characters at the same places as
    # rendered alone (in another order: in a batch, text that recurs is drawn from forms before the page's own)
    alone = tmp_path / "alone.pdf"
    render_batch([make_letter(1)], alone, job_id="J20210129", booking_url=URL)
    # (within 0.01 mm: lines placed by moves on a 0.01 pt grid from another first line)
    in_batch, by_itself = chars(out, 0), chars(alone, 0)
    assert len(in_batch) == len(by_itself) > 500
    for c in in_batch:
        twin = next(x for x in by_itself if x[:2] == c[:2] and math.dist(x[2:], c[2:]) < 0.01)
        by_itself.remove(twin)
    assert sorted(page_text(out, 0).splitlines()) == sorted(page_text(alone, 0).splitlines())


def test_a_large_print_letter_in_two_languages_starts_german_on_a_page_of_its_own(tmp_path: Path) -> None:
    from convoc.letters.render import load_templates, piece_pages

    bilingual = make_letter(5, language=None, format="large_print")
    out = tmp_path / "fr-de.pdf"
    render_batch([bilingual], out, job_id="J20210129", booking_url=URL)
    assert piece_pages(bilingual, load_templates([bilingual]), booking_url=URL) == 3
    assert [decoded(out, k) for k in range(3)] == [
        {URL + "7QK2-M0ZD-4R1X", "J20210129|5|1/3"}, {"J20210129|5|2/3"}, {"J20210129|5|3/3"}
    ]  # fmt: skip
    assert page_text(out, 2).split("\r\n")[1] == "Einladung zur Impfung gegen COVID-19"  # after the header
    labels = page_text(out, 0).split("\r\n")
    assert "Votre code personnel" in labels and "Ihr persönlicher Code" in labels  # one language per line


def test_page_counts_are_the_layouts_and_a_batch_file_disagreeing_is_refused(tmp_path: Path) -> None:
    from convoc.letters.render import load_templates, piece_pages

    letters = [
        make_letter(1),
        make_letter(2, format="large_print"),
        make_letter(3, format="large_print", language="de"),
    ]
    found = load_templates(letters)
    assert [piece_pages(x, found) for x in letters] == [1, 2, 2]
    assert render_batch(letters, tmp_path / "ok.pdf", job_id="J", pages=[1, 2, 2]).pages == 5
    out = tmp_path / "bad.pdf"
    with pytest.raises(ConvocError, match=r"piece 2 takes 2 pages, its batch file says 1.*cut the day again"):
        render_batch(letters, out, job_id="J", pages=[1, 1, 2])
    assert not out.exists()
    with pytest.raises(ConvocError, match="unknown letter format 'braille'"):
        render_batch([make_letter(format="braille")], out, job_id="J")
    assert not out.exists()


def test_a_large_print_text_longer_than_four_pages_fails_before_writing(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    (templates / "vaccination").mkdir(parents=True)
    words = " ".join(["Madame, Monsieur, veuillez prendre rendez-vous."] * 150)
    (templates / "vaccination" / "fr.txt").write_text(f"subject: Invitation\n{words}\n", encoding="utf-8")
    out = tmp_path / "large.pdf"
    with pytest.raises(ConvocError, match=r"large-print letter .* needs more than 4 pages \(piece 1\)"):
        render_batch([make_letter(format="large_print")], out, job_id="J", templates=templates)
    assert not out.exists()

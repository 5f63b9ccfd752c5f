"""Page geometry of the invitation letter (DIN 5008 form B, A4 portrait) and the address block.

All distances are millimetres measured from the top-left corner of the page, as in the standard;
the renderer converts them to PDF points (origin bottom-left) with :func:`pt_x` and :func:`pt_y`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from convoc import fonts
from convoc.errors import ConvocError

MM = 72.0 / 25.4
"""PDF points per millimetre."""

PAGE_WIDTH_MM = 210.0
PAGE_HEIGHT_MM = 297.0

# DIN 5008 form B window (envelope C5/6 or DL with window).
ADDRESS_FIELD_LEFT_MM = 20.0
ADDRESS_FIELD_TOP_MM = 45.0
ADDRESS_FIELD_WIDTH_MM = 85.0
ADDRESS_FIELD_HEIGHT_MM = 45.0
NOTES_ZONE_HEIGHT_MM = 17.7
"""Return-address / notes zone at the top of the address field (up to 5 lines, ≥ 8 pt)."""
ADDRESS_ZONE_TOP_MM = ADDRESS_FIELD_TOP_MM + NOTES_ZONE_HEIGHT_MM  # 62.7
ADDRESS_ZONE_HEIGHT_MM = 27.3
ADDRESS_ZONE_BOTTOM_MM = ADDRESS_ZONE_TOP_MM + ADDRESS_ZONE_HEIGHT_MM  # 90.0
ADDRESS_MAX_LINES = 6
ADDRESS_TEXT_LEFT_MM = 25.0
"""Text starts 5 mm inside the field, so a slightly shifted sheet still shows it whole."""
ADDRESS_MAX_LINE_MM = 80.0
"""Widest address line accepted (field 85 mm minus the 5 mm inset)."""
ADDRESS_FONT_SIZES = (10.0, 9.0, 8.0)
"""Tried in order for the whole block."""
ADDRESS_LEADING = 1.15
"""Line pitch as a multiple of the font size."""

RETURN_ADDRESS_SIZE = 8.0
RETURN_ADDRESS_BASELINE_MM = ADDRESS_ZONE_TOP_MM - 3.0

# Letterhead, text column, booking box (our own choices inside DIN 5008's margins).
MARGIN_LEFT_MM = 25.0
MARGIN_RIGHT_MM = 20.0
TEXT_RIGHT_MM = PAGE_WIDTH_MM - MARGIN_RIGHT_MM  # 190
LETTERHEAD_TOP_MM = 15.0
DATE_BASELINE_MM = 100.0
SUBJECT_BASELINE_MM = 108.0
BODY_BOTTOM_MM = 232.0
BODY_SIZES = (10.0, 9.5, 9.0, 8.5, 8.0, 7.5, 7.0)
"""Body font sizes tried in order until the text (both languages for a bilingual letter) fits."""
BODY_LEADING = 1.3

QR_SIZE_MM = 30.0
QR_LEFT_MM = TEXT_RIGHT_MM - QR_SIZE_MM  # 160
QR_TOP_MM = 240.0
CODE_SIZE = 16.0
"""Booking code printed in clear next to the QR code (monospace)."""

PIECE_QR_SIZE_MM = 12.0
PIECE_QR_LEFT_MM = 5.0
PIECE_QR_TOP_MM = 268.0
PIECE_TEXT_SIZE = 6.0
PIECE_TEXT_BASELINE_MM = PIECE_QR_TOP_MM + PIECE_QR_SIZE_MM + 3.0

# Large print (format ``large_print``), after the clear-print guidance of the blind and partially sighted
# associations (RNIB, DBSV): body 16 pt, headings larger and bold, line pitch 1.5, DejaVu Sans (a sans font,
# open shapes), black on white, left-aligned, no hyphenation, no text over images. Page 1 keeps the standard
# letterhead and the DIN 5008 window, its address placed by the same rule; the booking box sits at the foot of
# page 1 in large type; the text continues on as many pages as it needs (``LARGE_MAX_PAGES``).
LARGE_BODY_SIZE = 16.0
LARGE_SUBJECT_SIZE = 18.0
LARGE_DATE_SIZE = 16.0
LARGE_LEADING = 1.5
LARGE_PARAGRAPH_GAP = 0.75
"""Space between paragraphs, in lines."""
LARGE_LABEL_SIZE = 16.0
LARGE_CODE_SIZE = 24.0
LARGE_QR_SIZE_MM = 35.0
LARGE_BOX_BOTTOM_MM = 262.0
"""Lowest baseline of the large-print booking box, and of the text of every page: above the piece code."""
LARGE_BOX_GAP_MM = 8.0
"""Space between the last body line of page 1 and the booking box's rule."""
LARGE_NEXT_HEADER_MM = LETTERHEAD_TOP_MM + 12
"""The rule under the header of pages 2…n (sender and ``k/n``)."""
LARGE_NEXT_TOP_MM = LARGE_NEXT_HEADER_MM + 14.0
"""First body baseline of pages 2…n."""
LARGE_MAX_PAGES = 4

FOLD_MARKS_MM = (105.0, 210.0)
PUNCH_MARK_MM = PAGE_HEIGHT_MM / 2

FONT_DIR = fonts.FONT_DIR
"""The DejaVu files the letters and the report embed, shipped with the package (``convoc/fonts``)."""
FONT_REGULAR = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
FONT_MONO = "DejaVuSansMono"
_FONT_FILES = {FONT_REGULAR: "DejaVuSans.ttf", FONT_BOLD: "DejaVuSans-Bold.ttf", FONT_MONO: "DejaVuSansMono.ttf"}

STREET_ABBREVIATIONS = (
    ("boulevard", "bd"),
    ("avenue", "av."),
    ("route", "rte"),
    ("rue", "r."),
    ("Lieutenant", "Lt"),
    ("Colonel", "Col."),
    ("Grande-Duchesse", "Gde-Dsse"),
    ("Saint", "St"),
)
"""Rule 1 of the address fit rule, applied to the street line."""
ELLIPSIS = "…"


def pt_x(mm: float) -> float:
    """Horizontal position in points from a distance in mm from the left edge."""
    return mm * MM


def pt_y(mm: float) -> float:
    """Vertical PDF coordinate (from the bottom) of a distance in mm from the top edge."""
    return (PAGE_HEIGHT_MM - mm) * MM


def subset_tag(font_name: str, code_points: Sequence[int]) -> str:
    """The six capital letters before ``+`` in an embedded subset's name, derived from the font and the code
    points the subset holds (PDF 32000-1, 9.6.4): two different subsets never share a name, across the files of
    a job too, so a RIP that merges or imposes files cannot take one file's subset for another's; the same
    subset gets the same name in every file."""
    digest = hashlib.sha256(font_name.encode() + b"\0" + ",".join(map(str, code_points)).encode()).digest()
    value = int.from_bytes(digest[:8], "big")
    letters = []
    for _ in range(6):
        value, k = divmod(value, 26)
        letters.append(chr(ord("A") + k))
    return "".join(letters)


class _TaggedTTFont(TTFont):  # type: ignore[misc]
    """A TrueType font embedded as subsets named by :func:`subset_tag` — reportlab numbers them ``AAAAAA``,
    ``AAAAAB``… in every file, whatever they hold."""

    def addObjects(self, doc: Any) -> None:
        from reportlab.pdfbase import ttfonts

        state = self.state.get(doc)
        tags = [subset_tag(self.face.name.decode("latin-1"), subset) for subset in (state.subsets if state else [])]
        numbered = ttfonts.SUBSETN
        # reportlab names subset n by SUBSETN(n) inside addObjects (a module-level lookup): swap it for the tags
        ttfonts.SUBSETN = lambda n, *_: tags[n].encode("ascii")
        try:
            super().addObjects(doc)
        finally:
            ttfonts.SUBSETN = numbered


@cache
def register_fonts(font_dir: Path = FONT_DIR) -> tuple[str, str, str]:
    """Register DejaVu Sans, Sans Bold and Sans Mono with reportlab, once per process.

    Returns the three font names. Raises ConvocError when a file is missing.
    """
    for name, file in _FONT_FILES.items():
        path = font_dir / file
        if not path.is_file():
            raise ConvocError(
                f"font file {path} is missing: the letters embed the DejaVu fonts shipped with convoc "
                "(convoc/fonts); reinstall the package (make install)"
            )
        pdfmetrics.registerFont(_TaggedTTFont(name, str(path)))
    return FONT_REGULAR, FONT_BOLD, FONT_MONO


def text_width_mm(text: str, size: float, font: str = FONT_REGULAR) -> float:
    """Width of ``text`` in mm in the embedded font at ``size`` points."""
    register_fonts()
    return float(pdfmetrics.stringWidth(text, font, size)) / MM


@dataclass(frozen=True, slots=True)
class AddressBlock:
    """Recipient lines as printed in the window, and the font size used for all of them."""

    lines: tuple[str, ...]
    size: float


@dataclass(frozen=True, slots=True)
class LinePlacement:
    """One printed line: text, size (pt), left x, baseline, top and bottom (mm from the top-left), width (mm)."""

    text: str
    size: float
    x_mm: float
    baseline_mm: float
    top_mm: float
    bottom_mm: float
    width_mm: float


def _abbreviate_street(street: str) -> str:
    for word, short in STREET_ABBREVIATIONS:
        for variant, repl in ((word, short), (word.capitalize(), short.capitalize()), (word.lower(), short.lower())):
            street = re.sub(rf"(?<!\w){re.escape(variant)}(?!\w)", repl, street)
    return street


def initials(given_name: str) -> str:
    """``Jean-Pierre`` → ``J.-P.``, ``Anna Maria`` → ``A. M.``."""
    words = []
    for word in given_name.split():
        parts = [p for p in word.split("-") if p]
        words.append("-".join(f"{p[0]}." for p in parts))
    return " ".join(words)


def _truncate(prefix: str, head: str, tail: str, size: float) -> str:
    """``prefix`` + the longest start of ``head`` + ``…`` + ``tail`` that fits the line width."""
    text = head
    while text:
        candidate = f"{prefix}{text.rstrip()}{ELLIPSIS}{tail}"
        if _fits(candidate, size):
            return candidate
        text = text[:-1]
    return f"{prefix}{ELLIPSIS}{tail}"


def _fits(line: str, size: float) -> bool:
    return text_width_mm(line, size) <= ADDRESS_MAX_LINE_MM


def format_address(
    given_name: str,
    family_name: str,
    street: str,
    house_number: str | None,
    postcode: str,
    locality: str,
    more_names: Sequence[str] = (),
) -> AddressBlock:
    """Recipient address lines for the window of a domestic letter, and the font size to print them.

    Lines: ``given_name family_name``, then ``more_names`` (further recipients of a household letter, one
    line each, shortened with ``…`` when too wide at 8 pt), ``street house_number`` and ``postcode
    locality``; no country line (domestic mail); empty lines are dropped; never more than
    ``ADDRESS_MAX_LINES``.

    Fit rule (a line fits when it is at most ``ADDRESS_MAX_LINE_MM`` = 80 mm wide in DejaVu Sans):

    1. the whole block at 10 pt; if a line does not fit, the whole block at 9 pt, then at 8 pt;
    2. still at 8 pt, each line that does not fit is shortened, trying in this order and stopping
       as soon as it fits:
       a. street line: abbreviate street words (``boulevard``→``bd``, ``avenue``→``av.``,
          ``route``→``rte``, ``rue``→``r.``, ``Lieutenant``→``Lt``, ``Colonel``→``Col.``,
          ``Grande-Duchesse``→``Gde-Dsse``, ``Saint``→``St``; whole words, capitalised forms too);
       b. name line: given names reduced to initials (``Jean-Pierre`` → ``J.-P.``);
       c. truncation with ``…``: the street line keeps its house number
          (``bd de la Gde-Dsse Charlotte et d… 12``), the locality line keeps its postcode, the name
          line keeps the start (initials and family name).

    Pure: depends only on its arguments and the font metrics.
    """
    name = " ".join(p for p in (given_name.strip(), family_name.strip()) if p)
    street_line = " ".join(p for p in (street.strip(), (house_number or "").strip()) if p)
    town = " ".join(p for p in (postcode.strip(), locality.strip()) if p)
    extra = [" ".join(n.split()) for n in more_names]
    lines = [name, *extra, street_line, town]

    for size in ADDRESS_FONT_SIZES:
        if all(_fits(line, size) for line in lines if line):
            return AddressBlock(tuple(line for line in lines if line)[:ADDRESS_MAX_LINES], size)

    size = ADDRESS_FONT_SIZES[-1]
    number = (house_number or "").strip()
    if not _fits(street_line, size):
        short_street = _abbreviate_street(street.strip())
        street_line = " ".join(p for p in (short_street, number) if p)
        if not _fits(street_line, size):
            street_line = _truncate("", short_street, f" {number}" if number else "", size)
    if not _fits(name, size):
        name = " ".join(p for p in (initials(given_name.strip()), family_name.strip()) if p)
        if not _fits(name, size):
            name = _truncate("", name, "", size)
    extra = [line if _fits(line, size) else _truncate("", line, "", size) for line in extra]
    if not _fits(town, size):
        code = postcode.strip()
        town = _truncate(f"{code} " if code else "", locality.strip(), "", size)
    return AddressBlock(tuple(line for line in (name, *extra, street_line, town) if line)[:ADDRESS_MAX_LINES], size)


def address_lines(block: AddressBlock) -> list[Line]:
    """The block's lines as the renderer draws them: where ``address_placements`` places them, unmeasured."""
    ascent, _ = _font_extent(FONT_REGULAR)
    pitch_mm = block.size * ADDRESS_LEADING / MM
    first_baseline = ADDRESS_ZONE_TOP_MM + 0.5 + block.size * ascent / MM
    return [
        Line(text, FONT_REGULAR, block.size, first_baseline + i * pitch_mm, ADDRESS_TEXT_LEFT_MM)
        for i, text in enumerate(block.lines)
    ]


def address_placements(block: AddressBlock) -> list[LinePlacement]:
    """Where each address line is printed: inside the 85 × 27.3 mm address zone of the window."""
    ascent, descent = _font_extent(FONT_REGULAR)
    return [
        LinePlacement(
            text=line.text,
            size=block.size,
            x_mm=line.x_mm,
            baseline_mm=line.y_mm,
            top_mm=line.y_mm - block.size * ascent / MM,
            bottom_mm=line.y_mm + block.size * descent / MM,
            width_mm=text_width_mm(line.text, block.size),
        )
        for line in address_lines(block)
    ]


@cache
def _font_extent(font: str) -> tuple[float, float]:
    """Ascent and descent (positive) per point of font size."""
    register_fonts()
    face = pdfmetrics.getFont(font).face
    return float(face.ascent) / 1000.0, abs(float(face.descent)) / 1000.0


class Line(NamedTuple):
    """One line of text as drawn: text, font, size (pt), baseline and left edge (mm from the top-left). A named
    tuple, not a dataclass: a batch of 10,000 letters makes a quarter of a million, each made in a quarter of the
    time."""

    text: str
    font: str
    size: float
    y_mm: float
    x_mm: float = MARGIN_LEFT_MM


@lru_cache(maxsize=65536)
def _word_width(word: str, font: str, size: float) -> float:
    return float(pdfmetrics.stringWidth(word, font, size))


@lru_cache(maxsize=16384)
def wrap(text: str, font: str, size: float, width_pt: float) -> tuple[str, ...]:
    """Greedy line breaking at spaces. Cached, as are word widths: a batch's template paragraphs, with their
    dates and centre, are the same on thousands of pages."""
    space = _word_width(" ", font, size)
    lines: list[str] = []
    current: list[str] = []
    used = 0.0
    for word in text.split():
        w = _word_width(word, font, size)
        if current and used + space + w > width_pt:
            lines.append(" ".join(current))
            current, used = [word], w
        else:
            used = used + space + w if current else w
            current.append(word)
    if current:
        lines.append(" ".join(current))
    return tuple(lines)

"""Render a batch of invitation letters into one multi-page PDF: one A4 page per standard letter, one to
``LARGE_MAX_PAGES`` for a large-print one (``piece_pages``), each piece a PDF/VT record.

Side effects: writes ``out`` (mode 0600) through ``out.with_suffix('.part')`` and an atomic
``os.replace``; nothing else. Idempotent: the same batch and arguments give the same bytes
(reportlab ``invariant=1``), so a re-run replaces the file with an identical one.

Speed and size come from drawing once what pages share: the static part of the page (letterhead,
return address, marks, labels) per (campaign, language), and every run of text lines that recurs in
the batch (the template's paragraphs with their dates and centre), each as a form XObject placed by
a translation; from QR codes encoded with a fixed version and mask (``convoc.letters.qr``: the
``qrcode`` package's output, precomputed per payload shape) and drawn as inline image masks; and from
writing what every page has — its text objects, page object, content stream and record — without
reportlab's generic machinery (``convoc.letters.pdf_objects``, the same bytes), with Python's cyclic
garbage collector paused while a batch renders.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import io
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas as rl_canvas

from convoc import faults
from convoc.errors import ConvocError
from convoc.files import write_private
from convoc.letters import large_print, pdf_objects, prepress
from convoc.letters import layout as L
from convoc.letters.content import (  # what a letter says; named here too, where callers have always found them
    BILINGUAL as BILINGUAL,
)
from convoc.letters.content import (
    BOOKING_URL as BOOKING_URL,
)
from convoc.letters.content import (
    FORMATS as FORMATS,
)
from convoc.letters.content import (
    HOTLINE as HOTLINE,
)
from convoc.letters.content import (
    LABELS as LABELS,
)
from convoc.letters.content import (
    LANGUAGES as LANGUAGES,
)
from convoc.letters.content import (
    LOCALES as LOCALES,
)
from convoc.letters.content import (
    OTHER_RESIDENTS as OTHER_RESIDENTS,
)
from convoc.letters.content import (
    PLACE_AND_DATE as PLACE_AND_DATE,
)
from convoc.letters.content import (
    PLACEHOLDERS as PLACEHOLDERS,
)
from convoc.letters.content import (
    TEMPLATES_DIR as TEMPLATES_DIR,
)
from convoc.letters.content import (
    Letter as Letter,
)
from convoc.letters.content import (
    MissingTemplate as MissingTemplate,
)
from convoc.letters.content import (
    Template as Template,
)
from convoc.letters.content import (
    Wording as Wording,
)
from convoc.letters.content import (
    household_names as household_names,
)
from convoc.letters.content import (
    label,
    labels_of,
    long_date,
)
from convoc.letters.content import (
    letter_languages as letter_languages,
)
from convoc.letters.content import (
    load_template as load_template,
)
from convoc.letters.content import (
    load_templates as load_templates,
)
from convoc.letters.qr import QrEncoder

SENDER = "Ministère de la Santé — Campagne de vaccination"
SENDER_ADDRESS = "L-2935 Luxembourg"
RETURN_ADDRESS = "Ministère de la Santé · L-2935 Luxembourg"
AUTHOR = "Ministère de la Santé"

BOOKING_QR_VERSION = 4
"""33 × 33 modules; at level M holds 62 bytes: a 44-character URL plus the longest code with suffix."""
PIECE_QR_VERSION = 3
"""29 × 29 modules; at level M holds 42 bytes of ``job_id|piece_id|k/n``."""
QR_MASK = 0
"""Fixed mask: no mask evaluation, every code costs the same."""


class UnprintableText(ConvocError):
    """Pieces whose text holds characters the letter cannot print as written; the batch is refused unwritten.

    The message (it reaches task logs) names the job, the pieces (a few ids and their count) and, per
    reason, one offending character as ``U+XXXX NAME`` and how many others there are: never the name,
    address or booking code the characters occur in, nor enough of their characters to spell one.
    """

    def __init__(self, job_id: str, findings: Mapping[tuple[str, str], Sequence[int]]) -> None:
        self.job_id = job_id
        self.findings = {key: sorted(set(pieces)) for key, pieces in findings.items()}
        """(character, reason) → ids of the pieces whose text holds that character, ascending."""
        self.piece_ids = sorted({p for pieces in self.findings.values() for p in pieces})
        """Every refused piece, ascending."""
        reasons: dict[str, tuple[set[str], set[int]]] = {}
        for (char, reason), pieces in self.findings.items():
            chars, where = reasons.setdefault(reason, (set(), set()))
            chars.add(char)
            where.update(pieces)
        lines = []
        for reason, (chars, where) in sorted(reasons.items(), key=lambda item: (min(item[1][1]), item[0])):
            first, others = min(chars), len(chars) - 1
            more = f" and {others} other character{'s' if others > 1 else ''}" if others else ""
            lines.append(f"  - {reason}: {_char_label(first)}{more} ({_pieces_label(sorted(where))})")
        super().__init__(
            f"job {job_id}: the text of {_pieces_label(self.piece_ids)} cannot be printed as written (a character "
            "without a glyph in the letter's fonts, right-to-left, a control or invisible); the batch is refused, "
            "no PDF written. Correct these pieces' data or take them out of the batch.\n" + "\n".join(lines)
        )


_MAX_LISTED_PIECES = 5
"""Piece ids listed per entry of an UnprintableText message; the rest are counted."""
_REFUSED_CATEGORIES = {
    "Cc": "control character",
    "Cf": "invisible format character (zero-width or bidi control)",
    "Co": "private-use character",
    "Cs": "surrogate",
    "Cn": "unassigned code point",
}
"""Unicode general categories never printed, with the reason given."""
_RIGHT_TO_LEFT = frozenset({"R", "AL", "AN"})
"""Strong right-to-left bidi classes: reportlab lays text out left to right and does not shape it."""


_NAMELESS = {"Cc": "<control>", "Co": "<private use>", "Cs": "<surrogate>", "Cn": "<unassigned>"}
"""How a character without a Unicode name is shown, by general category."""


def _char_label(char: str) -> str:
    """``U+200B ZERO WIDTH SPACE``; ``U+E000 <private use>`` for a character without a name."""
    name = unicodedata.name(char, "") or _NAMELESS.get(unicodedata.category(char), "<no name>")
    return f"U+{ord(char):04X} {name}"


def _pieces_label(pieces: Sequence[int]) -> str:
    if len(pieces) == 1:
        return f"piece {pieces[0]}"
    if len(pieces) <= _MAX_LISTED_PIECES:
        return f"{len(pieces)} pieces: {', '.join(map(str, pieces))}"
    shown = ", ".join(map(str, pieces[:_MAX_LISTED_PIECES]))
    return f"{len(pieces)} pieces: {shown} and {len(pieces) - _MAX_LISTED_PIECES} more"


@dataclass(frozen=True, slots=True)
class RenderResult:
    """The PDF of one batch: one page per standard piece, ``piece_pages`` per large-print one."""

    path: Path
    pages: int
    pieces: int
    sha256: str
    bytes: int

    def as_dict(self) -> dict[str, str | int]:
        """JSON-safe form (Airflow XCom)."""
        return {
            "path": str(self.path),
            "pages": self.pages,
            "pieces": self.pieces,
            "sha256": self.sha256,
            "bytes": self.bytes,
        }


# --- QR codes -------------------------------------------------------------------------------------


@cache
def _encoder(version: int) -> QrEncoder:
    return QrEncoder(version, QR_MASK)


def _draw_qr(c: Any, version: int, mask: bytes, left_mm: float, top_mm: float, size_mm: float) -> None:
    # An inline image mask (``QrEncoder.image_mask``), one sample per module, no interpolation: a stencil the RIP
    # paints at device resolution, as sharp as rectangles, and a fifth of their size in the page stream.
    enc = _encoder(version)
    size = size_mm * L.MM
    c.addLiteral(
        f"q {size:.3f} 0 0 {size:.3f} {L.pt_x(left_mm):.3f} {L.pt_y(top_mm + size_mm):.3f} cm "
        f"BI /W {enc.modules} /H {enc.modules} /IM true /BPC 1 /D [1 0] /F /AHx ID\n"
        f"{mask.hex()}> EI Q"
    )


def piece_code(job_id: str, piece_id: int, page: int = 1, pages: int = 1) -> str:
    """Text of the inserter's piece code printed on every page."""
    return f"{job_id}|{piece_id}|{page}/{pages}"


# --- page content ---------------------------------------------------------------------------------


def _define_static_form(
    c: Any,
    name: str,
    langs: tuple[str, ...],
    booking_url: str,
    hotline: str,
    labels: Mapping[str, str] | None = None,
    kind: str = "standard",
) -> None:
    """Static part of a page for one (campaign, languages, kind): drawn once, reused by every page. ``kind``:
    ``standard`` (the one-page letter), ``large`` (page 1 of a large-print letter: the booking box in large
    type) or ``large-next`` (its pages 2…n: letterhead line and fold marks)."""
    words = labels or {key: label(langs, key) for key in ("code", "book", "phone")}
    c.beginForm(name)
    c.setFillGray(0)
    if kind == "large-next":
        c.setFont(L.FONT_BOLD, 12)
        c.drawString(L.pt_x(L.MARGIN_LEFT_MM), L.pt_y(L.LETTERHEAD_TOP_MM + 4), SENDER)
        c.setLineWidth(0.5)
        c.line(L.pt_x(L.MARGIN_LEFT_MM), L.pt_y(L.LARGE_NEXT_HEADER_MM), L.pt_x(L.TEXT_RIGHT_MM),
               L.pt_y(L.LARGE_NEXT_HEADER_MM))  # fmt: skip
        c.setLineWidth(0.3)
        _draw_marks(c)
        c.endForm()
        return
    c.setFont(L.FONT_BOLD, 12)
    c.drawString(L.pt_x(L.MARGIN_LEFT_MM), L.pt_y(L.LETTERHEAD_TOP_MM + 4), SENDER)
    c.setFont(L.FONT_REGULAR, 9)
    c.drawString(L.pt_x(L.MARGIN_LEFT_MM), L.pt_y(L.LETTERHEAD_TOP_MM + 9), SENDER_ADDRESS)
    c.drawRightString(L.pt_x(L.TEXT_RIGHT_MM), L.pt_y(L.LETTERHEAD_TOP_MM + 9), f"Hotline {hotline}")
    c.setLineWidth(0.5)
    c.line(
        L.pt_x(L.MARGIN_LEFT_MM),
        L.pt_y(L.LETTERHEAD_TOP_MM + 12),
        L.pt_x(L.TEXT_RIGHT_MM),
        L.pt_y(L.LETTERHEAD_TOP_MM + 12),
    )
    # Return address in the notes zone of the window, underlined.
    c.setFont(L.FONT_REGULAR, L.RETURN_ADDRESS_SIZE)
    c.drawString(L.pt_x(L.ADDRESS_TEXT_LEFT_MM), L.pt_y(L.RETURN_ADDRESS_BASELINE_MM), RETURN_ADDRESS)
    width = pdfmetrics.stringWidth(RETURN_ADDRESS, L.FONT_REGULAR, L.RETURN_ADDRESS_SIZE)
    c.setLineWidth(0.3)
    y = L.pt_y(L.RETURN_ADDRESS_BASELINE_MM + 1.0)
    c.line(L.pt_x(L.ADDRESS_TEXT_LEFT_MM), y, L.pt_x(L.ADDRESS_TEXT_LEFT_MM) + width, y)
    _draw_marks(c)
    if kind == "large":
        box = large_print.booking_box(tuple(words.items()), booking_url, hotline)
        c.line(L.pt_x(L.MARGIN_LEFT_MM), L.pt_y(box.top_mm), L.pt_x(L.TEXT_RIGHT_MM), L.pt_y(box.top_mm))
        for line in box.lines:
            c.setFont(line.font, line.size)
            c.drawString(L.pt_x(line.x_mm), L.pt_y(line.y_mm), line.text)
        c.endForm()
        return
    # Booking box: labels here, the code and its QR per page.
    top = L.QR_TOP_MM
    c.line(L.pt_x(L.MARGIN_LEFT_MM), L.pt_y(top - 4), L.pt_x(L.TEXT_RIGHT_MM), L.pt_y(top - 4))
    c.setFont(L.FONT_REGULAR, 9)
    c.drawString(L.pt_x(L.MARGIN_LEFT_MM), L.pt_y(top + 3), words["code"])
    c.drawString(L.pt_x(L.MARGIN_LEFT_MM), L.pt_y(top + 20), f"{words['book']}: {booking_url}")
    c.drawString(L.pt_x(L.MARGIN_LEFT_MM), L.pt_y(top + 25), f"{words['phone']}: {hotline}")
    c.endForm()


def _draw_marks(c: Any) -> None:
    """Fold marks and punch mark (DIN 5008), on every sheet."""
    for mark_mm, length_mm in ((L.FOLD_MARKS_MM[0], 5.0), (L.FOLD_MARKS_MM[1], 5.0), (L.PUNCH_MARK_MM, 7.0)):
        c.line(0, L.pt_y(mark_mm), L.pt_x(length_mm), L.pt_y(mark_mm))


@functools.lru_cache(maxsize=64)
def _date_lines(day: date, langs: tuple[str, ...]) -> tuple[tuple[L.Line, ...], float]:
    """Place and date, one line per language, right-aligned (the same on every letter of a batch), and the
    baseline below them."""
    lines = []
    y = L.DATE_BASELINE_MM
    for lang in langs:
        text = PLACE_AND_DATE[lang].format(date=long_date(day, lang))
        lines.append(L.Line(text, L.FONT_REGULAR, 10, y, L.TEXT_RIGHT_MM - L.text_width_mm(text, 10)))
        y += 4.5
    return tuple(lines), y


def _body_lines(letter: Letter, langs: tuple[str, ...], wording: Wording) -> list[L.Line]:
    """Date lines, subject(s) and wrapped paragraphs at the largest body size that fits the page."""
    texts = wording.texts(letter, langs)
    dated, below = _date_lines(letter.letter_date, langs)
    start = max(below + 3.5, L.SUBJECT_BASELINE_MM)
    width_pt = (L.TEXT_RIGHT_MM - L.MARGIN_LEFT_MM) * L.MM
    for size in L.BODY_SIZES:
        pitch = size * L.BODY_LEADING / L.MM
        flow: list[L.Line] = []
        y = start
        for i, (subject, paragraphs) in enumerate(texts):
            if i:
                y += pitch
            for part in L.wrap(subject, L.FONT_BOLD, size + 1, width_pt):
                flow.append(L.Line(part, L.FONT_BOLD, size + 1, y))
                y += pitch
            y += pitch * 0.6
            for para in paragraphs:
                for part in L.wrap(para, L.FONT_REGULAR, size, width_pt):
                    flow.append(L.Line(part, L.FONT_REGULAR, size, y))
                    y += pitch
                y += pitch * 0.5
        if y - pitch <= L.BODY_BOTTOM_MM:
            return [*dated, *flow]
    raise ConvocError(
        f"letter text of campaign {letter.campaign!r} in {'+'.join(langs)} does not fit the page even at "
        f"{L.BODY_SIZES[-1]} pt (piece {letter.piece_id}); shorten the template"
    )


def piece_pages(
    letter: Letter,
    templates: Mapping[tuple[str, str], Template],
    *,
    booking_url: str = BOOKING_URL,
    hotline: str = HOTLINE,
) -> int:
    """How many pages ``letter`` is printed on: 1 for a standard letter, as many as its text needs in large
    print. ``templates``: ``load_templates``'s, holding the letter's campaign and languages. Pure: what the
    renderer will draw, for the batch file to say before rendering (``letters.batches``)."""
    if letter.format != "large_print":
        return 1
    L.register_fonts()
    langs = letter_languages(letter.language)
    wording = Wording(templates, booking_url, hotline)
    box = large_print.booking_box(tuple(wording.labels(letter.campaign, langs).items()), booking_url, hotline)
    return len(large_print.text_pages(letter, langs, wording, box.top_mm))


def _draw_text(c: Any, lines: Iterable[L.Line]) -> None:
    # Relative moves (``Td``) between lines, on a 0.01 pt grid: shorter than an absolute ``Tm`` per line.
    placed = [(x.font, x.size, round(L.pt_x(x.x_mm), 2), round(L.pt_y(x.y_mm), 2), x.text) for x in lines]
    if pdf_objects.ENABLED:
        c._code.append(pdf_objects.text_object(c, placed))  # the same operators, without reportlab's splitString
        return
    tx = c.beginText()
    font: tuple[str, float] | None = None
    at: tuple[float, float] | None = None
    for name, size, x, y, text in placed:
        if font != (name, size):
            font = (name, size)
            tx.setFont(name, size)
        if at is None:
            tx.setTextOrigin(x, y)
        else:
            tx.moveCursor(round(x - at[0], 2), round(at[1] - y, 2))
        at = (x, y)
        # textOut's own bytes, without the width of the text it measures to advance a cursor nothing here reads
        # (every line is placed by a move from the previous line's start): 56,000 measurements a 5,000-letter batch
        tx._textOut(text)
    c.drawText(tx)


# --- batch ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Page:
    """One page of a piece, ready to draw: the piece, its static form key (campaign, languages, kind), text
    lines, on the first page the booking QR code (image mask, left, top, size in mm), and the piece code's payload
    and image mask. Each code is encoded once, when the page is laid out (which fails before any file is written
    if a payload outgrows its version). ``address``: how many of the first lines are the address block, drawn on
    the page itself whatever recurs in it (see ``_runs``)."""

    piece_id: int
    form: _FormKey
    lines: tuple[L.Line, ...]
    booking_qr: tuple[bytes, float, float, float] | None
    piece_payload: str
    piece_mask: bytes
    address: int = 0


_FormKey = tuple[str, tuple[str, ...], str]
"""A static form: (campaign, languages, kind: ``standard``, ``large`` or ``large-next``)."""


_RunKey = tuple[tuple[str, str, float, float, float], ...]
"""A run of text lines relative to its first baseline: (text, font, size, x_mm, dy_mm) per line."""


def _runs(page: _Page, shared: Mapping[_LineKey, int]) -> list[tuple[_RunKey | None, list[L.Line]]]:
    """The page's lines cut into runs of lines that recur in the batch (with their key, ``_run_key``) and that do
    not (None). The address block is never part of a recurring run: neighbours share a street and a locality, and
    a run that began with them would take the template's paragraphs after them into a form of a few pages instead
    of one of thousands."""
    runs: list[tuple[bool, list[L.Line]]] = []
    for k, line in enumerate(page.lines):
        recurring = k >= page.address and shared[line.text, line.font, line.size, line.x_mm] > 1
        if runs and runs[-1][0] == recurring:
            runs[-1][1].append(line)
        else:
            runs.append((recurring, [line]))
    return [(_run_key(run) if recurring else None, run) for recurring, run in runs]


def _run_key(run: Sequence[L.Line]) -> _RunKey:
    top = run[0].y_mm
    return tuple((x.text, x.font, x.size, x.x_mm, round(x.y_mm - top, 4)) for x in run)


_LineKey = tuple[str, str, float, float]
"""A line as drawn wherever it stands on the page: (text, font, size, x_mm)."""


def _line_counts(pages: Sequence[_Page]) -> Counter[_LineKey]:
    """How many times each line (text, font, size, x) is drawn in the batch."""
    return Counter((x.text, x.font, x.size, x.x_mm) for page in pages for x in page.lines)


def _draw_pages(
    pages: Sequence[_Page],
    line_counts: Mapping[_LineKey, int],
    job_id: str,
    booking_url: str,
    hotline: str,
    created: datetime,
    form_labels: Mapping[_FormKey, Mapping[str, str]] | None = None,
    records: Sequence[prepress.Record] | None = None,
) -> bytes:
    """All pages into one PDF. Text that recurs across the batch (the template's paragraphs, dates,
    the centre) is drawn once as a form XObject per distinct run of lines and placed by a translation;
    only what is personal (address, code, piece code, a paragraph naming the code) is written per page."""
    buffer = io.BytesIO()
    # The initial font is an embedded one: with reportlab's default, every page would name Helvetica, a base-14
    # font no text uses and the file does not embed (prepress preflight refuses it).
    c = rl_canvas.Canvas(
        buffer,
        pagesize=A4,
        pageCompression=1,
        invariant=1,
        initialFontName=L.FONT_REGULAR,
        pdfVersion=prepress.PDF_VERSION,
    )
    c.setTrimBox((0, 0, *A4))  # the finished sheet is the whole page: MediaBox = TrimBox = A4, nothing bleeds
    if records is None:
        records = [prepress.Record(k, 1, page.piece_payload) for k, page in enumerate(pages, start=1)]
    prepress.prepare_canvas(
        c, title=f"convoc letters {job_id}", author=AUTHOR, subject=f"{len(records)} pieces", creator="convoc"
    )
    static: dict[_FormKey, str] = {}
    for page in pages:
        if page.form not in static:
            static[page.form] = f"S{len(static)}"
            labels = (form_labels or {}).get(page.form)
            _define_static_form(c, static[page.form], page.form[1], booking_url, hotline, labels, page.form[2])

    page_runs = [_runs(page, line_counts) for page in pages]
    run_counts = Counter(key for runs in page_runs for key, _ in runs if key is not None)
    shared: dict[_RunKey, str] = {}
    for key, count in run_counts.items():  # a form for each run drawn on more than one page
        if count > 1:
            shared[key] = f"T{len(shared)}"
            c.beginForm(shared[key], lowerx=0, lowery=-A4[1], upperx=A4[0], uppery=2 * A4[1])
            _draw_text(c, [L.Line(text, font, size, dy, x) for text, font, size, x, dy in key])
            c.endForm()

    for k, (page, runs) in enumerate(zip(pages, page_runs, strict=True)):
        if k == len(pages) // 2:
            faults.point("letters.render.mid_pdf")
        c.doForm(static[page.form])
        own: list[L.Line] = []
        for run_key, run in runs:
            form = shared.get(run_key) if run_key is not None else None
            if form is None:
                own.extend(run)
            else:
                c.addLiteral(f"q 1 0 0 1 0 {-run[0].y_mm * L.MM:.2f} cm")
                c.doForm(form)
                c.addLiteral("Q")
        if own:
            _draw_text(c, own)
        if page.booking_qr is not None:
            _draw_qr(c, BOOKING_QR_VERSION, *page.booking_qr)
        _draw_qr(c, PIECE_QR_VERSION, page.piece_mask, L.PIECE_QR_LEFT_MM, L.PIECE_QR_TOP_MM, L.PIECE_QR_SIZE_MM)
        c.showPage()
    _compact_pages(c)
    prepress.mark_for_press(c, created=created, records=records)
    c.save()
    return buffer.getvalue()


def _compact_pages(c: Any) -> None:
    """What every page shares, written once: one resource dictionary (every form of the file) and the MediaBox
    on the page tree (inherited), instead of in each page object; no default-valued ``/Rotate 0`` or empty
    ``/Trans``. About 170 bytes a page. (The TrimBox is not inheritable: each page keeps its own.)"""
    from reportlab.pdfbase import pdfdoc

    doc = c._doc
    pages = doc.Pages.pages
    if any(page.ExtGState or page._colorsUsed or getattr(page, "_shadingUsed", None) for page in pages):
        return  # never the case for letters; such pages keep reportlab's own resources
    if len({(page.pagewidth, page.pageheight, page.Rotate) for page in pages}) != 1 or pages[0].Rotate:
        return
    forms: dict[str, Any] = {}
    for page in pages:
        if page.XObjects:
            forms.update(page.XObjects.dict)
    shared = pdfdoc.PDFResourceDictionary()
    shared.basicFonts()
    shared.allProcs()
    shared.XObject = forms
    ref = doc.Reference(shared)
    doc.Pages.__NoDefault__ = [*pdfdoc.PDFPages.__NoDefault__, "MediaBox"]
    doc.Pages.MediaBox = pdfdoc.PDFArray([0, 0, pages[0].pagewidth, pages[0].pageheight])
    keys = [key for key in pdfdoc.PDFPage.__NoDefault__ if key not in ("MediaBox", "Rotate", "Trans")]
    for page in pages:
        page.__NoDefault__ = keys
        page.Resources = ref
        if pdf_objects.ENABLED and type(page) is pdfdoc.PDFPage:
            page.__class__ = pdf_objects.LetterPage  # the same bytes, in a fraction of the time


# --- printable text ---------------------------------------------------------------------------


def _refusal(char: str) -> str | None:
    """Why ``char`` is never printed whatever the font, or None."""
    category = unicodedata.category(char)
    if category in _REFUSED_CATEGORIES:
        return _REFUSED_CATEGORIES[category]
    if unicodedata.bidirectional(char) in _RIGHT_TO_LEFT:
        return "right-to-left (would print reversed and unshaped)"
    return None


@cache
def _printable(font: str) -> frozenset[str]:
    """Characters ``font`` (registered with reportlab) prints as written: a glyph in its cmap and no refusal."""
    cmap: Mapping[int, int] = pdfmetrics.getFont(font).face.charToGlyph
    return frozenset(char for char in map(chr, (cp for cp, glyph in cmap.items() if glyph)) if _refusal(char) is None)


def _check_printable(pages: Sequence[_Page], line_counts: Mapping[_LineKey, int], job_id: str) -> None:
    """UnprintableText unless every character of every line drawn is printable in that line's font.

    Fast path: the batch's distinct lines (``line_counts``, which drawing needs anyway), the characters
    of their texts per font, one set difference per font; the pieces at fault are looked for line by line
    only when a difference is not empty.
    """
    texts: dict[str, set[str]] = {}
    for text, font, _, _ in line_counts:
        texts.setdefault(font, set()).add(text)
    bad = {font: found for font, group in texts.items() if (found := set("".join(group)) - _printable(font))}
    if not bad:
        return
    findings: dict[tuple[str, str], list[int]] = {}
    for page in pages:
        for line in page.lines:
            chars = bad.get(line.font)
            if chars is None or chars.isdisjoint(line.text):
                continue
            for char in sorted(chars.intersection(line.text)):
                pieces = findings.setdefault((char, _refusal(char) or f"no glyph in font {line.font}"), [])
                if not pieces or pieces[-1] != page.piece_id:
                    pieces.append(page.piece_id)
    raise UnprintableText(job_id, findings)


def _form_labels(
    pages: Sequence[_Page], templates: Mapping[tuple[str, str], Template]
) -> dict[_FormKey, dict[str, str]]:
    """The booking box's labels per static form (``content.labels_of``)."""
    return {form: labels_of(templates, form[0], form[1]) for form in {page.form for page in pages}}


def _piece_pages_to_draw(letter: Letter, job_id: str, wording: Wording) -> list[_Page]:
    """The pages of one piece: one for a standard letter, ``piece_pages`` for a large-print one."""
    if letter.format not in FORMATS:
        raise ConvocError(f"piece {letter.piece_id}: unknown letter format {letter.format!r}; known: {FORMATS}")
    langs = letter_languages(letter.language)
    block = L.format_address(
        letter.given_name,
        letter.family_name,
        letter.street,
        letter.house_number,
        letter.postcode,
        letter.locality,
        household_names(letter, langs),
    )
    address = L.address_lines(block)
    booking_payload = wording.booking_url + letter.booking_code
    # Encoded here, once (drawn from these masks): fails before any file is touched if a payload outgrows its version.
    booking_mask = _encoder(BOOKING_QR_VERSION).image_mask(booking_payload)
    if letter.format == "standard":
        body = _body_lines(letter, langs, wording)
        piece_text = piece_code(job_id, letter.piece_id)
        piece_mask = _encoder(PIECE_QR_VERSION).image_mask(piece_text)
        own = [
            L.Line(letter.booking_code, L.FONT_MONO, L.CODE_SIZE, L.QR_TOP_MM + 11),
            L.Line(piece_text, L.FONT_REGULAR, L.PIECE_TEXT_SIZE, L.PIECE_TEXT_BASELINE_MM, L.PIECE_QR_LEFT_MM),
        ]
        qr = (booking_mask, L.QR_LEFT_MM, L.QR_TOP_MM, L.QR_SIZE_MM)
        standard = (letter.campaign, langs, "standard")
        return [_Page(letter.piece_id, standard, (*address, *body, *own), qr, piece_text, piece_mask, len(address))]

    labels = tuple(wording.labels(letter.campaign, langs).items())
    box = large_print.booking_box(labels, wording.booking_url, wording.hotline)
    bodies = large_print.text_pages(letter, langs, wording, box.top_mm)
    n = len(bodies)
    pages = []
    for k, body in enumerate(bodies, start=1):
        piece_text = piece_code(job_id, letter.piece_id, k, n)
        piece_mask = _encoder(PIECE_QR_VERSION).image_mask(piece_text)
        folio = f"{k}/{n}"
        own = [
            L.Line(folio, L.FONT_REGULAR, L.LARGE_BODY_SIZE, L.PIECE_TEXT_BASELINE_MM,
                  L.TEXT_RIGHT_MM - L.text_width_mm(folio, L.LARGE_BODY_SIZE)),
            L.Line(piece_text, L.FONT_REGULAR, L.PIECE_TEXT_SIZE, L.PIECE_TEXT_BASELINE_MM, L.PIECE_QR_LEFT_MM),
        ]  # fmt: skip
        if k == 1:
            code = L.Line(letter.booking_code, L.FONT_MONO, L.LARGE_CODE_SIZE, box.code_baseline_mm)
            qr_left = L.TEXT_RIGHT_MM - L.LARGE_QR_SIZE_MM
            first = (letter.campaign, langs, "large")
            pages.append(_Page(letter.piece_id, first, (*address, *body, code, *own),
                               (booking_mask, qr_left, box.qr_top_mm, L.LARGE_QR_SIZE_MM), piece_text,
                               piece_mask, len(address)))  # fmt: skip
        else:
            pages.append(
                _Page(
                    letter.piece_id, (letter.campaign, langs, "large-next"), (*body, *own), None, piece_text, piece_mask
                )
            )
    return pages


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _without_cyclic_gc(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """``func`` with Python's cyclic garbage collector paused while it runs (and resumed after, if it ran before).

    A batch's render holds hundreds of thousands of live objects (its pages' lines, reportlab's page, stream and
    record objects) and makes few reference cycles; each collection the allocations trigger walks all of them
    again. Paused, a 10,000-letter render takes about a quarter less time and the same peak memory
    (``bench/RESULTS.md``); what cycles it leaves are collected once the collector runs again."""

    @functools.wraps(func)
    def paused(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return func(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return paused


@_without_cyclic_gc
def render_batch(
    letters: Sequence[Letter],
    out: Path,
    *,
    job_id: str,
    booking_url: str = BOOKING_URL,
    hotline: str = HOTLINE,
    templates: Path | None = None,
    pages: Sequence[int] | None = None,
) -> RenderResult:
    """Render ``letters`` in order into one PDF at ``out``: one page per standard letter, ``piece_pages`` per
    large-print one, each piece a PDF/VT record whose pages carry its piece code ``job|piece|k/n``.

    Checks first (before any file is touched) that every template exists, that every QR payload
    fits its fixed version, that every text fits the page (or its pages) and that every character drawn has a
    glyph in its font and is neither right-to-left nor a control, invisible, private-use or unassigned one
    (UnprintableText: reportlab would print an empty box, or reversed unshaped text), and, when ``pages`` is
    given (the pages per piece the batch file says), that each piece takes exactly that many; then writes
    ``out.part`` with mode 0600 and renames it to ``out``. Returns path, page and piece counts, size and SHA-256.
    """
    if not letters:
        raise ConvocError(f"job {job_id}: empty batch, no PDF written")
    if pages is not None and len(pages) != len(letters):
        raise ValueError(f"{len(pages)} page counts for {len(letters)} letters")
    L.register_fonts()
    found = load_templates(letters, templates)
    wording = Wording(found, booking_url, hotline)

    drawn: list[_Page] = []
    records: list[prepress.Record] = []
    for k, letter in enumerate(letters):
        own = _piece_pages_to_draw(letter, job_id, wording)
        if pages is not None and len(own) != pages[k]:
            raise ConvocError(
                f"job {job_id}: piece {letter.piece_id} takes {len(own)} page{'s' if len(own) > 1 else ''}, its batch "
                f"file says {pages[k]}: "
                "the templates or the layout changed since the day was cut; cut the day again. No PDF written"
            )
        records.append(prepress.Record(len(drawn) + 1, len(own), own[0].piece_payload))
        drawn.extend(own)
    line_counts = _line_counts(drawn)
    # Fails here, before any file is touched, if a character would print as an empty box or reversed.
    _check_printable(drawn, line_counts, job_id)

    # ASCII85 on top of Flate only makes streams 25 % larger (and is slow without rl_accel).
    saved_a85 = rl_config.useA85
    rl_config.useA85 = 0
    try:
        created = prepress.job_created(min(letter.letter_date for letter in letters))
        labels = _form_labels(drawn, found)
        data = _draw_pages(drawn, line_counts, job_id, booking_url, hotline, created, labels, records)
    finally:
        rl_config.useA85 = saved_a85

    write_private(out, data)
    return RenderResult(
        path=out, pages=len(drawn), pieces=len(letters), sha256=hashlib.sha256(data).hexdigest(), bytes=len(data)
    )

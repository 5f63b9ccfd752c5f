"""Render a batch of invitation letters into one multi-page PDF (one A4 page per piece).

Side effects: writes ``out`` (mode 0600) through ``out.with_suffix('.part')`` and an atomic
``os.replace``; nothing else. Idempotent: the same batch and arguments give the same bytes
(reportlab ``invariant=1``), so a re-run replaces the file with an identical one.

Speed comes from drawing the static part of the page (letterhead, return address, marks, labels)
once per (campaign, language) as a form XObject reused on every page, and from QR codes built with
a fixed version and mask and drawn as vector rectangles (one per run of dark modules in a row).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import qrcode
from babel.dates import format_date
from qrcode.exceptions import DataOverflowError
from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas as rl_canvas

from convoc.errors import ConvocError
from convoc.letters import layout as L

TEMPLATES_DIR = Path(__file__).parent / "templates"
LANGUAGES = ("fr", "de", "en", "pt")
BILINGUAL = ("fr", "de")
"""Languages of the letter sent when the person's language is unknown, one after the other."""
LOCALES = {"fr": "fr_LU", "de": "de_LU", "en": "en_GB", "pt": "pt_PT"}
PLACE_AND_DATE = {
    "fr": "Luxembourg, le {date}",
    "de": "Luxemburg, den {date}",
    "en": "Luxembourg, {date}",
    "pt": "Luxemburgo, {date}",
}
LABELS: Mapping[str, Mapping[str, str]] = {
    "fr": {"code": "Votre code personnel", "book": "Rendez-vous sur", "phone": "ou par téléphone au"},
    "de": {"code": "Ihr persönlicher Code", "book": "Termin auf", "phone": "oder telefonisch unter"},
    "en": {"code": "Your personal code", "book": "Book at", "phone": "or by telephone on"},
    "pt": {"code": "O seu código pessoal", "book": "Marcação em", "phone": "ou pelo telefone"},
}
PLACEHOLDERS = frozenset(
    {
        "given_name",
        "family_name",
        "valid_from",
        "valid_until",
        "centre_name",
        "centre_address",
        "booking_code",
        "hotline",
        "booking_url",
    }
)
SENDER = "Ministère de la Santé — Campagne de vaccination"
SENDER_ADDRESS = "L-2935 Luxembourg"
RETURN_ADDRESS = "Ministère de la Santé · L-2935 Luxembourg"

BOOKING_QR_VERSION = 4
"""33 × 33 modules; at level M holds 62 bytes: a 44-character URL plus the longest code with suffix."""
PIECE_QR_VERSION = 3
"""29 × 29 modules; at level M holds 42 bytes of ``job_id|piece_id|k/n``."""
QR_MASK = 0
"""Fixed mask: no mask evaluation, every code costs the same."""


class MissingTemplate(ConvocError):
    """No template for a (campaign, language) the batch needs."""

    def __init__(self, campaign: str, language: str, path: Path) -> None:
        self.campaign = campaign
        self.language = language
        super().__init__(f"no letter template for campaign {campaign!r} in language {language!r} (expected {path})")


@dataclass(frozen=True, slots=True)
class Letter:
    """One piece: one person's invitation, printed on one page."""

    piece_id: int
    invitation_id: str
    campaign: str
    language: str | None
    family_name: str
    given_name: str
    street: str
    house_number: str | None
    postcode: str
    locality: str
    booking_code: str
    valid_from: date
    valid_until: date
    letter_date: date
    centre_name: str
    centre_address: tuple[str, ...]
    phase: str


@dataclass(frozen=True, slots=True)
class RenderResult:
    """The PDF of one batch: one page per piece."""

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


@dataclass(frozen=True, slots=True)
class Template:
    """A letter text: subject line and body paragraphs, with ``{placeholders}``."""

    subject: str
    paragraphs: tuple[str, ...]


def letter_languages(language: str | None) -> tuple[str, ...]:
    """Languages printed on a letter: the person's one, or French then German when unknown."""
    lang = (language or "").strip().lower()
    return (lang,) if lang in LANGUAGES else BILINGUAL


def load_template(path: Path) -> Template:
    """Read a template: first line ``subject: …``, then the body; blank lines separate paragraphs."""
    text = path.read_text(encoding="utf-8")
    first, _, body = text.partition("\n")
    if not first.lower().startswith("subject:"):
        raise ConvocError(f"{path}: the first line must be 'subject: …'")
    subject = first.split(":", 1)[1].strip()
    paragraphs = tuple(" ".join(p.split()) for p in body.strip().split("\n\n") if p.strip())
    for part in (subject, *paragraphs):
        for _, field, spec, conversion in string.Formatter().parse(part):
            if field is not None and (field not in PLACEHOLDERS or spec or conversion):
                raise ConvocError(f"{path}: unknown placeholder {{{field}}}; allowed: {sorted(PLACEHOLDERS)}")
    return Template(subject, paragraphs)


def load_templates(letters: Iterable[Letter], root: Path | None = None) -> dict[tuple[str, str], Template]:
    """Templates for every (campaign, language) the letters need; MissingTemplate if one is absent."""
    root = TEMPLATES_DIR if root is None else root
    needed = sorted({(letter.campaign, lang) for letter in letters for lang in letter_languages(letter.language)})
    found = {}
    for campaign, lang in needed:
        path = root / campaign / f"{lang}.txt"
        if not path.is_file():
            raise MissingTemplate(campaign, lang, path)
        found[campaign, lang] = load_template(path)
    return found


# --- QR codes -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QrRuns:
    """A QR matrix as dark rectangles in module units (x, y from the top-left, width, height).

    Runs of dark modules in a row are merged into one rectangle, and identical runs in consecutive
    rows into one taller rectangle; ``modules`` is the side of the matrix.
    """

    modules: int
    rects: tuple[tuple[int, int, int, int], ...]

    def pdf_operators(self) -> str:
        """The rectangles as PDF path operators, filled once (integers: short and fast to write)."""
        return " ".join(f"{x} {y} {w} {h} re" for x, y, w, h in self.rects) + " f"


def _qr_matrix(data: str, version: int) -> list[list[bool]]:
    qr = qrcode.QRCode(
        version=version,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=1,
        border=0,
        mask_pattern=QR_MASK,
    )
    qr.add_data(data)
    try:
        qr.make(fit=False)
    except DataOverflowError as exc:
        raise ConvocError(f"{data!r} does not fit a version-{version} QR code at level M") from exc
    matrix: list[list[bool]] = qr.get_matrix()
    return matrix


@cache
def _function_modules(version: int) -> tuple[bytes, ...]:
    """Per row, 1 where a module is a function pattern: the same in every code of this version.

    Finder patterns with separators, timing patterns, the alignment pattern (versions 2–6 have one)
    and the format information, which is constant because level and mask are fixed.
    """
    if not 1 <= version <= 6:
        raise ConvocError(f"QR version {version}: only versions 1–6 (no version information) are supported")
    n = 17 + 4 * version
    fixed = [bytearray(n) for _ in range(n)]

    def mark(rows: range, cols: range) -> None:
        for r in rows:
            for c in cols:
                fixed[r][c] = 1

    for r0, c0 in ((0, 0), (0, n - 8), (n - 8, 0)):
        mark(range(r0, r0 + 8), range(c0, c0 + 8))
    mark(range(6, 7), range(n))
    mark(range(n), range(6, 7))
    mark(range(8, 9), range(0, 9))
    mark(range(8, 9), range(n - 8, n))
    mark(range(0, 9), range(8, 9))
    mark(range(n - 8, n), range(8, 9))
    if version >= 2:
        mark(range(n - 9, n - 4), range(n - 9, n - 4))
    return tuple(bytes(row) for row in fixed)


def _rects(rows: Iterable[bytes]) -> tuple[tuple[int, int, int, int], ...]:
    """Dark runs per row (``rows``: 1 = dark), identical runs of consecutive rows merged."""
    growing: dict[tuple[int, int], list[int]] = {}  # (x, width) -> [top, height]
    done: list[tuple[int, int, int, int]] = []
    for y, row in enumerate(rows):
        runs = [(m.start(), m.end() - m.start()) for m in _DARK_RUN.finditer(row)]
        current = set(runs)
        for key in [k for k in growing if k not in current]:
            top, height = growing.pop(key)
            done.append((key[0], top, key[1], height))
        for key in runs:
            if key in growing:
                growing[key][1] += 1
            else:
                growing[key] = [y, 1]
    done.extend((x, top, w, h) for (x, w), (top, h) in growing.items())
    return tuple(done)


@cache
def _row_masks(version: int, *, fixed: bool) -> list[int]:
    """Per row, a bit mask (one byte per module) keeping the function modules or the data modules."""
    out = []
    for row in _function_modules(version):
        wanted = row if fixed else bytes(1 - m for m in row)
        out.append(int.from_bytes(wanted, "big"))
    return out


_DARK_RUN = re.compile(rb"\x01+")


def qr_runs(data: str, version: int, *, part: str = "all") -> QrRuns:
    """Build the QR code (level M, fixed version and mask, no border) as merged dark rectangles.

    ``part``: ``"all"`` modules, only the ``"data"`` modules (what differs between codes), or only
    the ``"fixed"`` function patterns (drawn once per batch in the static form).
    """
    matrix = _qr_matrix(data, version)
    n = len(matrix)
    keep = [int.from_bytes(b"\x01" * n, "big")] * n if part == "all" else _row_masks(version, fixed=part == "fixed")
    rows = [(int.from_bytes(bytes(row), "big") & k).to_bytes(n, "big") for row, k in zip(matrix, keep, strict=True)]
    return QrRuns(len(matrix), _rects(rows))


def _draw_qr(c: Any, qr: QrRuns, left_mm: float, top_mm: float, size_mm: float) -> None:
    # Written as literal operators: reportlab's path object formats every float in Python, which
    # cost more than the rest of the page; the matrix is in module units with y pointing down.
    module = size_mm * L.MM / qr.modules
    c.addLiteral(
        f"q {module:.5f} 0 0 {-module:.5f} {L.pt_x(left_mm):.3f} {L.pt_y(top_mm):.3f} cm 0 g {qr.pdf_operators()} Q"
    )


def piece_code(job_id: str, piece_id: int, page: int = 1, pages: int = 1) -> str:
    """Text of the inserter's piece code printed on every page."""
    return f"{job_id}|{piece_id}|{page}/{pages}"


# --- page content ---------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _long_date(d: date, lang: str) -> str:
    return str(format_date(d, format="long", locale=LOCALES[lang]))


@lru_cache(maxsize=65536)
def _word_width(word: str, font: str, size: float) -> float:
    return float(pdfmetrics.stringWidth(word, font, size))


def _wrap(text: str, font: str, size: float, width_pt: float) -> list[str]:
    """Greedy line breaking at spaces; word widths are cached (template words repeat on every page)."""
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
    return lines


def _label(langs: tuple[str, ...], key: str) -> str:
    return " / ".join(LABELS[lang][key] for lang in langs)


def _define_static_form(c: Any, name: str, langs: tuple[str, ...], booking_url: str, hotline: str) -> None:
    """Static part of a page for one (campaign, language): drawn once, reused by every page."""
    c.beginForm(name)
    c.setFillGray(0)
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
    # Fold marks and punch mark (DIN 5008).
    for mark_mm, length_mm in ((L.FOLD_MARKS_MM[0], 5.0), (L.FOLD_MARKS_MM[1], 5.0), (L.PUNCH_MARK_MM, 7.0)):
        c.line(0, L.pt_y(mark_mm), L.pt_x(length_mm), L.pt_y(mark_mm))
    # Booking box: labels here, the code and its QR per page.
    top = L.QR_TOP_MM
    c.line(L.pt_x(L.MARGIN_LEFT_MM), L.pt_y(top - 4), L.pt_x(L.TEXT_RIGHT_MM), L.pt_y(top - 4))
    c.setFont(L.FONT_REGULAR, 9)
    c.drawString(L.pt_x(L.MARGIN_LEFT_MM), L.pt_y(top + 3), _label(langs, "code"))
    c.drawString(L.pt_x(L.MARGIN_LEFT_MM), L.pt_y(top + 20), f"{_label(langs, 'book')}: {booking_url}")
    c.drawString(L.pt_x(L.MARGIN_LEFT_MM), L.pt_y(top + 25), f"{_label(langs, 'phone')}: {hotline}")
    # Function patterns of both QR codes (finders, timing, alignment, format: fixed level and mask).
    _draw_qr(c, qr_runs("", BOOKING_QR_VERSION, part="fixed"), L.QR_LEFT_MM, L.QR_TOP_MM, L.QR_SIZE_MM)
    _draw_qr(c, qr_runs("", PIECE_QR_VERSION, part="fixed"), L.PIECE_QR_LEFT_MM, L.PIECE_QR_TOP_MM, L.PIECE_QR_SIZE_MM)
    c.endForm()


@dataclass(frozen=True, slots=True)
class _Line:
    text: str
    font: str
    size: float
    y_mm: float
    x_mm: float = L.MARGIN_LEFT_MM


def _body_lines(
    letter: Letter,
    langs: tuple[str, ...],
    templates: Mapping[tuple[str, str], Template],
    booking_url: str,
    hotline: str,
) -> list[_Line]:
    """Date lines, subject(s) and wrapped paragraphs at the largest body size that fits the page."""
    texts = []
    for lang in langs:
        values = {
            "given_name": letter.given_name,
            "family_name": letter.family_name,
            "valid_from": _long_date(letter.valid_from, lang),
            "valid_until": _long_date(letter.valid_until, lang),
            "centre_name": letter.centre_name,
            "centre_address": ", ".join(letter.centre_address),
            "booking_code": letter.booking_code,
            "hotline": hotline,
            "booking_url": booking_url,
        }
        tpl = templates[letter.campaign, lang]
        texts.append((tpl.subject.format_map(values), [p.format_map(values) for p in tpl.paragraphs]))

    lines: list[_Line] = []
    y = L.DATE_BASELINE_MM
    for lang in langs:
        text = PLACE_AND_DATE[lang].format(date=_long_date(letter.letter_date, lang))
        x = L.TEXT_RIGHT_MM - L.text_width_mm(text, 10)
        lines.append(_Line(text, L.FONT_REGULAR, 10, y, x))
        y += 4.5
    start = max(y + 3.5, L.SUBJECT_BASELINE_MM)
    width_pt = (L.TEXT_RIGHT_MM - L.MARGIN_LEFT_MM) * L.MM
    for size in L.BODY_SIZES:
        pitch = size * L.BODY_LEADING / L.MM
        flow: list[_Line] = []
        y = start
        for i, (subject, paragraphs) in enumerate(texts):
            if i:
                y += pitch
            for part in _wrap(subject, L.FONT_BOLD, size + 1, width_pt):
                flow.append(_Line(part, L.FONT_BOLD, size + 1, y))
                y += pitch
            y += pitch * 0.6
            for para in paragraphs:
                for part in _wrap(para, L.FONT_REGULAR, size, width_pt):
                    flow.append(_Line(part, L.FONT_REGULAR, size, y))
                    y += pitch
                y += pitch * 0.5
        if y - pitch <= L.BODY_BOTTOM_MM:
            return lines + flow
    raise ConvocError(
        f"letter text of campaign {letter.campaign!r} in {'+'.join(langs)} does not fit the page even at "
        f"{L.BODY_SIZES[-1]} pt (piece {letter.piece_id}); shorten the template"
    )


def _draw_text(c: Any, lines: Iterable[_Line]) -> None:
    # Relative moves (``Td``) between lines, on a 0.01 pt grid: shorter than an absolute ``Tm`` per line.
    tx = c.beginText()
    font: tuple[str, float] | None = None
    at: tuple[float, float] | None = None
    for line in lines:
        if font != (line.font, line.size):
            font = (line.font, line.size)
            tx.setFont(line.font, line.size)
        x, y = round(L.pt_x(line.x_mm), 2), round(L.pt_y(line.y_mm), 2)
        if at is None:
            tx.setTextOrigin(x, y)
        else:
            tx.moveCursor(round(x - at[0], 2), round(at[1] - y, 2))
        at = (x, y)
        tx.textOut(line.text)
    c.drawText(tx)


# --- batch ----------------------------------------------------------------------------------------


_Prepared = tuple[Letter, tuple[str, ...], list[_Line], QrRuns, str, QrRuns]


def _draw_pages(prepared: Sequence[_Prepared], job_id: str, booking_url: str, hotline: str) -> bytes:
    buffer = io.BytesIO()
    c = rl_canvas.Canvas(buffer, pagesize=A4, pageCompression=1, invariant=1)
    c.setTitle(f"convoc letters {job_id}")
    c.setAuthor("Ministère de la Santé")
    c.setCreator("convoc")
    c.setSubject(f"{len(prepared)} pieces")
    forms: dict[tuple[str, tuple[str, ...]], str] = {}
    for letter, langs, *_ in prepared:
        key = (letter.campaign, langs)
        if key not in forms:
            forms[key] = f"static_{letter.campaign}_{'_'.join(langs)}"
            _define_static_form(c, forms[key], langs, booking_url, hotline)

    for letter, langs, lines, booking_qr, piece_text, piece_qr in prepared:
        c.doForm(forms[letter.campaign, langs])
        _draw_text(
            c,
            [
                *lines,
                _Line(letter.booking_code, L.FONT_MONO, L.CODE_SIZE, L.QR_TOP_MM + 11),
                _Line(piece_text, L.FONT_REGULAR, L.PIECE_TEXT_SIZE, L.PIECE_TEXT_BASELINE_MM, L.PIECE_QR_LEFT_MM),
            ],
        )
        _draw_qr(c, booking_qr, L.QR_LEFT_MM, L.QR_TOP_MM, L.QR_SIZE_MM)
        _draw_qr(c, piece_qr, L.PIECE_QR_LEFT_MM, L.PIECE_QR_TOP_MM, L.PIECE_QR_SIZE_MM)
        c.showPage()
    c.save()
    return buffer.getvalue()


def render_batch(
    letters: Sequence[Letter],
    out: Path,
    *,
    job_id: str,
    booking_url: str = "https://convoc.example.lu/b/",
    hotline: str = "+352 8002 8080",
    templates: Path | None = None,
) -> RenderResult:
    """Render ``letters`` in order into one PDF at ``out``, one page per letter.

    Checks first (before any file is touched) that every template exists, that every QR payload
    fits its fixed version and that every text fits the page; then writes ``out.part`` with mode
    0600 and renames it to ``out``. Returns path, page and piece counts, size and SHA-256.
    """
    if not letters:
        raise ConvocError(f"job {job_id}: empty batch, no PDF written")
    L.register_fonts()
    found = load_templates(letters, templates)

    prepared: list[_Prepared] = []
    for letter in letters:
        langs = letter_languages(letter.language)
        block = L.format_address(
            letter.given_name, letter.family_name, letter.street, letter.house_number, letter.postcode, letter.locality
        )
        address = [_Line(p.text, L.FONT_REGULAR, p.size, p.baseline_mm, p.x_mm) for p in L.address_placements(block)]
        body = _body_lines(letter, langs, found, booking_url, hotline)
        booking_qr = qr_runs(booking_url + letter.booking_code, BOOKING_QR_VERSION, part="data")
        piece_text = piece_code(job_id, letter.piece_id)
        piece_qr = qr_runs(piece_text, PIECE_QR_VERSION, part="data")
        prepared.append((letter, langs, address + body, booking_qr, piece_text, piece_qr))

    # ASCII85 on top of Flate only makes streams 25 % larger (and is slow without rl_accel).
    saved_a85 = rl_config.useA85
    rl_config.useA85 = 0
    try:
        data = _draw_pages(prepared, job_id, booking_url, hotline)
    finally:
        rl_config.useA85 = saved_a85

    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_suffix(".part")
    try:
        with os.fdopen(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(part, out)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return RenderResult(
        path=out, pages=len(letters), pieces=len(letters), sha256=hashlib.sha256(data).hexdigest(), bytes=len(data)
    )

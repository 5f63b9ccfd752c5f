"""Render a batch of invitation letters into one multi-page PDF: one A4 page per standard letter, one to
``LARGE_MAX_PAGES`` for a large-print one (``piece_pages``), each piece a PDF/VT record.

Side effects: writes ``out`` (mode 0600) through ``out.with_suffix('.part')`` and an atomic
``os.replace``; nothing else. Idempotent: the same batch and arguments give the same bytes
(reportlab ``invariant=1``), so a re-run replaces the file with an identical one.

Speed and size come from drawing once what pages share: the static part of the page (letterhead,
return address, marks, labels) per (campaign, language), and every run of text lines that recurs in
the batch (the template's paragraphs with their dates and centre), each as a form XObject placed by
a translation; and from QR codes encoded with a fixed version and mask (``convoc.letters.qr``: the
``qrcode`` package's output, precomputed per payload shape) and drawn as inline image masks.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from babel.dates import format_date
from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas as rl_canvas

from convoc import faults
from convoc.errors import ConvocError
from convoc.files import write_private
from convoc.letters import layout as L
from convoc.letters import prepress
from convoc.letters.qr import QrEncoder

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
OTHER_RESIDENTS = {
    "fr": "et les autres résidents",
    "de": "und die weiteren Bewohner",
    "en": "and the other residents",
    "pt": "e os restantes residentes",
}
"""The last name line of a household letter to more residents than it names (``household_names``)."""
BOOKING_URL = "https://convoc.example.lu/b/"
"""Where codes are booked: the booking QR code encodes this URL followed by the code."""
HOTLINE = "+352 8002 8080"
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
FORMATS = ("standard", "large_print")
"""Letter formats: the standard one-page letter, and large print (``layout.LARGE_*``) on as many pages as its
text needs."""


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
    co_residents: tuple[str, ...] = ()  # a household letter: the other residents named, oldest first
    household_size: int = 1
    format: str = "standard"  # or "large_print" (FORMATS)


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


@dataclass(frozen=True, slots=True)
class Template:
    """A letter text: subject line and body paragraphs, with ``{placeholders}``; ``labels``: the template's
    own words for the booking box (``code``, ``book``, ``phone``) where the defaults (``LABELS``) do not fit —
    a mailing books nothing."""

    subject: str
    paragraphs: tuple[str, ...]
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)


def letter_languages(language: str | None) -> tuple[str, ...]:
    """Languages printed on a letter: the person's one, or French then German when unknown."""
    lang = (language or "").strip().lower()
    return (lang,) if lang in LANGUAGES else BILINGUAL


def load_template(path: Path) -> Template:
    """Read a template: first line ``subject: …``, then optionally lines ``code: …``, ``book: …``, ``phone: …``
    (the booking box's labels), then the body; blank lines separate paragraphs."""
    text = path.read_text(encoding="utf-8")
    first, _, body = text.partition("\n")
    if not first.lower().startswith("subject:"):
        raise ConvocError(f"{path}: the first line must be 'subject: …'")
    subject = first.split(":", 1)[1].strip()
    labels = {}
    while True:
        line, _, rest = body.partition("\n")
        key, sep, value = line.partition(":")
        if not sep or key.strip().lower() not in ("code", "book", "phone") or not value.strip():
            break
        labels[key.strip().lower()], body = value.strip(), rest
    paragraphs = tuple(" ".join(p.split()) for p in body.strip().split("\n\n") if p.strip())
    for part in (subject, *paragraphs):
        for _, field, spec, conversion in string.Formatter().parse(part):
            if field is not None and (field not in PLACEHOLDERS or spec or conversion):
                raise ConvocError(f"{path}: unknown placeholder {{{field}}}; allowed: {sorted(PLACEHOLDERS)}")
    return Template(subject, paragraphs, labels)


def load_templates(letters: Iterable[Letter], root: Path | None = None) -> dict[tuple[str, str], Template]:
    """Templates for every (campaign, language) the letters need, from ``root`` (``CONVOC_CAMPAIGNS``'s
    templates) where it has the campaign, else the shipped ones; MissingTemplate if one is absent."""
    needed = sorted({(letter.campaign, lang) for letter in letters for lang in letter_languages(letter.language)})
    found = {}
    for campaign, lang in needed:
        folder = root / campaign if root is not None and (root / campaign).is_dir() else TEMPLATES_DIR / campaign
        path = folder / f"{lang}.txt"
        if not path.is_file():
            raise MissingTemplate(campaign, lang, path)
        found[campaign, lang] = load_template(path)
    return found


# --- QR codes -------------------------------------------------------------------------------------


@cache
def _encoder(version: int) -> QrEncoder:
    return QrEncoder(version, QR_MASK)


def _draw_qr(c: Any, version: int, payload: str, left_mm: float, top_mm: float, size_mm: float) -> None:
    # An inline image mask, one sample per module, no interpolation: a stencil the RIP paints at device
    # resolution, as sharp as rectangles, and a fifth of their size in the page stream.
    enc = _encoder(version)
    size = size_mm * L.MM
    c.addLiteral(
        f"q {size:.3f} 0 0 {size:.3f} {L.pt_x(left_mm):.3f} {L.pt_y(top_mm + size_mm):.3f} cm "
        f"BI /W {enc.modules} /H {enc.modules} /IM true /BPC 1 /D [1 0] /F /AHx ID\n"
        f"{enc.image_mask(payload).hex()}> EI Q"
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


def household_names(letter: Letter, langs: tuple[str, ...]) -> tuple[str, ...]:
    """The name lines after the addressee's on a household letter: every other resident when the household
    has at most ``MAX_NAMES``, else the first ``MAX_NAMES - 2`` of them and "and the other residents"."""
    from convoc.campaigns import MAX_NAMES

    if letter.household_size <= 1:
        return ()
    if letter.household_size <= MAX_NAMES:
        return letter.co_residents[: MAX_NAMES - 1]
    return (*letter.co_residents[: MAX_NAMES - 2], OTHER_RESIDENTS[langs[0]])


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
    words = labels or {key: _label(langs, key) for key in ("code", "book", "phone")}
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
        box = _large_box(tuple(words.items()), booking_url, hotline)
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


@dataclass(frozen=True, slots=True)
class _Line:
    text: str
    font: str
    size: float
    y_mm: float
    x_mm: float = L.MARGIN_LEFT_MM


def letter_texts(
    letter: Letter,
    langs: tuple[str, ...],
    templates: Mapping[tuple[str, str], Template],
    booking_url: str,
    hotline: str,
) -> list[tuple[str, list[str]]]:
    """Subject and paragraphs of the letter's text in each of ``langs``, its placeholders filled in (dates in
    the language's long form): what the letter prints, and what an e-mail invitation says."""
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
    return texts


def _body_lines(
    letter: Letter,
    langs: tuple[str, ...],
    templates: Mapping[tuple[str, str], Template],
    booking_url: str,
    hotline: str,
) -> list[_Line]:
    """Date lines, subject(s) and wrapped paragraphs at the largest body size that fits the page."""
    texts = letter_texts(letter, langs, templates, booking_url, hotline)
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


@dataclass(frozen=True, slots=True)
class _Box:
    """The booking box of a large-print letter (page 1, at its foot): the rule, the label lines (static), where
    the code is printed and where its QR code stands."""

    top_mm: float
    lines: tuple[_Line, ...]
    code_baseline_mm: float
    qr_top_mm: float


@lru_cache(maxsize=256)
def _large_box(labels: tuple[tuple[str, str], ...], booking_url: str, hotline: str) -> _Box:
    """Large-print booking box for ``labels`` (code, book, phone): each label in 16 pt, wrapped beside the QR
    code, its value (the code in 24 pt monospace, the URL, the hotline) on a line of its own; built from the
    bottom (``LARGE_BOX_BOTTOM_MM``) up, so that a longer label (two languages) takes room from the text."""
    words = dict(labels)
    qr_left = L.TEXT_RIGHT_MM - L.LARGE_QR_SIZE_MM
    width_pt = (qr_left - 5.0 - L.MARGIN_LEFT_MM) * L.MM
    pitch = L.LARGE_LABEL_SIZE * L.LARGE_LEADING / L.MM
    code_pitch = L.LARGE_CODE_SIZE * L.LARGE_LEADING / L.MM
    lines: list[_Line] = []
    y = 0.0  # relative to the box's rule, shifted below
    code_y = 0.0
    for key, value in (("code", None), ("book", booking_url), ("phone", hotline)):
        for label in words[key].split(" / "):  # a bilingual label: one language per line
            for part in _wrap(label, L.FONT_REGULAR, L.LARGE_LABEL_SIZE, width_pt):
                y += pitch
                lines.append(_Line(part, L.FONT_REGULAR, L.LARGE_LABEL_SIZE, y))
        if value is None:
            y += code_pitch
            code_y = y
        else:
            if L.text_width_mm(value, L.LARGE_LABEL_SIZE) > width_pt / L.MM:
                raise ConvocError(f"{value!r} is too wide for the large-print booking box at {L.LARGE_LABEL_SIZE} pt")
            y += pitch
            lines.append(_Line(value, L.FONT_REGULAR, L.LARGE_LABEL_SIZE, y))
        y += pitch * 0.4
    top = L.LARGE_BOX_BOTTOM_MM - (y - pitch * 0.4)
    return _Box(
        top_mm=top,
        lines=tuple(dataclasses.replace(line, y_mm=top + line.y_mm) for line in lines),
        code_baseline_mm=top + code_y,
        qr_top_mm=top + 5.0,
    )


def _large_body(
    letter: Letter,
    langs: tuple[str, ...],
    templates: Mapping[tuple[str, str], Template],
    booking_url: str,
    hotline: str,
    box_top_mm: float,
) -> list[list[_Line]]:
    """A large-print letter's date lines and text, per page: page 1 from the date line to above the booking box,
    pages 2…n from below their header to ``LARGE_BOX_BOTTOM_MM``; a subject is never the last line of a page, and
    the second language of a bilingual letter starts a page;
    ConvocError when the text needs more than ``LARGE_MAX_PAGES`` pages."""
    texts = letter_texts(letter, langs, templates, booking_url, hotline)
    width_pt = (L.TEXT_RIGHT_MM - L.MARGIN_LEFT_MM) * L.MM
    body_pitch = L.LARGE_BODY_SIZE * L.LARGE_LEADING / L.MM
    subject_pitch = L.LARGE_SUBJECT_SIZE * L.LARGE_LEADING / L.MM
    pages: list[list[_Line]] = [[]]
    y = L.DATE_BASELINE_MM  # the baseline of the last line placed
    for k, lang in enumerate(langs):
        text = PLACE_AND_DATE[lang].format(date=_long_date(letter.letter_date, lang))
        x = L.TEXT_RIGHT_MM - L.text_width_mm(text, L.LARGE_DATE_SIZE)
        y = L.DATE_BASELINE_MM + k * L.LARGE_DATE_SIZE * L.LARGE_LEADING / L.MM
        pages[0].append(_Line(text, L.FONT_REGULAR, L.LARGE_DATE_SIZE, y, x))
    bottom = box_top_mm - L.LARGE_BOX_GAP_MM

    def new_page(pitch: float) -> None:
        nonlocal y, bottom
        if len(pages) == L.LARGE_MAX_PAGES:
            raise ConvocError(
                f"large-print letter of campaign {letter.campaign!r} in {'+'.join(langs)} needs more than "
                f"{L.LARGE_MAX_PAGES} pages (piece {letter.piece_id}); shorten the template"
            )
        pages.append([])
        y, bottom = L.LARGE_NEXT_TOP_MM - pitch, L.LARGE_BOX_BOTTOM_MM

    gap = body_pitch * 0.5  # space before the next line, dropped at the top of a page
    for i, (subject, paragraphs) in enumerate(texts):
        heading = _wrap(subject, L.FONT_BOLD, L.LARGE_SUBJECT_SIZE, width_pt)
        after = body_pitch * L.LARGE_PARAGRAPH_GAP
        # each language of a bilingual letter starts a page; a subject stays with the first line of its text
        if i or y + gap + len(heading) * subject_pitch + after + body_pitch > bottom:
            new_page(subject_pitch)
            gap = 0.0
        y += gap
        for part in heading:
            y += subject_pitch
            pages[-1].append(_Line(part, L.FONT_BOLD, L.LARGE_SUBJECT_SIZE, y))
        gap = after
        for para in paragraphs:
            for part in _wrap(para, L.FONT_REGULAR, L.LARGE_BODY_SIZE, width_pt):
                if y + gap + body_pitch > bottom:
                    new_page(body_pitch)
                    gap = 0.0
                y += gap + body_pitch
                gap = 0.0
                pages[-1].append(_Line(part, L.FONT_REGULAR, L.LARGE_BODY_SIZE, y))
            gap = after
    return pages


def _labels_of(templates: Mapping[tuple[str, str], Template], campaign: str, langs: tuple[str, ...]) -> dict[str, str]:
    """The booking box's labels for a campaign in ``langs``: the templates' own where they have them, else
    ``LABELS``; one language after the other."""
    return {
        key: " / ".join(templates[campaign, lang].labels.get(key, LABELS[lang][key]) for lang in langs)
        for key in ("code", "book", "phone")
    }


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
    box = _large_box(tuple(_labels_of(templates, letter.campaign, langs).items()), booking_url, hotline)
    return len(_large_body(letter, langs, templates, booking_url, hotline, box.top_mm))


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


@dataclass(frozen=True, slots=True)
class _Page:
    """One page of a piece, ready to draw: the piece, its static form key (campaign, languages, kind), text
    lines, the piece code's payload and, on the first page, the booking QR code (payload, left, top, size in mm)."""

    piece_id: int
    form: _FormKey
    lines: tuple[_Line, ...]
    booking_qr: tuple[str, float, float, float] | None
    piece_payload: str


_FormKey = tuple[str, tuple[str, ...], str]
"""A static form: (campaign, languages, kind: ``standard``, ``large`` or ``large-next``)."""


_RunKey = tuple[tuple[str, str, float, float, float], ...]
"""A run of text lines relative to its first baseline: (text, font, size, x_mm, dy_mm) per line."""


def _runs(page: _Page, shared: Mapping[_LineKey, int]) -> list[tuple[bool, list[_Line]]]:
    """The page's lines cut into runs of lines that recur in the batch (True) and that do not."""
    runs: list[tuple[bool, list[_Line]]] = []
    for line in page.lines:
        recurring = shared[line.text, line.font, line.size, line.x_mm] > 1
        if runs and runs[-1][0] == recurring:
            runs[-1][1].append(line)
        else:
            runs.append((recurring, [line]))
    return runs


def _run_key(run: Sequence[_Line]) -> _RunKey:
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
    run_counts = Counter(_run_key(run) for runs in page_runs for recurring, run in runs if recurring)
    shared: dict[_RunKey, str] = {}
    for key, count in run_counts.items():
        if count > 1:
            shared[key] = f"T{len(shared)}"
            c.beginForm(shared[key], lowerx=0, lowery=-A4[1], upperx=A4[0], uppery=2 * A4[1])
            _draw_text(c, [_Line(text, font, size, dy, x) for text, font, size, x, dy in key])
            c.endForm()

    for k, (page, runs) in enumerate(zip(pages, page_runs, strict=True)):
        if k == len(pages) // 2:
            faults.point("letters.render.mid_pdf")
        c.doForm(static[page.form])
        own: list[_Line] = []
        for recurring, run in runs:
            form = shared.get(_run_key(run)) if recurring else None
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
        _draw_qr(c, PIECE_QR_VERSION, page.piece_payload, L.PIECE_QR_LEFT_MM, L.PIECE_QR_TOP_MM, L.PIECE_QR_SIZE_MM)
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
    """The booking box's labels per static form (``_labels_of``)."""
    return {form: _labels_of(templates, form[0], form[1]) for form in {page.form for page in pages}}


def _piece_pages_to_draw(
    letter: Letter,
    job_id: str,
    templates: Mapping[tuple[str, str], Template],
    booking_url: str,
    hotline: str,
) -> list[_Page]:
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
    address = [_Line(p.text, L.FONT_REGULAR, p.size, p.baseline_mm, p.x_mm) for p in L.address_placements(block)]
    booking_payload = booking_url + letter.booking_code
    # Fails here, before any file is touched, if a payload outgrows its fixed version.
    _encoder(BOOKING_QR_VERSION).packed(booking_payload)
    if letter.format == "standard":
        body = _body_lines(letter, langs, templates, booking_url, hotline)
        piece_text = piece_code(job_id, letter.piece_id)
        _encoder(PIECE_QR_VERSION).packed(piece_text)
        own = [
            _Line(letter.booking_code, L.FONT_MONO, L.CODE_SIZE, L.QR_TOP_MM + 11),
            _Line(piece_text, L.FONT_REGULAR, L.PIECE_TEXT_SIZE, L.PIECE_TEXT_BASELINE_MM, L.PIECE_QR_LEFT_MM),
        ]
        qr = (booking_payload, L.QR_LEFT_MM, L.QR_TOP_MM, L.QR_SIZE_MM)
        return [_Page(letter.piece_id, (letter.campaign, langs, "standard"), (*address, *body, *own), qr, piece_text)]

    box = _large_box(tuple(_labels_of(templates, letter.campaign, langs).items()), booking_url, hotline)
    bodies = _large_body(letter, langs, templates, booking_url, hotline, box.top_mm)
    n = len(bodies)
    pages = []
    for k, body in enumerate(bodies, start=1):
        piece_text = piece_code(job_id, letter.piece_id, k, n)
        _encoder(PIECE_QR_VERSION).packed(piece_text)
        folio = f"{k}/{n}"
        own = [
            _Line(folio, L.FONT_REGULAR, L.LARGE_BODY_SIZE, L.PIECE_TEXT_BASELINE_MM,
                  L.TEXT_RIGHT_MM - L.text_width_mm(folio, L.LARGE_BODY_SIZE)),
            _Line(piece_text, L.FONT_REGULAR, L.PIECE_TEXT_SIZE, L.PIECE_TEXT_BASELINE_MM, L.PIECE_QR_LEFT_MM),
        ]  # fmt: skip
        if k == 1:
            code = _Line(letter.booking_code, L.FONT_MONO, L.LARGE_CODE_SIZE, box.code_baseline_mm)
            qr_left = L.TEXT_RIGHT_MM - L.LARGE_QR_SIZE_MM
            first = (letter.campaign, langs, "large")
            pages.append(_Page(letter.piece_id, first, (*address, *body, code, *own),
                               (booking_payload, qr_left, box.qr_top_mm, L.LARGE_QR_SIZE_MM), piece_text))  # fmt: skip
        else:
            pages.append(
                _Page(letter.piece_id, (letter.campaign, langs, "large-next"), (*body, *own), None, piece_text)
            )
    return pages


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

    drawn: list[_Page] = []
    records: list[prepress.Record] = []
    for k, letter in enumerate(letters):
        own = _piece_pages_to_draw(letter, job_id, found, booking_url, hotline)
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

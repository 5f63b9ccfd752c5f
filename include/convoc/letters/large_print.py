"""The large-print letter's layout (format ``large_print``, ``layout.LARGE_*``): its booking box in large type
at the foot of page 1, and its text over as many pages as it needs. Pure: what the renderer draws, and how many
pages a letter takes (``render.piece_pages``), computed alike wherever they are asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from convoc.errors import ConvocError
from convoc.letters import layout as L
from convoc.letters.content import PLACE_AND_DATE, Letter, Wording, long_date


@dataclass(frozen=True, slots=True)
class Box:
    """The booking box of a large-print letter (page 1, at its foot): the rule, the label lines (static), where
    the code is printed and where its QR code stands."""

    top_mm: float
    lines: tuple[L.Line, ...]
    code_baseline_mm: float
    qr_top_mm: float


@lru_cache(maxsize=256)
def booking_box(labels: tuple[tuple[str, str], ...], booking_url: str, hotline: str) -> Box:
    """Large-print booking box for ``labels`` (code, book, phone): each label in 16 pt, wrapped beside the QR
    code, its value (the code in 24 pt monospace, the URL, the hotline) on a line of its own; built from the
    bottom (``LARGE_BOX_BOTTOM_MM``) up, so that a longer label (two languages) takes room from the text."""
    words = dict(labels)
    qr_left = L.TEXT_RIGHT_MM - L.LARGE_QR_SIZE_MM
    width_pt = (qr_left - 5.0 - L.MARGIN_LEFT_MM) * L.MM
    pitch = L.LARGE_LABEL_SIZE * L.LARGE_LEADING / L.MM
    code_pitch = L.LARGE_CODE_SIZE * L.LARGE_LEADING / L.MM
    lines: list[L.Line] = []
    y = 0.0  # relative to the box's rule, shifted below
    code_y = 0.0
    for key, value in (("code", None), ("book", booking_url), ("phone", hotline)):
        for label in words[key].split(" / "):  # a bilingual label: one language per line
            for part in L.wrap(label, L.FONT_REGULAR, L.LARGE_LABEL_SIZE, width_pt):
                y += pitch
                lines.append(L.Line(part, L.FONT_REGULAR, L.LARGE_LABEL_SIZE, y))
        if value is None:
            y += code_pitch
            code_y = y
        else:
            if L.text_width_mm(value, L.LARGE_LABEL_SIZE) > width_pt / L.MM:
                raise ConvocError(f"{value!r} is too wide for the large-print booking box at {L.LARGE_LABEL_SIZE} pt")
            y += pitch
            lines.append(L.Line(value, L.FONT_REGULAR, L.LARGE_LABEL_SIZE, y))
        y += pitch * 0.4
    top = L.LARGE_BOX_BOTTOM_MM - (y - pitch * 0.4)
    return Box(
        top_mm=top,
        lines=tuple(line._replace(y_mm=top + line.y_mm) for line in lines),
        code_baseline_mm=top + code_y,
        qr_top_mm=top + 5.0,
    )


def text_pages(letter: Letter, langs: tuple[str, ...], wording: Wording, box_top_mm: float) -> list[list[L.Line]]:
    """A large-print letter's date lines and text, per page: page 1 from the date line to above the booking box,
    pages 2…n from below their header to ``LARGE_BOX_BOTTOM_MM``; a subject is never the last line of a page, and
    the second language of a bilingual letter starts a page;
    ConvocError when the text needs more than ``LARGE_MAX_PAGES`` pages."""
    texts = wording.texts(letter, langs)
    width_pt = (L.TEXT_RIGHT_MM - L.MARGIN_LEFT_MM) * L.MM
    body_pitch = L.LARGE_BODY_SIZE * L.LARGE_LEADING / L.MM
    subject_pitch = L.LARGE_SUBJECT_SIZE * L.LARGE_LEADING / L.MM
    pages: list[list[L.Line]] = [[]]
    y = L.DATE_BASELINE_MM  # the baseline of the last line placed
    for k, lang in enumerate(langs):
        text = PLACE_AND_DATE[lang].format(date=long_date(letter.letter_date, lang))
        x = L.TEXT_RIGHT_MM - L.text_width_mm(text, L.LARGE_DATE_SIZE)
        y = L.DATE_BASELINE_MM + k * L.LARGE_DATE_SIZE * L.LARGE_LEADING / L.MM
        pages[0].append(L.Line(text, L.FONT_REGULAR, L.LARGE_DATE_SIZE, y, x))
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
        heading = L.wrap(subject, L.FONT_BOLD, L.LARGE_SUBJECT_SIZE, width_pt)
        after = body_pitch * L.LARGE_PARAGRAPH_GAP
        # each language of a bilingual letter starts a page; a subject stays with the first line of its text
        if i or y + gap + len(heading) * subject_pitch + after + body_pitch > bottom:
            new_page(subject_pitch)
            gap = 0.0
        y += gap
        for part in heading:
            y += subject_pitch
            pages[-1].append(L.Line(part, L.FONT_BOLD, L.LARGE_SUBJECT_SIZE, y))
        gap = after
        for para in paragraphs:
            for part in L.wrap(para, L.FONT_REGULAR, L.LARGE_BODY_SIZE, width_pt):
                if y + gap + body_pitch > bottom:
                    new_page(body_pitch)
                    gap = 0.0
                y += gap + body_pitch
                gap = 0.0
                pages[-1].append(L.Line(part, L.FONT_REGULAR, L.LARGE_BODY_SIZE, y))
            gap = after
    return pages
